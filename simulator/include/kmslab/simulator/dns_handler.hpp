// The DNS responder's logic as pure functions: bytes of a query in, what to send out. No sockets.
//
// handle() answers one decoded query from a ZoneSet (RFC 1035 / 6891 behaviour: NOTIMP for other
// opcodes, FORMERR unless exactly one question, REFUSED for classes other than IN/ANY and for zone
// transfers, BADVERS for EDNS versions above 0; otherwise lookup(), see dns_zone.hpp). It echoes
// EDNS0 (our payload size, the client's DO bit) when the query had it.
//
// serve() is the whole pipeline the transports run for each datagram or TCP frame:
//   decode -> (malformed: FORMERR when the header is readable and QR is clear, else drop)
//          -> handle() -> interceptors, in order -> truncate to the size limit -> bytes.
// Interceptors are where faults plug in (CoreDNS-plugin style): each gets the DnsExchange and may
// edit the response, replace it with raw bytes, drop it, delay it, lower the size limit or ask a
// TCP transport to close the connection. They run only for queries that decoded. serve() itself
// never sleeps: the transport applies `delay`.
#pragma once

#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/simulator/dns_zone.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace kmslab::simulator {

struct DnsHandlerOptions {
  std::uint16_t edns_udp_payload = 1232;  // advertised in our OPT record (DNS flag day 2020)
  std::size_t max_udp_payload = 4096;     // cap on the size a client's EDNS0 may ask for
  LookupOptions lookup;
};

enum class DnsTransport { udp, tcp };
enum class DnsAction {
  reply,  // send the response
  drop,   // send nothing (UDP: the client times out; TCP: the connection stays open)
  close,  // TCP: close the connection without answering; UDP: same as drop
};

// What an interceptor sees and may change.
struct DnsExchange {
  DnsTransport transport = DnsTransport::udp;
  std::uint64_t sequence = 0;  // the responder's count of received queries, this one included
  dns::Message query;          // as decoded; changing it has no effect
  dns::Message response;       // handle()'s answer
  DnsAction action = DnsAction::reply;
  std::chrono::milliseconds delay{0};  // the transport waits this long before sending
  std::size_t size_limit = 512;        // UDP: the client's limit; TCP: 65535
  bool tc_when_additional_dropped = false;
  std::optional<protocol::Bytes> raw_response;  // sent verbatim (after TCP framing) when set
};

using DnsInterceptor = std::function<void(DnsExchange&)>;

struct DnsOutcome {
  DnsAction action = DnsAction::drop;
  protocol::Bytes wire;  // the response, without TCP's length prefix
  std::chrono::milliseconds delay{0};
  bool malformed = false;           // the query did not decode (answered FORMERR, or dropped)
  bool truncated = false;           // the response sent has TC set
  std::optional<dns::Rcode> rcode;  // the response's rcode (header bits only for raw responses)
};

dns::Message handle(const dns::Message& query, const ZoneSet& zones, const DnsHandlerOptions& options = {});

// The largest UDP response `query` allows: 512 without EDNS0, else its payload size clamped to
// [512, options.max_udp_payload].
std::size_t udp_response_limit(const dns::Message& query, const DnsHandlerOptions& options);
// The same from the query's EDNS0 payload size alone (nullopt: no EDNS0).
std::size_t udp_response_limit(std::optional<std::uint16_t> edns_payload, const DnsHandlerOptions& options);

DnsOutcome serve(protocol::ByteSpan query, DnsTransport transport, std::uint64_t sequence,
                 const ZoneSet& zones, std::span<const DnsInterceptor> interceptors,
                 const DnsHandlerOptions& options = {});

}  // namespace kmslab::simulator
