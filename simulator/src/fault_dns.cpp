// DNS fault actions: each edits the DnsExchange an interceptor receives (dns_handler.hpp).
#include "fault_params.hpp"

#include "kmslab/simulator/fault_actions.hpp"

#include <fmt/format.h>

namespace kmslab::simulator {

namespace {

using detail::ParamReader;
using nlohmann::json;

void answer_with(DnsExchange& ex, dns::Rcode rcode, bool keep_authority, bool authoritative) {
  ex.response.set_rcode(rcode);
  ex.response.answers.clear();
  ex.response.additional.clear();
  if (!keep_authority) ex.response.authority.clear();
  ex.response.header.aa = authoritative;
}

// nxdomain: the name does not exist (the zone's SOA stays in authority when lookup put it there).
void nxdomain(DnsExchange& ex, const FaultParams&, FaultDraw) { answer_with(ex, dns::Rcode::nxdomain, true, true); }
// nodata: the name exists but has no record of the asked type.
void nodata(DnsExchange& ex, const FaultParams&, FaultDraw) { answer_with(ex, dns::Rcode::noerror, true, true); }
void servfail(DnsExchange& ex, const FaultParams&, FaultDraw) { answer_with(ex, dns::Rcode::servfail, false, false); }
void refused(DnsExchange& ex, const FaultParams&, FaultDraw) { answer_with(ex, dns::Rcode::refused, false, false); }
void drop(DnsExchange& ex, const FaultParams&, FaultDraw) { ex.action = DnsAction::drop; }

void delay(DnsExchange& ex, const FaultParams& params, FaultDraw draw) {
  ex.delay += delay_of(std::get<DelayParams>(params), draw);
}

// truncate: over UDP an empty answer with TC set, so a resolver must retry over TCP; TCP answers
// are left whole (a TCP answer is never truncated).
void truncate(DnsExchange& ex, const FaultParams&, FaultDraw) {
  if (ex.transport != DnsTransport::udp) return;
  ex.response.answers.clear();
  ex.response.authority.clear();
  ex.response.additional.clear();
  ex.response.header.tc = true;
}

// tcp_closed: a TCP query is met with a closed connection; UDP is untouched (pair with truncate).
void tcp_closed(DnsExchange& ex, const FaultParams&, FaultDraw) {
  if (ex.transport == DnsTransport::tcp) ex.action = DnsAction::close;
}

void strip_additional(DnsExchange& ex, const FaultParams&, FaultDraw) { ex.response.additional.clear(); }

// malformed: the header and question, then an answer record cut off after its owner name, with
// ANCOUNT = 1 and TC clear: a parser must reject it as truncated, not retry over TCP.
void malformed(DnsExchange& ex, const FaultParams&, FaultDraw) {
  dns::Message head;
  head.header = ex.response.header;
  head.header.tc = false;
  head.questions = ex.response.questions;
  auto wire = dns::encode(head);
  if (!wire) return;
  protocol::Bytes raw = std::move(*wire);
  raw[6] = 0;
  raw[7] = 1;  // ANCOUNT
  raw.insert(raw.end(), {0xC0, 0x0C, 0x00});  // a pointer to the question name, then 1 of 2 type bytes
  ex.raw_response = std::move(raw);
}

void rewrite_srv(DnsExchange& ex, const FaultParams& params, FaultDraw) {
  const auto& p = std::get<DnsRewriteSrvParams>(params);
  std::optional<dns::Name> target;
  if (p.target) {
    auto parsed = dns::Name::parse(*p.target);
    if (!parsed) return;  // validated when the fault was parsed
    target = std::move(*parsed);
  }
  for (auto& rr : ex.response.answers) {
    auto* srv = std::get_if<dns::SrvData>(&rr.data);
    if (!srv) continue;
    if (target) srv->target = *target;
    if (p.port) srv->port = *p.port;
  }
}

void ttl(DnsExchange& ex, const FaultParams& params, FaultDraw) {
  const auto ttl_s = std::get<DnsTtlParams>(params).ttl_s;
  for (auto* section : {&ex.response.answers, &ex.response.authority, &ex.response.additional})
    for (auto& rr : *section) rr.ttl = ttl_s;
}

FaultResult<FaultParams> parse_rewrite_srv(const json& params, std::string_view action) {
  ParamReader r(params, action, {"target", "port"});
  DnsRewriteSrvParams p;
  r.optional_string("target", p.target);
  r.optional_unsigned("port", p.port, 0, 65535);
  if (r.ok() && !p.target && !p.port) r.fail("", "rewrite_srv needs 'target', 'port' or both");
  if (r.ok() && p.target) {
    auto name = dns::Name::parse(*p.target);
    if (!name) r.fail("target", fmt::format("'{}' is not a domain name: {}", *p.target, name.error().message()));
  }
  if (!r.ok()) return r.error();
  return FaultParams{p};
}

json rewrite_srv_json(const FaultParams& params) {
  const auto& p = std::get<DnsRewriteSrvParams>(params);
  json j = json::object();
  if (p.target) j["target"] = *p.target;
  if (p.port) j["port"] = *p.port;
  return j;
}

FaultResult<FaultParams> parse_ttl(const json& params, std::string_view action) {
  ParamReader r(params, action, {"ttl_s"});
  DnsTtlParams p;
  r.unsigned_field("ttl_s", p.ttl_s, 0, 0x7FFFFFFF, true);  // RFC 2181 §8: 31 bits
  if (!r.ok()) return r.error();
  return FaultParams{p};
}

json ttl_json(const FaultParams& params) { return {{"ttl_s", std::get<DnsTtlParams>(params).ttl_s}}; }

FaultAction dns_action(std::string name, std::string summary, void (*on)(DnsExchange&, const FaultParams&, FaultDraw),
                       std::vector<std::string> params = {},
                       FaultResult<FaultParams> (*parse)(const json&, std::string_view) = detail::parse_no_params,
                       json (*to_json)(const FaultParams&) = detail::no_params_json) {
  FaultAction a;
  a.target = FaultTarget::dns;
  a.name = std::move(name);
  a.summary = std::move(summary);
  a.params = std::move(params);
  a.parse = parse;
  a.params_to_json = to_json;
  a.on_dns = on;
  return a;
}

}  // namespace

void register_dns_actions(std::vector<FaultAction>& registry) {
  registry.push_back(dns_action("nxdomain", "answer NXDOMAIN: the name does not exist", nxdomain));
  registry.push_back(dns_action("nodata", "answer NOERROR without records of the asked type", nodata));
  registry.push_back(dns_action("servfail", "answer SERVFAIL", servfail));
  registry.push_back(dns_action("refused", "answer REFUSED", refused));
  registry.push_back(dns_action("drop", "never answer (the client times out)", drop));
  registry.push_back(dns_action("delay", "hold the answer delay_ms (+ up to jitter_ms)", delay,
                                {"delay_ms", "jitter_ms"}, detail::parse_delay, detail::delay_json));
  registry.push_back(dns_action("truncate", "over UDP, an empty answer with TC set (retry over TCP)", truncate));
  registry.push_back(dns_action("tcp_closed", "over TCP, close the connection without answering", tcp_closed));
  registry.push_back(dns_action("rewrite_srv", "rewrite the target and/or port of every SRV answer", rewrite_srv,
                                {"target", "port"}, parse_rewrite_srv, rewrite_srv_json));
  registry.push_back(dns_action("strip_additional", "remove the additional section (no glue A/AAAA)",
                                strip_additional));
  registry.push_back(dns_action("malformed", "send an answer whose first record is cut short", malformed));
  registry.push_back(dns_action("ttl", "set the TTL of every record to ttl_s", ttl, {"ttl_s"}, parse_ttl, ttl_json));
}

}  // namespace kmslab::simulator
