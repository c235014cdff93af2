#include "kmslab/simulator/sntp_responder.hpp"

// GCC 12 at -O1 and above reports a false -Wmismatched-new-delete when it inlines Asio's coroutine
// frame allocator (aligned_new paired with the frame's sized operator delete, which does match).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>

#include <array>
#include <exception>
#include <mutex>
#include <unordered_set>
#include <utility>

namespace kmslab::simulator {

namespace asio = net::asio;
namespace sntp = protocol::sntp;
using net::udp;

namespace {

// Beyond this many receive errors in a row the socket is considered broken and the loop ends,
// rather than spinning on an error that will not clear.
constexpr int kMaxConsecutiveReceiveErrors = 1000;

void log_exception(std::exception_ptr e, const char* where) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    fmt::print(stderr, "kmslab sntp responder: {}: {}\n", where, ex.what());
  } catch (...) {
    fmt::print(stderr, "kmslab sntp responder: {}: unknown exception\n", where);
  }
}

}  // namespace

struct detail::SntpResponderState {
  SntpResponderState(asio::io_context& io, Clock& c, SntpConfig cfg)
      : strand(asio::make_strand(io)), socket(strand), clock(c), config(std::move(cfg)) {}

  asio::strand<asio::io_context::executor_type> strand;
  udp::socket socket;
  Clock& clock;
  udp::endpoint bound;  // written once in start(), before any reader exists

  mutable std::mutex mutex;  // guards config and hook
  SntpConfig config;
  SntpFaultHook hook;

  SntpCounters counters;

  // Strand only.
  bool stopped = false;
  std::unordered_set<asio::steady_timer*> held;  // timers of delayed replies, for stop()
};

namespace {

using StatePtr = std::shared_ptr<detail::SntpResponderState>;

asio::awaitable<void> send_reply(StatePtr s, SntpReplyPlan plan, udp::endpoint to) {
  protocol::Bytes wire;
  if (plan.raw_reply) {
    wire = std::move(*plan.raw_reply);
  } else {
    if (plan.restamp_transmit) plan.reply.transmit = sntp::to_ntp(s->clock.now());
    auto encoded = sntp::encode(plan.reply);
    if (!encoded) {  // only a hook can produce an unencodable packet
      fmt::print(stderr, "kmslab sntp responder: reply not sent: {}\n", encoded.error().message());
      ++s->counters.dropped;
      co_return;
    }
    wire = std::move(*encoded);
  }
  auto [ec, n] = co_await s->socket.async_send_to(asio::buffer(wire), to,
                                                  asio::as_tuple(asio::use_awaitable));
  (void)n;
  if (ec)
    ++s->counters.dropped;
  else
    ++s->counters.responses;
}

asio::awaitable<void> send_later(StatePtr s, SntpReplyPlan plan, udp::endpoint to) {
  asio::steady_timer timer(s->strand,
                           std::chrono::duration_cast<asio::steady_timer::duration>(plan.delay));
  s->held.insert(&timer);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  s->held.erase(&timer);
  if (ec || s->stopped) {
    ++s->counters.dropped;
    co_return;
  }
  co_await send_reply(std::move(s), std::move(plan), to);
}

// Runs the hook; a throwing hook costs that one reply, never the server.
bool apply_hook(const SntpFaultHook& hook, SntpReplyPlan& plan) {
  if (!hook) return true;
  try {
    hook(plan);
    return true;
  } catch (...) {
    log_exception(std::current_exception(), "fault hook threw; reply dropped");
    return false;
  }
}

asio::awaitable<void> receive_loop(StatePtr s) {
  std::array<std::uint8_t, sntp::kMaxPacketSize + 1> buffer{};  // +1: oversize is detectable
  udp::endpoint from;
  int errors_in_a_row = 0;
  while (!s->stopped) {
    auto [ec, n] = co_await s->socket.async_receive_from(asio::buffer(buffer), from,
                                                         asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || s->stopped || !s->socket.is_open()) co_return;
    if (ec) {
      if (++errors_in_a_row >= kMaxConsecutiveReceiveErrors) {
        fmt::print(stderr, "kmslab sntp responder: giving up after {} receive errors: {}\n",
                   errors_in_a_row, ec.message());
        co_return;
      }
      continue;
    }
    errors_in_a_row = 0;
    ++s->counters.requests;
    const auto now = s->clock.now();

    SntpConfig config;
    SntpFaultHook hook;
    {
      std::lock_guard lock(s->mutex);
      config = s->config;
      hook = s->hook;
    }
    auto plan = plan_sntp_reply(config, protocol::ByteSpan(buffer.data(), n), now);
    if (!plan) {
      ++s->counters.malformed;
      continue;
    }
    if (!apply_hook(hook, *plan) || plan->drop) {
      ++s->counters.dropped;
      continue;
    }
    if (plan->delay > std::chrono::nanoseconds::zero()) {
      asio::co_spawn(s->strand, send_later(s, std::move(*plan), from),
                     [](std::exception_ptr e) { log_exception(e, "delayed reply"); });
      continue;
    }
    co_await send_reply(s, std::move(*plan), from);
  }
}

}  // namespace

SntpResponder::SntpResponder(asio::io_context& io, Clock& clock, SntpConfig config,
                             udp::endpoint bind)
    : state_(std::make_shared<detail::SntpResponderState>(io, clock, std::move(config))) {
  state_->bound = bind;
}

SntpResponder::~SntpResponder() { stop(); }

boost::system::error_code SntpResponder::start() {
  boost::system::error_code ec;
  detail::SntpResponderState& s = *state_;
  if (s.socket.is_open()) return asio::error::already_open;  // never disturb a running server
  s.socket.open(s.bound.protocol(), ec);
  if (!ec) s.socket.bind(s.bound, ec);
  if (!ec) s.bound = s.socket.local_endpoint(ec);
  if (ec) {
    boost::system::error_code ignored;
    s.socket.close(ignored);
    return ec;
  }
  asio::co_spawn(s.strand, receive_loop(state_),
                 [](std::exception_ptr e) { log_exception(e, "receive loop"); });
  return {};
}

void SntpResponder::stop() {
  asio::post(state_->strand, [s = state_] {
    if (s->stopped) return;
    s->stopped = true;
    boost::system::error_code ignored;
    s->socket.close(ignored);
    for (asio::steady_timer* t : s->held) t->cancel();
  });
}

udp::endpoint SntpResponder::local_endpoint() const { return state_->bound; }

void SntpResponder::set_config(SntpConfig config) {
  std::lock_guard lock(state_->mutex);
  state_->config = std::move(config);
}

SntpConfig SntpResponder::config() const {
  std::lock_guard lock(state_->mutex);
  return state_->config;
}

void SntpResponder::set_fault_hook(SntpFaultHook hook) {
  std::lock_guard lock(state_->mutex);
  state_->hook = std::move(hook);
}

const SntpCounters& SntpResponder::counters() const noexcept { return state_->counters; }

}  // namespace kmslab::simulator
