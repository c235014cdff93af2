#include "kmslab/simulator/kms_host.hpp"

#include "kmslab/net/deadline.hpp"
#include "kmslab/net/endpoint.hpp"
#include "kmslab/net/stream_buffer.hpp"
#include "kmslab/net/watchdog.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/kms_ids.hpp"
#include "kmslab/protocol/rpc_header.hpp"

#include <fmt/format.h>

namespace kmslab::simulator {

namespace p = kmslab::protocol;
namespace rpc = kmslab::protocol::rpc;
using net::tcp;
namespace asio = net::asio;

KmsHost::KmsHost(asio::any_io_executor executor, const KmsHostSpec& spec, const Clock& clock, std::uint64_t seed,
                 std::shared_ptr<ActivationLog> log)
    : executor_(std::move(executor)),
      spec_(spec),
      policy_(spec, clock, seed),
      log_(std::move(log)),
      next_assoc_group_(static_cast<std::uint32_t>(seed * 2654435761u) | 0x1000u),
      seed_(seed),
      stop_event_(std::make_shared<asio::steady_timer>(net::make_stop_event(executor_))) {}

KmsHost::~KmsHost() { stop(); }

boost::system::result<std::vector<tcp::endpoint>, std::string> KmsHost::start() {
  server_ = net::TcpServer::create(executor_, {.max_connections = spec_.max_connections},
                                   [this](tcp::socket& socket) { return session(socket); });
  for (const auto& text : spec_.listen) {
    auto endpoint = net::parse_endpoint(text, 1688);
    if (!endpoint) return fmt::format("KMS host '{}': listen {}", spec_.name, endpoint.error());
    auto bound = server_->listen(*endpoint);
    if (!bound) return fmt::format("KMS host '{}': cannot listen on {}: {}", spec_.name, text, bound.error().message());
  }
  server_->start();
  return server_->endpoints();
}

void KmsHost::stop(std::chrono::milliseconds drain) {
  if (server_) server_->stop(drain);
  // Expired rather than cancelled: a wait that starts after this completes at once, too. With a
  // drain, only once it is over: an exchange held by a delay fault when the signal came is in
  // flight (its activation already logged) and must be answered, not cut.
  auto expire = [event = stop_event_] { event->expires_at(asio::steady_timer::time_point::min()); };
  if (drain.count() <= 0) {
    asio::post(executor_, expire);
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(executor_, drain);
  timer->async_wait([timer, expire](const boost::system::error_code&) { expire(); });
}

std::future<boost::system::error_code> KmsHost::set_listener_state(ListenerState state) {
  if (!server_) {
    std::promise<boost::system::error_code> p;
    p.set_value(asio::error::not_connected);
    return p.get_future();
  }
  const auto to = state == ListenerState::open       ? net::ListenerState::open
                  : state == ListenerState::refused  ? net::ListenerState::refused
                  : state == ListenerState::filtered ? net::ListenerState::filtered
                                                     : net::ListenerState::filtered_nftables;
  return server_->set_listener_state(to);
}

ListenerState KmsHost::listener_state() const noexcept {
  if (!server_) return ListenerState::open;
  switch (server_->listener_state()) {
    case net::ListenerState::open: return ListenerState::open;
    case net::ListenerState::refused: return ListenerState::refused;
    case net::ListenerState::filtered: return ListenerState::filtered;
    case net::ListenerState::filtered_nftables: return ListenerState::filtered_nftables;
  }
  return ListenerState::open;
}

std::optional<net::TcpServer::ListenerStats> KmsHost::listener_stats() const {
  if (!server_) return std::nullopt;
  return server_->listener_stats();
}

std::vector<tcp::endpoint> KmsHost::endpoints() const { return server_ ? server_->endpoints() : std::vector<tcp::endpoint>{}; }

std::size_t KmsHost::open_connections() const { return server_ ? server_->open_connections() : 0; }

// Every co_await below stands alone in its own statement: GCC 12 miscompiles co_await inside
// compound conditions (`a && !co_await f()`), corrupting the awaited frame.
asio::awaitable<void> KmsHost::session(tcp::socket& socket) {
  const std::uint64_t index = next_connection_++;
  // Small per-connection state: an mt19937_64 here was a third of an idle connection's memory.
  p::SplitMixRandom rng(seed_ ^ (0x9E3779B97F4A7C15ull * (index + 1)));
  KmsConnectionOptions options;
  options.rpc = {.ndr64 = spec_.ndr64, .btfn = spec_.btfn};
  options.assoc_group_id = next_assoc_group_++;
  options.reassembly.max_fragments = spec_.max_fragments;
  boost::system::error_code ec;
  options.secondary_address = std::to_string(socket.local_endpoint(ec).port());
  KmsConnection connection(policy_, rng, options);

  if (engine_) {
    // A named plan: GCC 12 mishandles temporaries bound to a coroutine's reference parameters.
    const KmsStagePlan accept_plan = stage_plan(KmsStage::accept);
    const bool go_on = co_await enter_stage(socket, accept_plan);
    if (!go_on) co_return;
  }

  // One buffered read usually brings a whole PDU; the watchdog bounds the wait for the next PDU
  // by idle_timeout and the rest of a started one by read_timeout, with no timer work per read.
  // A PDU starts at its first byte, not once its 10-byte framing prefix is complete: otherwise a
  // client dripping the prefix a byte at a time holds its slot for idle_timeout + read_timeout.
  net::StreamBuffer input;
  bool bound = false;  // a bind PDU arrived on this connection (an alter_context continues its exchange)
  // Reads only: the client sees the connection close after the timeout is counted, as before.
  net::SocketWatchdog watchdog(socket.get_executor(), net::SocketWatchdog::Cut::reads);
  for (;;) {
    if (input.size() == 0) {
      watchdog.arm(socket, spec_.idle_timeout);
      const auto idle_error = co_await input.fill(socket, 1);
      if (idle_error) {  // EOF between PDUs is a normal end; only the idle deadline is counted
        if (watchdog.expired()) ++counters_.timeouts;
        co_return;
      }
    }
    // The PDU has started; from here on, reading the rest of it is bounded by read_timeout.
    bool read_deadline_armed = false;
    if (input.size() < rpc::kFramingPrefixSize) {
      watchdog.arm(socket, spec_.read_timeout);
      read_deadline_armed = true;
      const auto header_error = co_await input.fill(socket, rpc::kFramingPrefixSize);
      if (header_error) {
        if (watchdog.expired()) ++counters_.timeouts;
        else ++counters_.incomplete;
        co_return;
      }
    }
    auto length = rpc::pdu_length(input.data().first(rpc::kFramingPrefixSize), spec_.max_pdu_size);
    if (!length) {
      ++counters_.malformed;
      if (length.error().code == p::Errc::too_large) ++counters_.oversized;
      co_return;
    }
    if (input.size() < *length) {
      // Armed once per PDU: the deadline runs from its first byte, not from its prefix.
      if (!read_deadline_armed) watchdog.arm(socket, spec_.read_timeout);
      const auto body_error = co_await input.fill(socket, *length);
      if (body_error) {
        if (watchdog.expired()) ++counters_.timeouts;
        else ++counters_.incomplete;
        co_return;
      }
    }
    if (watchdog.expired()) {  // the PDU came as the deadline passed: the socket is already cut
      ++counters_.timeouts;
      co_return;
    }
    // Disarmed while the PDU is handled: a delay fault may hold the answer longer than a read may take.
    watchdog.disarm();
    const auto started = std::chrono::steady_clock::now();
    const p::ByteSpan pdu = input.data().first(*length);  // valid until consumed, after on_pdu
    ++counters_.pdus;
    // Faults: the bind stage for bind / alter_context, the request and response stages for a
    // request. The response stage is planned before the answer is built because a corrupted
    // hash or MAC is made inside it.
    KmsStagePlan plan;
    KmsStagePlan response_plan;
    std::optional<KmsStage> stage;
    BindPdu bind_pdu = BindPdu::bind;
    bool opens_exchange = true;
    if (auto header = rpc::decode_header(pdu)) {
      if (header->type == rpc::PacketType::bind || header->type == rpc::PacketType::alter_context) {
        stage = KmsStage::bind;
        // A bind opens a bind exchange; the alter_context that follows it belongs to the same
        // exchange, so a default bind-stage fault (a delay, say) acts once, not on both PDUs.
        bind_pdu = header->type == rpc::PacketType::bind ? BindPdu::bind : BindPdu::alter_context;
        opens_exchange = bind_pdu == BindPdu::bind || !bound;
        bound = true;
      } else if (header->type == rpc::PacketType::request) {
        stage = KmsStage::request;
      }
    }
    if (engine_ && stage) {
      plan = stage_plan(*stage, bind_pdu, opens_exchange);
      const bool go_on = co_await enter_stage(socket, plan);
      if (!go_on) co_return;
      if (*stage == KmsStage::request) {
        response_plan = stage_plan(KmsStage::response);
        if (response_plan.pdu.corrupt) plan.pdu.corrupt = response_plan.pdu.corrupt;
      }
    }
    auto out = connection.on_pdu(pdu, plan.pdu);
    input.consume(*length);
    // Recorded before the answer leaves, so whoever has the answer also sees the count and log.
    record(out.event, socket, std::chrono::steady_clock::now() - started);
    if (response_plan.delay.count() > 0) {
      const bool waited = co_await pause(response_plan.delay);
      if (!waited) co_return;
    }
    const KmsWriteShaping shaping = stage == KmsStage::bind ? plan.write : response_plan.write;
    const bool written = co_await write_reply(socket, out.pdus, shaping);
    if (!written) co_return;
    if (out.close) co_return;
  }
}

KmsStagePlan KmsHost::stage_plan(KmsStage stage, BindPdu pdu, bool opens_exchange) {
  auto hits = engine_->evaluate_kms(spec_.name, stage, pdu, opens_exchange);
  return plan_kms_stage(stage, hits);
}

namespace {

// SO_LINGER with a zero timeout makes close() send RST instead of FIN.
void reset_socket(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

}  // namespace

asio::awaitable<bool> KmsHost::pause(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) co_return true;
  const bool slept = co_await net::sleep_unless(duration, *stop_event_);
  co_return slept;
}

asio::awaitable<bool> KmsHost::enter_stage(tcp::socket& socket, KmsStagePlan plan) {
  if (plan.delay.count() > 0) {
    const bool waited = co_await pause(plan.delay);
    if (!waited) co_return false;
  }
  if (plan.reset) {
    ++counters_.resets;
    reset_socket(socket);
    co_return false;
  }
  if (plan.silence) {
    ++counters_.silences;
    co_await hold_silent(socket);
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> KmsHost::hold_silent(tcp::socket& socket) {
  std::array<std::uint8_t, 4096> sink{};
  for (;;) {
    auto got = co_await net::with_timeout(socket.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable)),
                                          spec_.idle_timeout);
    if (!got) {
      ++counters_.timeouts;
      co_return;
    }
    if (std::get<0>(*got)) co_return;  // the client gave up (EOF / reset), or the host stopped
  }
}

asio::awaitable<bool> KmsHost::write_reply(tcp::socket& socket, const std::vector<p::Bytes>& pdus,
                                           const KmsWriteShaping& shaping) {
  if (!shaping.any()) {
    for (const auto& reply : pdus) {
      auto [wec, n] = co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
      if (wec) co_return false;
    }
    co_return true;
  }
  p::Bytes all;
  for (const auto& reply : pdus) all.insert(all.end(), reply.begin(), reply.end());
  std::size_t limit = all.size();
  enum class End { keep, close, reset } end = End::keep;
  if (shaping.truncate_bytes || shaping.truncate_half) {
    limit = std::min<std::size_t>(limit, shaping.truncate_bytes ? *shaping.truncate_bytes : all.size() / 2);
    end = End::close;
  }
  if (shaping.reset_after_bytes || shaping.reset_half || shaping.reset_after_reply) {
    if (!shaping.reset_after_reply)
      limit = std::min<std::size_t>(limit, shaping.reset_after_bytes ? *shaping.reset_after_bytes : all.size() / 2);
    end = End::reset;
  }
  const std::size_t step = shaping.trickle ? std::max<std::size_t>(shaping.trickle->bytes, 1) : std::max<std::size_t>(limit, 1);
  for (std::size_t at = 0; at < limit; at += step) {
    if (at > 0 && shaping.trickle) {
      const bool waited = co_await pause(std::chrono::milliseconds(shaping.trickle->interval_ms));
      if (!waited) co_return false;
    }
    const std::size_t n = std::min(step, limit - at);
    auto [wec, written] =
        co_await asio::async_write(socket, asio::buffer(all.data() + at, n), asio::as_tuple(asio::use_awaitable));
    if (wec) co_return false;
  }
  if (end == End::close) {
    ++counters_.truncations;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    co_return false;
  }
  if (end == End::reset) {
    ++counters_.resets;
    reset_socket(socket);
    co_return false;
  }
  co_return true;
}

void KmsHost::record(const KmsEvent& event, const tcp::socket& socket, std::chrono::steady_clock::duration took) {
  using Kind = KmsEvent::Kind;
  switch (event.kind) {
    case Kind::bind: ++counters_.binds; return;
    case Kind::bind_nak: ++counters_.bind_naks; return;
    case Kind::alter_context: ++counters_.alter_contexts; return;
    case Kind::malformed: ++counters_.malformed; return;
    case Kind::ignored: ++counters_.ignored; return;
    case Kind::partial: ++counters_.partials; return;
    case Kind::rpc_fault: ++counters_.rpc_faults; return;
    case Kind::activation: break;
  }
  ++counters_.requests;
  if (event.hresult == 0) ++counters_.activations;
  else ++counters_.refusals;
  {
    std::lock_guard lock(counters_.mutex);
    ++counters_.by_hresult[event.hresult];
  }
  if (!log_) return;
  nlohmann::json line;
  line["time"] = p::format_filetime(p::to_filetime(std::chrono::system_clock::now()));
  line["host"] = spec_.name;
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  line["peer"] = ec ? std::string("?") : net::format_endpoint(peer);
  line["result"] = event.hresult == 0 ? "activated" : "refused";
  line["hresult"] = fmt::format("0x{:08X}", event.hresult);
  if (event.request) {
    const auto& r = *event.request;
    line["cmid"] = r.cmid.to_string();
    line["workstation"] = r.workstation;
    line["protocol"] = p::to_string(r.version);
    const auto* sku = p::find_sku(r.sku_id);
    line["product"] = sku ? std::string(sku->name) : r.sku_id.to_string();
    const auto* id = p::find_kms_count_id(r.kms_count_id);
    line["kms_count_id"] = id ? std::string(id->name) : r.kms_count_id.to_string();
  }
  if (event.response) line["count"] = event.response->current_count;
  if (event.hresult != 0 && !event.detail.empty()) line["reason"] = event.detail;
  line["duration_us"] = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  log_->write(line);
}

nlohmann::json KmsHost::counters_json() const {
  nlohmann::json j;
  j["connections_open"] = open_connections();
  j["connections_accepted"] = server_ ? server_->accepted() : 0;
  j["connections_rejected"] = server_ ? server_->rejected() : 0;
  j["binds"] = counters_.binds.load();
  j["alter_contexts"] = counters_.alter_contexts.load();
  j["requests"] = counters_.requests.load();
  j["activations"] = counters_.activations.load();
  j["refusals"] = counters_.refusals.load();
  j["rpc_faults"] = counters_.rpc_faults.load();
  j["malformed"] = counters_.malformed.load();
  j["timeouts"] = counters_.timeouts.load();
  j["pdus"] = counters_.pdus.load();
  j["partials"] = counters_.partials.load();
  j["oversized"] = counters_.oversized.load();
  j["incomplete"] = counters_.incomplete.load();
  j["bind_naks"] = counters_.bind_naks.load();
  j["resets"] = counters_.resets.load();
  j["silences"] = counters_.silences.load();
  j["truncations"] = counters_.truncations.load();
  j["listener"] = std::string(to_string(listener_state()));
  nlohmann::json by = nlohmann::json::object();
  {
    std::lock_guard lock(counters_.mutex);
    for (const auto& [code, n] : counters_.by_hresult) by[fmt::format("0x{:08X}", code)] = n;
  }
  j["responses_by_hresult"] = by;
  return j;
}

}  // namespace kmslab::simulator
