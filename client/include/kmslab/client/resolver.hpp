// The probe's DNS resolver: a c-ares 1.18 channel driven by an Asio executor, with coroutine
// queries that return what a diagnosis needs as evidence, not just records.
//
// Each query reports its status (ok, NXDOMAIN, NODATA, SERVFAIL, REFUSED, timeout, connection
// refused, truncated-then-TCP-failed, ...), the rcode and the raw bytes of the accepted response,
// the server that answered and whether that answer came over TCP, whether a UDP answer was
// truncated, the servers asked, and the elapsed time (steady clock, microseconds). SRV queries also
// return the A/AAAA records of the additional section, which c-ares' own SRV parser drops.
//
// How it runs: c-ares owns its sockets; for each one it opens, the resolver registers an Asio
// descriptor, waits for readable/writable as c-ares asks (ARES_OPT_SOCK_STATE_CB), calls
// ares_process_fd and re-arms; a steady_timer re-armed from ares_timeout drives retries and
// timeouts. Descriptors are release()d before c-ares closes a socket, so Asio never closes a
// c-ares socket. Results are posted to the executor, never delivered from inside c-ares. No
// blocking call and no extra thread. Queries are built here (query ids from the seeded generator)
// and sent with ares_send, so the whole response stays visible; c-ares still retries over TCP on
// its own when a UDP answer is truncated (unless `use_tcp` already forces TCP).
//
// Thread-safety: a Resolver belongs to one executor whose handlers never run concurrently (an
// io_context run by one thread, or a strand). Await its queries from coroutines on that executor.
// REQUIRES: the Resolver is destroyed before its execution context. Destroying it completes every
// outstanding query with status `cancelled`. A query whose awaiting coroutine is cancelled (e.g. it
// lost a `||` race against a timer) completes at once with `cancelled`; c-ares forgets it after
// its own timeout.
#pragma once

#include "kmslab/client/dns_reply.hpp"
#include "kmslab/client/srv_order.hpp"
#include "kmslab/net/asio.hpp"
#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/error.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::client {

namespace asio = net::asio;

// Outcome of one query, from the response's rcode or from the transport.
enum class ResolveStatus : std::uint8_t {
  ok,                    // NOERROR with at least one answer of the asked type
  nxdomain,              // rcode 3: the name does not exist
  nodata,                // NOERROR, but no answer of the asked type
  servfail,              // rcode 2
  refused,               // rcode 5
  formerr,               // rcode 1
  notimp,                // rcode 4
  other_rcode,           // any other rcode (see DnsQueryInfo::rcode)
  timeout,               // no answer within timeout x tries (per server)
  connection_refused,    // ICMP port unreachable on UDP, or RST on TCP
  connection_closed,     // the server closed or reset the TCP connection before answering
  truncated_tcp_failed,  // a UDP answer had TC set and the TCP retry failed
  bad_response,          // an answer arrived but does not decode (see detail)
  bad_name,              // the name cannot be put in a query (label > 63 octets, ...)
  cancelled,             // the awaiting coroutine was cancelled or the resolver destroyed
  error,                 // anything else c-ares reports (see detail)
};
std::string_view to_string(ResolveStatus status) noexcept;

enum class DnsTransport : std::uint8_t { none, udp, tcp };
std::string_view to_string(DnsTransport transport) noexcept;

// A DNS server as c-ares takes it: an IP address (no host names) and a port.
struct DnsServerAddress {
  asio::ip::address address;
  std::uint16_t port = 53;
  std::string to_string() const;  // "127.0.0.1:5353", "[::1]:5353"
  friend bool operator==(const DnsServerAddress&, const DnsServerAddress&) = default;
};

// Parses "host[:port]": "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:5353", "[::1]", "::1".
// Errors (bad_value, offset = position in `text`): empty text, host not an IP address, port not
// a number in 1..65535, missing ']'.
protocol::Result<DnsServerAddress> parse_dns_server(std::string_view text);

struct ResolverOptions {
  // Servers as "host[:port]", asked in this order; empty: the nameservers of `resolv_conf`.
  std::vector<std::string> servers;
  std::string resolv_conf = "/etc/resolv.conf";
  // Per-try timeout. c-ares doubles it after each full pass over the server list.
  std::chrono::milliseconds timeout{2000};
  int tries = 2;  // passes over the server list
  bool use_tcp = false;  // ARES_FLAG_USEVC: every query over TCP
  // false: an answer with SERVFAIL, REFUSED or NOTIMP is final and reported with its rcode (the
  // evidence the probe wants). true: c-ares' default, try the next server and report only a
  // status code when every server failed.
  bool next_server_on_error_rcode = false;
  // Seeds the query-id generator; empty: std::random_device.
  std::optional<std::uint64_t> seed;
};

// The evidence of one query.
struct DnsQueryInfo {
  std::string name;                  // as asked
  std::uint16_t type = 0;            // kDnsTypeSrv, kDnsTypeA, ...
  ResolveStatus status = ResolveStatus::error;
  int rcode = -1;                    // rcode of the accepted response; -1 when none was accepted
  std::string server;                // the server whose response was accepted; empty when none
  DnsTransport transport = DnsTransport::none;  // how that response arrived
  bool truncated_udp = false;        // a UDP answer had TC set (c-ares then switched to TCP)
  std::vector<std::string> servers_asked;       // distinct servers the query was sent to, in order
  int sends = 0;                     // transmissions, UDP and TCP
  int timeouts = 0;                  // tries that timed out (from c-ares)
  std::chrono::microseconds elapsed{0};
  std::string detail;                // c-ares' or the decoder's words when status is not ok
  protocol::Bytes response;          // the accepted response as received (empty when none)
};

// The outcome of query(): the evidence and, when a response was accepted and decoded, the reply.
struct DnsQueryResult {
  DnsQueryInfo info;
  std::optional<DnsReply> reply;
};

// An address record, from an A/AAAA answer or from the additional section of an SRV answer.
struct HostAddress {
  std::string host;
  asio::ip::address address;
  std::uint32_t ttl = 0;
  friend bool operator==(const HostAddress&, const HostAddress&) = default;
};

struct SrvResult {
  DnsQueryInfo info;
  std::vector<SrvRecord> records;        // answer-section SRV records, in wire order
  std::vector<HostAddress> additional;   // additional-section A and AAAA records
};

struct AddressResult {
  DnsQueryInfo info;
  std::vector<HostAddress> addresses;    // answer-section records of the asked type
  std::vector<std::string> aliases;      // CNAME owners followed to reach them, in order
};

class Resolver {
 public:
  // Creates the channel. Errors: bad_value for a malformed server (detail names it),
  // unsupported when c-ares cannot be initialised (detail carries ares_strerror).
  static protocol::Result<Resolver> create(asio::any_io_executor executor, ResolverOptions options = {});

  Resolver(Resolver&&) noexcept;
  Resolver& operator=(Resolver&&) noexcept;
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;
  ~Resolver();

  // One query of `type` for `name` (class IN, recursion desired, no EDNS). Never throws for DNS
  // or transport failures: they are statuses in the result.
  asio::awaitable<DnsQueryResult> query(std::string name, std::uint16_t type);
  asio::awaitable<SrvResult> query_srv(std::string name);
  asio::awaitable<AddressResult> query_a(std::string host);
  asio::awaitable<AddressResult> query_aaaa(std::string host);

  // Replaces the server list. Errors: bad_value for a malformed server; unsupported while any
  // query is outstanding in c-ares (its rule), including cancelled ones not yet timed out.
  protocol::Result<void> set_servers(const std::vector<std::string>& servers);
  // The servers c-ares will ask, in order, as "ip:port".
  std::vector<std::string> servers() const;
  // Queries c-ares still holds (answered or cancelled ones excluded once c-ares let go of them).
  std::size_t outstanding() const;

 private:
  struct Impl;
  explicit Resolver(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace kmslab::client
