// Fuzz target: one DNS message (dns_message.hpp) in both directions — a query as the simulator's
// responder serves it (simulator/dns_handler.hpp serve(), pure), a response as the probe reads
// it — plus the presentation format of every record (dns_text.hpp).
//
// Input layout: byte 0 bit 0 allows trailing data, bit 1 picks TCP for serve(); byte 1 picks the
// limit for truncate_to (12 + 8 * value bytes); the rest is the message.
// Properties:
//   - decode and decode_header are total, agree on the header, and errors point inside the input;
//   - a decoded message re-encodes (only too_large may refuse it: decoding accepts compressed SRV
//     targets that encoding spells out), decodes to the same message (names compared without
//     case, as compression may change it) and that encoding is a fixed point;
//   - truncate_to keeps within its limit (or drops every record), sets TC by its rules and
//     produces a message that decodes to what it reports;
//   - the responder answers every query whose header it can read with bytes that decode, carry
//     the query's id and fit the UDP limit;
//   - every record prints, and its rdata text parses back to the same text;
//   - differential: the probe's own response decoder (client/dns_reply.hpp, written separately)
//     and this codec agree on every response both accept — header, question, each record's
//     owner, type, class, TTL and the rdata the client decodes (A, AAAA, NS/CNAME/PTR, SRV, SOA).
#include "fuzz_target.hpp"

#include "dns_fixtures.hpp"
#include "kmslab/client/dns_reply.hpp"
#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/protocol/dns_text.hpp"
#include "kmslab/simulator/dns_handler.hpp"

#include <type_traits>
#include <variant>

namespace {

using namespace kmslab::protocol;
using namespace kmslab::protocol::dns;
using kmslab::fuzz::fuzz_check;

bool same_header(const Header& a, const Header& b) {
  return a.id == b.id && a.qr == b.qr && a.opcode == b.opcode && a.aa == b.aa && a.tc == b.tc &&
         a.rd == b.rd && a.ra == b.ra && a.z == b.z && a.ad == b.ad && a.cd == b.cd &&
         a.rcode == b.rcode;
}

bool same_rdata(const Rdata& a, const Rdata& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, RawData>) return x.bytes == y.bytes;
        if constexpr (std::is_same_v<T, AData> || std::is_same_v<T, AaaaData>)
          return x.address == y.address;
        if constexpr (std::is_same_v<T, NsData>) return x.host == y.host;
        if constexpr (std::is_same_v<T, CnameData> || std::is_same_v<T, PtrData>)
          return x.target == y.target;
        if constexpr (std::is_same_v<T, MxData>)
          return x.preference == y.preference && x.exchange == y.exchange;
        if constexpr (std::is_same_v<T, SoaData>)
          return x.mname == y.mname && x.rname == y.rname && x.serial == y.serial &&
                 x.refresh == y.refresh && x.retry == y.retry && x.expire == y.expire &&
                 x.minimum == y.minimum;
        if constexpr (std::is_same_v<T, TxtData>) return x.strings == y.strings;
        if constexpr (std::is_same_v<T, SrvData>)
          return x.priority == y.priority && x.weight == y.weight && x.port == y.port &&
                 x.target == y.target;
      },
      a);
}

bool same_records(const std::vector<ResourceRecord>& a, const std::vector<ResourceRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i].name == b[i].name) || a[i].type != b[i].type || a[i].rclass != b[i].rclass ||
        a[i].ttl != b[i].ttl || !same_rdata(a[i].data, b[i].data))
      return false;
  return true;
}

bool same_message(const Message& a, const Message& b) {
  if (!same_header(a.header, b.header) || a.questions.size() != b.questions.size()) return false;
  for (std::size_t i = 0; i < a.questions.size(); ++i)
    if (!(a.questions[i].name == b.questions[i].name) || a.questions[i].type != b.questions[i].type ||
        a.questions[i].qclass != b.questions[i].qclass)
      return false;
  if (!same_records(a.answers, b.answers) || !same_records(a.authority, b.authority) ||
      !same_records(a.additional, b.additional) || a.edns.has_value() != b.edns.has_value())
    return false;
  if (!a.edns) return true;
  const Edns& x = *a.edns;
  const Edns& y = *b.edns;
  return x.udp_payload_size == y.udp_payload_size && x.extended_rcode == y.extended_rcode &&
         x.version == y.version && x.dnssec_ok == y.dnssec_ok && x.z == y.z && x.options == y.options;
}

void check_round_trip(const Message& m) {
  auto wire = encode(m);
  if (!wire) {
    fuzz_check(wire.error().code == Errc::too_large, "a decoded message fails to encode");
    return;
  }
  auto again = decode(*wire);
  fuzz_check(again.has_value(), "a re-encoded message fails to decode");
  fuzz_check(same_message(m, *again), "decode(encode(m)) differs from m");
  auto twice = encode(*again);
  fuzz_check(twice.has_value() && *twice == *wire, "message encoding is not a fixed point");
}

void check_truncation(const Message& m, std::size_t limit) {
  Message cut = m;
  auto wire = truncate_to(cut, limit);
  if (!wire) {
    fuzz_check(wire.error().code == Errc::too_large, "truncate_to fails on a decodable message");
    return;
  }
  const bool all_dropped = cut.answers.empty() && cut.authority.empty() && cut.additional.empty();
  fuzz_check(wire->size() <= limit || (all_dropped && cut.header.tc),
             "truncate_to exceeds its limit without dropping every record");
  if (cut.answers.size() < m.answers.size() || cut.authority.size() < m.authority.size())
    fuzz_check(cut.header.tc, "answers or authority dropped without TC");
  auto back = decode(*wire);
  fuzz_check(back.has_value() && same_message(cut, *back), "truncate_to's bytes differ from its message");
}

void check_presentation(const std::vector<ResourceRecord>& records) {
  for (const auto& rr : records) {
    (void)to_string(rr);
    const std::string text = format_rdata(rr.data);
    auto parsed = parse_rdata(rr.type, text);
    fuzz_check(parsed.has_value(), "format_rdata prints text parse_rdata rejects");
    const std::string once = format_rdata(*parsed);
    auto reparsed = parse_rdata(rr.type, once);
    fuzz_check(reparsed.has_value() && format_rdata(*reparsed) == once,
               "rdata presentation is not a fixed point");
  }
}

void check_responder(ByteSpan wire, bool tcp) {
  static const kmslab::simulator::ZoneSet zones = kmslab::test::corp_zones();
  const auto transport = tcp ? kmslab::simulator::DnsTransport::tcp : kmslab::simulator::DnsTransport::udp;
  const auto outcome = kmslab::simulator::serve(wire, transport, 1, zones, {});
  auto header = decode_header(wire);
  if (!header || header->qr) {
    fuzz_check(outcome.action != kmslab::simulator::DnsAction::reply, "answered a response or garbage");
    return;
  }
  fuzz_check(outcome.action == kmslab::simulator::DnsAction::reply, "a readable query got no answer");
  auto response = decode(outcome.wire);
  fuzz_check(response.has_value(), "the responder's answer does not decode");
  fuzz_check(response->header.id == header->id && response->header.qr, "answer id or QR wrong");
  fuzz_check(response->header.tc == outcome.truncated, "outcome.truncated disagrees with TC");
  if (!tcp && !outcome.malformed) {
    auto query = decode(wire);
    const std::size_t limit = kmslab::simulator::udp_response_limit(*query, {});
    fuzz_check(outcome.wire.size() <= limit || response->header.tc, "UDP answer over the limit");
  }
}

// The client decoder prints names without the trailing dot; parse that back for comparison.
bool same_name(const std::string& client_text, const Name& name) {
  auto parsed = Name::parse(client_text == "." ? client_text : client_text + ".");
  return parsed && parsed->labels() == name.labels();  // exact, case included
}

bool same_client_rdata(const kmslab::client::DnsRdata& c, const ResourceRecord& rr) {
  using namespace kmslab::client;
  if (const auto* a = std::get_if<DnsIpv4Data>(&c)) {
    const auto* x = std::get_if<AData>(&rr.data);
    return x && x->address == a->octets;
  }
  if (const auto* a = std::get_if<DnsIpv6Data>(&c)) {
    const auto* x = std::get_if<AaaaData>(&rr.data);
    return x && x->address == a->octets;
  }
  if (const auto* n = std::get_if<DnsNameData>(&c)) {
    if (const auto* x = std::get_if<NsData>(&rr.data)) return same_name(n->name, x->host);
    if (const auto* x = std::get_if<CnameData>(&rr.data)) return same_name(n->name, x->target);
    if (const auto* x = std::get_if<PtrData>(&rr.data)) return same_name(n->name, x->target);
    return false;
  }
  if (const auto* v = std::get_if<DnsSrvData>(&c)) {
    const auto* x = std::get_if<SrvData>(&rr.data);
    return x && x->priority == v->priority && x->weight == v->weight && x->port == v->port &&
           same_name(v->target, x->target);
  }
  if (const auto* v = std::get_if<DnsSoaData>(&c)) {
    const auto* x = std::get_if<SoaData>(&rr.data);
    return x && same_name(v->mname, x->mname) && same_name(v->rname, x->rname) &&
           x->serial == v->serial && x->refresh == v->refresh && x->retry == v->retry &&
           x->expire == v->expire && x->minimum == v->minimum;
  }
  return true;  // raw on the client side (MX, TXT, unknown types): nothing decoded to compare
}

void check_against_client_decoder(ByteSpan wire, const Message& m) {
  auto reply = kmslab::client::parse_dns_reply(wire);
  if (!reply) return;
  const Header& h = m.header;
  fuzz_check(reply->id == h.id && reply->opcode == static_cast<std::uint8_t>(h.opcode) &&
                 reply->rcode == h.rcode && reply->authoritative == h.aa &&
                 reply->truncated == h.tc && reply->recursion_desired == h.rd &&
                 reply->recursion_available == h.ra,
             "the client decoder reads another header");
  fuzz_check(reply->question_count == m.questions.size(), "decoders disagree on the questions");
  if (!m.questions.empty())
    fuzz_check(same_name(reply->question_name, m.questions[0].name) &&
                   reply->question_type == static_cast<std::uint16_t>(m.questions[0].type) &&
                   reply->question_class == static_cast<std::uint16_t>(m.questions[0].qclass),
               "decoders disagree on the question");
  std::vector<const ResourceRecord*> records;
  for (const auto* section : {&m.answers, &m.authority, &m.additional})
    for (const auto& rr : *section) records.push_back(&rr);
  std::size_t i = 0;
  for (const auto& r : reply->records) {
    if (r.type == static_cast<std::uint16_t>(Type::opt)) continue;  // the codec keeps it in `edns`
    fuzz_check(i < records.size(), "the client decoder reads more records");
    const ResourceRecord& rr = *records[i++];
    const std::uint32_t ttl = rr.ttl > 0x7FFFFFFFu ? 0 : rr.ttl;  // RFC 2181 §8, as the client reads it
    fuzz_check(same_name(r.name, rr.name) && r.type == static_cast<std::uint16_t>(rr.type) &&
                   r.rclass == static_cast<std::uint16_t>(rr.rclass) && r.ttl == ttl,
               "decoders disagree on a record's owner, type, class or TTL");
    fuzz_check(same_client_rdata(r.data, rr), "decoders disagree on a record's data");
  }
  fuzz_check(i == records.size(), "the client decoder reads fewer records");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kmslab::fuzz::InputCursor in(data, size);
  const std::uint8_t flags = in.take_u8();
  const std::size_t limit = kHeaderSize + 8 * std::size_t{in.take_u8()};
  const ByteSpan wire = in.rest();

  auto header = decode_header(wire);
  auto message = decode(wire, DecodeOptions{(flags & 1) != 0});
  check_responder(wire, (flags & 2) != 0);
  if (!message) {
    fuzz_check(message.error().offset <= wire.size() && !message.error().message().empty(),
               "bad DNS decode error");
    return 0;
  }
  fuzz_check(header.has_value() && same_header(*header, message->header),
             "decode and decode_header disagree");
  (void)message->rcode();
  check_against_client_decoder(wire, *message);
  check_round_trip(*message);
  check_truncation(*message, limit);
  check_presentation(message->answers);
  check_presentation(message->authority);
  check_presentation(message->additional);
  return 0;
}
