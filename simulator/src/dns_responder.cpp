// DNS responder transports: UDP loop, TCP acceptor and sessions, all on one strand. The answers
// themselves come from serve() (dns_handler.cpp); this file only moves bytes, keeps deadlines
// and counts.
#include "kmslab/simulator/dns_responder.hpp"

#include "kmslab/net/deadline.hpp"
#include "kmslab/net/spawn.hpp"
#include "kmslab/net/udp_batch.hpp"
#include "kmslab/simulator/dns_answer_cache.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <span>
#include <utility>

namespace kmslab::simulator {

namespace asio = net::asio;
using net::tcp;
using net::udp;
using namespace std::chrono_literals;

struct DnsResponder::State {
  State(const asio::any_io_executor& executor, ZoneSet z, DnsResponderConfig c)
      : strand(asio::make_strand(executor)),
        config(std::move(c)),
        zones(std::move(z)),
        cache(config.answer_cache_entries, config.answer_cache_bytes),
        udp_socket(strand),
        acceptor(strand),
        stop_event(net::make_stop_event(strand)) {}

  asio::any_io_executor strand;
  DnsResponderConfig config;
  ZoneSet zones;
  std::vector<DnsInterceptor> interceptors;
  DnsAnswerCache cache;
  DnsCounters counters;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  asio::steady_timer stop_event;  // cancelled by shutdown() to wake delayed replies
  std::map<std::uint64_t, tcp::socket*> connections;  // open sessions, closed by shutdown()
  std::uint64_t next_connection = 0;
  std::uint64_t sequence = 0;
  bool stopped = false;
  udp::endpoint udp_bound;
  tcp::endpoint tcp_bound;

  void shutdown() {
    if (stopped) return;
    stopped = true;
    boost::system::error_code ignored;
    udp_socket.close(ignored);
    acceptor.close(ignored);
    stop_event.cancel();
    for (auto& [id, socket] : connections) socket->close(ignored);
  }

  // What to do with one query; the bytes go to the caller's buffer.
  struct Reply {
    DnsAction action = DnsAction::drop;
    std::chrono::milliseconds delay{0};
    std::optional<dns::Rcode> rcode;
    bool truncated = false;
  };

  // Answers one query into `wire`, reusing its capacity: replayed from the cache when no
  // interceptor could change the answer, else through serve() (and remembered when plain).
  Reply answer(protocol::ByteSpan query, DnsTransport transport, protocol::Bytes& wire) {
    ++sequence;
    const bool cacheable = interceptors.empty();
    if (cacheable) {
      if (auto hit = cache.answer(query, transport, config.handler, wire)) {
        ++counters.answer_cache_hits;
        return Reply{DnsAction::reply, 0ms, hit->rcode, hit->truncated};
      }
    }
    DnsOutcome out = serve(query, transport, sequence, zones, interceptors, config.handler);
    if (out.malformed) ++counters.malformed;
    if (out.action != DnsAction::reply) ++counters.dropped;
    if (cacheable) cache.store(query, transport, config.handler, out);
    wire.assign(out.wire.begin(), out.wire.end());
    return Reply{out.action, out.delay, out.rcode, out.truncated};
  }

  void sent(const Reply& reply) {
    ++counters.responses;
    std::size_t slot = DnsCounters::kRcodeSlots - 1;
    if (reply.rcode) slot = std::min<std::size_t>(static_cast<std::size_t>(*reply.rcode), slot);
    ++counters.responses_by_rcode[slot];
    if (reply.truncated) ++counters.truncated;
  }
};

namespace {

using State = DnsResponder::State;

constexpr std::size_t kMaxUdpDatagram = 65536;  // any datagram fits: nothing is cut

asio::awaitable<void> delayed_udp_reply(std::shared_ptr<State> s, udp::endpoint peer, protocol::Bytes wire,
                                        State::Reply reply) {
  if (!co_await net::sleep_unless(reply.delay, s->stop_event)) co_return;
  auto [ec, n] = co_await s->udp_socket.async_send_to(asio::buffer(wire), peer, asio::as_tuple(asio::use_awaitable));
  if (!ec) s->sent(reply);
}

// Sends a batch's replies in order. A reply the kernel does not take at once (send buffer full)
// is handed to Asio, which waits for room; a reply that fails is not counted as sent, and the
// others still go.
asio::awaitable<void> send_replies(std::shared_ptr<State> s, net::UdpBatch& batch,
                                   std::span<const net::UdpBatch::Outgoing> outgoing,
                                   std::span<const State::Reply> replies) {
  std::size_t done = 0;
  while (done < outgoing.size()) {
    boost::system::error_code ec;
    const std::size_t sent = batch.send(s->udp_socket, outgoing.subspan(done), ec);
    for (std::size_t i = done; i < done + sent; ++i) s->sent(replies[i]);
    done += sent;
    if (done == outgoing.size()) break;
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      const auto& m = outgoing[done];
      auto [send_ec, n] = co_await s->udp_socket.async_send_to(asio::buffer(m.data), *m.to,
                                                               asio::as_tuple(asio::use_awaitable));
      if (!send_ec) s->sent(replies[done]);
    }
    ++done;
  }
}

asio::awaitable<void> udp_loop(std::shared_ptr<State> s) {
  net::UdpBatch batch(std::max<std::size_t>(s->config.udp_batch, 1), kMaxUdpDatagram);
  std::vector<protocol::Bytes> wires(batch.slots());
  std::vector<net::UdpBatch::Outgoing> outgoing;
  std::vector<State::Reply> replies;
  outgoing.reserve(batch.slots());
  replies.reserve(batch.slots());
  int consecutive_errors = 0;
  for (;;) {
    // The first datagram comes through Asio: it waits while nothing is queued and lets other
    // handlers run between batches. The rest of the queue is then taken without waiting.
    auto [ec, n] = co_await s->udp_socket.async_receive_from(batch.buffer(0), batch.peer(0),
                                                             asio::as_tuple(asio::use_awaitable));
    if (s->stopped || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
    if (ec) {
      // Errors such as ICMP port unreachable from an earlier reply are transient; back off only
      // if they persist, so the loop never spins.
      if (++consecutive_errors > 100 && !co_await net::sleep_unless(10ms, s->stop_event)) co_return;
      continue;
    }
    consecutive_errors = 0;
    batch.set_received(0, n);
    boost::system::error_code more_ec;  // would_block, or an error the next receive reports again
    const std::size_t count = 1 + batch.receive_queued(s->udp_socket, 1, more_ec);
    outgoing.clear();
    replies.clear();
    for (std::size_t i = 0; i < count; ++i) {
      ++s->counters.queries_udp;
      const State::Reply reply = s->answer(batch.datagram(i), DnsTransport::udp, wires[i]);
      if (reply.action != DnsAction::reply) continue;
      if (reply.delay > 0ms) {
        net::spawn_logged(s->strand, delayed_udp_reply(s, batch.peer(i), wires[i], reply), "dns udp delayed reply");
        continue;
      }
      outgoing.push_back(net::UdpBatch::Outgoing{asio::buffer(wires[i]), &batch.peer(i)});
      replies.push_back(reply);
    }
    if (!outgoing.empty()) co_await send_replies(s, batch, outgoing, replies);
  }
}

asio::awaitable<void> tcp_session(std::shared_ptr<State> s, tcp::socket socket) {
  const std::uint64_t id = s->next_connection++;
  s->connections.emplace(id, &socket);
  struct Registration {
    State& state;
    std::uint64_t id;
    ~Registration() {
      state.connections.erase(id);
      --state.counters.tcp_connections_open;
    }
  } registration{*s, id};

  const auto idle = s->config.tcp_idle_timeout;
  std::array<std::uint8_t, 2> prefix{};
  std::vector<std::uint8_t> body;
  protocol::Bytes wire;
  for (std::size_t served = 0; served < s->config.max_queries_per_tcp_connection && !s->stopped; ++served) {
    auto got = co_await net::with_timeout(
        asio::async_read(socket, asio::buffer(prefix), asio::as_tuple(asio::use_awaitable)), idle);
    if (!got) {
      ++s->counters.tcp_timeouts;
      break;
    }
    if (std::get<0>(*got)) {  // EOF, reset, or closed by stop()
      if (std::get<1>(*got) > 0) ++s->counters.tcp_incomplete;
      break;
    }
    const std::size_t length = (std::size_t{prefix[0]} << 8) | prefix[1];
    if (length == 0 || length > s->config.max_tcp_message) {
      ++s->counters.malformed;  // cannot resynchronise the stream: close it
      ++s->counters.dropped;
      break;
    }
    body.resize(length);
    got = co_await net::with_timeout(
        asio::async_read(socket, asio::buffer(body), asio::as_tuple(asio::use_awaitable)), idle);
    if (!got) {
      ++s->counters.tcp_timeouts;
      break;
    }
    if (std::get<0>(*got)) {
      ++s->counters.tcp_incomplete;
      break;
    }
    ++s->counters.queries_tcp;
    const State::Reply reply = s->answer(body, DnsTransport::tcp, wire);
    if (reply.delay > 0ms && !co_await net::sleep_unless(reply.delay, s->stop_event)) break;
    if (reply.action == DnsAction::close) break;
    if (reply.action == DnsAction::drop) continue;
    const std::array<std::uint8_t, 2> reply_length{static_cast<std::uint8_t>(wire.size() >> 8),
                                                   static_cast<std::uint8_t>(wire.size())};
    const std::array<asio::const_buffer, 2> frame{asio::buffer(reply_length), asio::buffer(wire)};
    auto wrote = co_await net::with_timeout(
        asio::async_write(socket, frame, asio::as_tuple(asio::use_awaitable)), s->config.tcp_write_timeout);
    if (!wrote) {
      ++s->counters.tcp_timeouts;
      break;
    }
    if (std::get<0>(*wrote)) break;
    s->sent(reply);
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> s) {
  for (;;) {
    auto [ec, socket] = co_await s->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (s->stopped || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
    if (ec) {  // e.g. out of file descriptors: wait a little instead of spinning
      if (!co_await net::sleep_unless(10ms, s->stop_event)) co_return;
      continue;
    }
    if (s->counters.tcp_connections_open >= s->config.max_tcp_connections) {
      ++s->counters.tcp_connections_rejected;
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    // Replies are small and may be pipelined: without TCP_NODELAY, Nagle holds each one back
    // until the client's delayed ACK for the previous one (tens of milliseconds).
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    ++s->counters.tcp_connections_open;
    ++s->counters.tcp_connections_total;
    net::spawn_logged(s->strand, tcp_session(s, std::move(socket)), "dns tcp session");
  }
}

boost::system::error_code bind_both(State& s, const asio::ip::address& address, std::uint16_t port) {
  boost::system::error_code ec;
  const udp::endpoint udp_at(address, port);
  s.udp_socket.open(udp_at.protocol(), ec);
  if (!ec) s.udp_socket.bind(udp_at, ec);
  if (ec) return ec;
  const tcp::endpoint tcp_at(address, s.udp_socket.local_endpoint().port());
  s.acceptor.open(tcp_at.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(tcp_at, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

}  // namespace

std::uint64_t DnsCounters::responses_with(dns::Rcode rcode) const noexcept {
  const auto slot = std::min<std::size_t>(static_cast<std::size_t>(rcode), kRcodeSlots - 1);
  return responses_by_rcode[slot];
}

DnsResponder::DnsResponder(net::asio::any_io_executor executor, ZoneSet zones, DnsResponderConfig config)
    : state_(std::make_shared<State>(executor, std::move(zones), std::move(config))) {}

DnsResponder::~DnsResponder() { stop(); }

boost::system::error_code DnsResponder::start() {
  State& s = *state_;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(s.config.address, ec);
  if (ec) return ec;
  const int attempts = s.config.port == 0 ? std::max(1, s.config.port_attempts) : 1;
  for (int i = 0; i < attempts; ++i) {
    ec = bind_both(s, address, s.config.port);
    if (!ec) break;
    boost::system::error_code ignored;
    s.udp_socket.close(ignored);
    s.acceptor.close(ignored);
  }
  if (ec) return ec;
  s.udp_bound = s.udp_socket.local_endpoint();
  s.tcp_bound = s.acceptor.local_endpoint();
  net::spawn_logged(s.strand, udp_loop(state_), "dns udp loop");
  net::spawn_logged(s.strand, accept_loop(state_), "dns tcp acceptor");
  return {};
}

void DnsResponder::stop() {
  asio::dispatch(state_->strand, [s = state_] { s->shutdown(); });
}

udp::endpoint DnsResponder::udp_endpoint() const { return state_->udp_bound; }
tcp::endpoint DnsResponder::tcp_endpoint() const { return state_->tcp_bound; }
std::uint16_t DnsResponder::port() const { return state_->udp_bound.port(); }
const DnsCounters& DnsResponder::counters() const noexcept { return state_->counters; }

std::future<void> DnsResponder::update(std::function<void(ZoneSet&, std::vector<DnsInterceptor>&)> change) {
  auto promise = std::make_shared<std::promise<void>>();
  auto done = promise->get_future();
  asio::dispatch(state_->strand, [s = state_, change = std::move(change), promise] {
    try {
      // Cleared on failure too: `change` may have edited part of the zones before it threw.
      struct ClearCache {
        DnsAnswerCache& cache;
        ~ClearCache() { cache.clear(); }
      } clear_cache{s->cache};
      change(s->zones, s->interceptors);
      promise->set_value();
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  return done;
}

}  // namespace kmslab::simulator
