// Pure DNS request handling: see dns_handler.hpp.
#include "kmslab/simulator/dns_handler.hpp"

#include <algorithm>
#include <utility>

namespace kmslab::simulator {

namespace {

dns::Message formerr_for(const dns::Header& h) {
  dns::Message m;
  m.header.id = h.id;
  m.header.qr = true;
  m.header.opcode = h.opcode;
  m.header.rd = h.rd;
  m.header.cd = h.cd;
  m.set_rcode(dns::Rcode::formerr);
  return m;
}

DnsOutcome finish(dns::Message& response, std::size_t limit, bool tc_when_additional_dropped) {
  DnsOutcome out;
  auto wire = dns::truncate_to(response, limit, tc_when_additional_dropped);
  if (!wire) {
    // An interceptor produced something unencodable: fall back to a bare SERVFAIL.
    dns::Message fallback;
    fallback.header = response.header;
    fallback.header.tc = false;
    fallback.questions = response.questions;
    fallback.header.rcode = 0;
    fallback.set_rcode(dns::Rcode::servfail);
    wire = dns::encode(fallback);
    response = std::move(fallback);
  }
  out.action = DnsAction::reply;
  out.wire = std::move(wire).value();
  out.truncated = response.header.tc;
  out.rcode = response.rcode();
  return out;
}

}  // namespace

dns::Message handle(const dns::Message& query, const ZoneSet& zones, const DnsHandlerOptions& options) {
  dns::Message r = dns::make_response(query);
  if (query.edns) {
    r.edns.emplace();
    r.edns->udp_payload_size = options.edns_udp_payload;
    r.edns->dnssec_ok = query.edns->dnssec_ok;  // RFC 3225: DO is copied
    if (query.edns->version > 0) {
      r.set_rcode(dns::Rcode::badvers);
      return r;
    }
  }
  if (query.header.opcode != dns::Opcode::query) {
    r.set_rcode(dns::Rcode::notimp);
    return r;
  }
  if (query.questions.size() != 1) {
    r.set_rcode(dns::Rcode::formerr);
    return r;
  }
  const dns::Question& q = query.questions.front();
  if ((q.qclass != dns::Class::in && q.qclass != dns::Class::any) || q.type == dns::Type::axfr ||
      q.type == dns::Type::ixfr) {
    r.set_rcode(dns::Rcode::refused);
    return r;
  }
  LookupResult found = lookup(zones, q.name, q.type, options.lookup);
  r.header.aa = found.authoritative;
  r.set_rcode(found.rcode);
  r.answers = std::move(found.answers);
  r.authority = std::move(found.authority);
  r.additional = std::move(found.additional);
  return r;
}

std::size_t udp_response_limit(const dns::Message& query, const DnsHandlerOptions& options) {
  return udp_response_limit(query.edns ? std::optional<std::uint16_t>(query.edns->udp_payload_size) : std::nullopt,
                            options);
}

std::size_t udp_response_limit(std::optional<std::uint16_t> edns_payload, const DnsHandlerOptions& options) {
  if (!edns_payload) return dns::kMinUdpPayload;
  const std::size_t cap = std::max(options.max_udp_payload, dns::kMinUdpPayload);
  return std::clamp<std::size_t>(*edns_payload, dns::kMinUdpPayload, cap);
}

DnsOutcome serve(protocol::ByteSpan query, DnsTransport transport, std::uint64_t sequence,
                 const ZoneSet& zones, std::span<const DnsInterceptor> interceptors,
                 const DnsHandlerOptions& options) {
  auto header = dns::decode_header(query);
  if (!header || header->qr) {  // unreadable, or a response: never answer those
    DnsOutcome out;
    out.malformed = !header;
    return out;
  }
  auto decoded = dns::decode(query);
  if (!decoded) {
    dns::Message formerr = formerr_for(*header);
    DnsOutcome out = finish(formerr, dns::kMinUdpPayload, false);
    out.malformed = true;
    return out;
  }
  DnsExchange ex;
  ex.transport = transport;
  ex.sequence = sequence;
  ex.response = handle(*decoded, zones, options);
  ex.size_limit = transport == DnsTransport::udp ? udp_response_limit(*decoded, options) : dns::kMaxMessageSize;
  ex.query = std::move(*decoded);
  for (const auto& intercept : interceptors) {
    intercept(ex);
    if (ex.action != DnsAction::reply) break;  // a dropped or closed exchange has nothing left to edit
  }
  if (ex.action != DnsAction::reply) {
    DnsOutcome out;
    out.action = ex.action;
    out.delay = ex.delay;
    return out;
  }
  DnsOutcome out;
  if (ex.raw_response) {
    out.action = DnsAction::reply;
    out.wire = std::move(*ex.raw_response);
    if (auto h = dns::decode_header(out.wire)) {
      out.rcode = dns::Rcode{h->rcode};
      out.truncated = h->tc;
    }
  } else {
    out = finish(ex.response, ex.size_limit, ex.tc_when_additional_dropped);
  }
  out.delay = ex.delay;
  return out;
}

}  // namespace kmslab::simulator
