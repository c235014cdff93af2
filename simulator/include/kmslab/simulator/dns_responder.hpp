// The simulator's DNS server: UDP and TCP on one port, answering from a ZoneSet through serve()
// (dns_handler.hpp), so clients discover KMS hosts by `_vlmcs._tcp` SRV lookups.
//
// One executor (wrapped in a strand, so a multi-threaded io_context is safe), C++20 coroutines:
//   - UDP: one receive loop; responses above the client's limit (512, or its EDNS0 size capped
//     at handler.max_udp_payload) are truncated with TC set; a delayed reply gets its own
//     coroutine so it never stalls the loop. Each wake-up takes every datagram already queued
//     (up to udp_batch) and sends the replies together (recvmmsg/sendmmsg on Linux, see
//     net/udp_batch.hpp), which saves a scheduler trip and a system call or two per query.
//   - While no interceptor is installed, answers to plain queries are kept encoded in a
//     DnsAnswerCache (dns_answer_cache.hpp) and replayed with the query's ID and question case;
//     update() empties it, and so does installing an interceptor (the cache is then bypassed).
//   - TCP: an acceptor on the same port; each connection carries any number of 2-byte-length
//     framed queries (up to max_queries_per_tcp_connection), each read bounded by
//     tcp_idle_timeout and each write by tcp_write_timeout; frames of 0 or more than
//     max_tcp_message octets close the connection; connections beyond max_tcp_connections are
//     accepted and closed at once.
//   - Malformed queries get FORMERR when their header is readable, else nothing; both are
//     counted, and nothing a client sends can stop the server.
// Port 0 picks a port free for both UDP and TCP; udp_endpoint() / tcp_endpoint() tell which.
//
// Lifetime: the server's state is shared with its coroutines, so destroying the DnsResponder
// (which calls stop()) while the io_context still runs is safe. stop() is thread-safe and
// idempotent: it closes both sockets and every connection and cancels delayed replies; the
// coroutines then finish on the executor, after which io_context::run() can return.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/simulator/dns_handler.hpp"
#include "kmslab/simulator/dns_zone.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace kmslab::simulator {

struct DnsResponderConfig {
  std::string address = "127.0.0.1";  // loopback unless the user names another address
  std::uint16_t port = 0;             // 0: any port free for both UDP and TCP
  DnsHandlerOptions handler;
  std::size_t max_tcp_connections = 64;
  std::size_t max_tcp_message = 16384;  // largest query frame accepted over TCP
  std::size_t max_queries_per_tcp_connection = 1u << 20;  // then closed; the client reconnects
  std::chrono::milliseconds tcp_idle_timeout{5000};  // per read: length prefix, then body
  std::chrono::milliseconds tcp_write_timeout{5000};
  int port_attempts = 32;  // with port 0: tries to find a port that UDP and TCP can both bind
  std::size_t answer_cache_entries = 4096;       // 0: no cache, every query runs serve()
  std::size_t answer_cache_bytes = std::size_t{4} << 20;
  std::size_t udp_batch = 32;  // datagrams taken per wake-up (each slot holds 64 KiB)
};

// Counters readable from any thread while the server runs.
struct DnsCounters {
  static constexpr std::size_t kRcodeSlots = 24;  // rcodes 0..22 by value; the last slot: others

  std::atomic<std::uint64_t> queries_udp{0};  // datagrams received
  std::atomic<std::uint64_t> queries_tcp{0};  // frames received
  std::atomic<std::uint64_t> responses{0};    // responses sent, both transports
  std::array<std::atomic<std::uint64_t>, kRcodeSlots> responses_by_rcode{};
  std::atomic<std::uint64_t> truncated{0};  // responses sent with TC set
  std::atomic<std::uint64_t> malformed{0};  // queries that did not decode (FORMERR or dropped)
  std::atomic<std::uint64_t> dropped{0};    // queries given no response, for whatever reason
  std::atomic<std::uint64_t> tcp_connections_open{0};
  std::atomic<std::uint64_t> tcp_connections_total{0};     // accepted and served
  std::atomic<std::uint64_t> tcp_connections_rejected{0};  // over max_tcp_connections
  std::atomic<std::uint64_t> tcp_timeouts{0};              // connections closed by a deadline
  std::atomic<std::uint64_t> tcp_incomplete{0};  // connections the peer ended inside a frame
  std::atomic<std::uint64_t> answer_cache_hits{0};         // responses replayed from the cache

  std::uint64_t queries() const noexcept { return queries_udp + queries_tcp; }
  std::uint64_t responses_with(dns::Rcode rcode) const noexcept;
};

class DnsResponder {
 public:
  DnsResponder(net::asio::any_io_executor executor, ZoneSet zones, DnsResponderConfig config = {});
  ~DnsResponder();
  DnsResponder(const DnsResponder&) = delete;
  DnsResponder& operator=(const DnsResponder&) = delete;

  // Binds UDP and TCP on one port and starts serving. Call once. Errors: an unparsable address
  // (invalid_argument), or the bind error (e.g. address_in_use for a fixed port).
  boost::system::error_code start();
  void stop();

  net::udp::endpoint udp_endpoint() const;
  net::tcp::endpoint tcp_endpoint() const;
  std::uint16_t port() const;

  const DnsCounters& counters() const noexcept;

  // Changes zones and interceptors on the server's executor (after the queries in progress) and
  // empties the answer cache; the future is ready once `change` has run. Before start() it may also be used; the future
  // is then ready when the io_context runs.
  std::future<void> update(std::function<void(ZoneSet&, std::vector<DnsInterceptor>&)> change);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kmslab::simulator
