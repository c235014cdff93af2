#include "kmslab/client/timeline.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "kmslab/client/findings.hpp"

namespace kmslab::client {
namespace {

using Items = std::vector<EvidenceItem>;

void add(Items& items, std::string key, std::string value) {
  items.push_back(EvidenceItem{std::move(key), std::move(value)});
}

std::string describe_srv(const SrvAnswer& r) {
  return fmt::format("{} {} {} {}", r.priority, r.weight, r.port, r.target);
}

PhaseOutcome dns_phase_outcome(DnsOutcome o, bool has_data) {
  if (o == DnsOutcome::timeout) return PhaseOutcome::timed_out;
  return o == DnsOutcome::ok && has_data ? PhaseOutcome::ok : PhaseOutcome::failed;
}

PhaseRecord srv_record(const DnsObservation& d) {
  PhaseRecord r{Phase::dns_srv,
                d.query_name,
                d.timing.start,
                d.timing.duration,
                dns_phase_outcome(d.outcome, !d.records.empty()),
                {}};
  add(r.evidence, "rcode", std::string(to_string(d.outcome)));
  if (!d.server.empty()) add(r.evidence, "server", d.server);
  add(r.evidence, "transport", d.used_tcp ? "tcp" : "udp");
  if (d.truncated) add(r.evidence, "truncated", "yes");
  for (const auto& rec : d.records) add(r.evidence, "srv", describe_srv(rec));
  for (const auto& a : d.additional) add(r.evidence, "additional", a.host + " " + a.address);
  if (!d.detail.empty()) add(r.evidence, "detail", d.detail);
  return r;
}

PhaseRecord address_record(const AttemptObservation& a) {
  const auto& l = a.address;
  PhaseRecord r{Phase::dns_address,
                a.host,
                l.timing.start,
                l.timing.duration,
                dns_phase_outcome(l.outcome, !l.addresses.empty()),
                {}};
  add(r.evidence, "rcode", std::string(to_string(l.outcome)));
  if (!l.server.empty()) add(r.evidence, "server", l.server);
  if (l.used_tcp) add(r.evidence, "transport", "tcp");
  for (const auto& addr : l.addresses) add(r.evidence, "address", addr);
  if (!l.detail.empty()) add(r.evidence, "detail", l.detail);
  return r;
}

PhaseOutcome connect_phase_outcome(ConnectOutcome o) {
  if (o == ConnectOutcome::ok) return PhaseOutcome::ok;
  return o == ConnectOutcome::timeout ? PhaseOutcome::timed_out : PhaseOutcome::failed;
}

PhaseRecord connect_record(const AttemptObservation& a) {
  const auto& c = a.connect;
  PhaseRecord r{Phase::tcp_connect,
                attempt_target(a),
                c.timing.start,
                c.timing.duration,
                connect_phase_outcome(c.outcome),
                {}};
  add(r.evidence, "result", std::string(to_string(c.outcome)));
  if (!c.address.empty()) add(r.evidence, "address", c.address);
  if (c.addresses_tried > 1) add(r.evidence, "addresses_tried", std::to_string(c.addresses_tried));
  if (c.error_number != 0) add(r.evidence, "errno", std::to_string(c.error_number));
  if (!c.error_text.empty()) add(r.evidence, "error", c.error_text);
  if (c.outcome == ConnectOutcome::timeout && c.deadline.count() > 0)
    add(r.evidence, "deadline_ms", format_ms(c.deadline));
  return r;
}

PhaseRecord bind_record(const AttemptObservation& a) {
  const auto& b = a.bind;
  const auto outcome = b.outcome == BindOutcome::accepted      ? PhaseOutcome::ok
                       : b.outcome == BindOutcome::no_response ? PhaseOutcome::timed_out
                                                               : PhaseOutcome::failed;
  PhaseRecord r{Phase::rpc_bind, attempt_target(a), b.timing.start, b.timing.duration, outcome, {}};
  add(r.evidence, "result", std::string(to_string(b.outcome)));
  if (b.syntax != TransferSyntax::none) add(r.evidence, "syntax", std::string(to_string(b.syntax)));
  if (b.alter_context_used) add(r.evidence, "alter_context", "yes");
  if (b.btfn_acked) add(r.evidence, "btfn", fmt::format("0x{:04x}", b.btfn_bitmap));
  if (b.outcome == BindOutcome::nak || b.outcome == BindOutcome::no_usable_context)
    add(r.evidence, "reason", std::to_string(b.nak_reason));
  if (b.outcome == BindOutcome::fault)
    add(r.evidence, "fault_status", fmt::format("0x{:08X}", b.fault_status));
  add(r.evidence, "bytes", fmt::format("{} sent, {} received", b.bytes_sent, b.bytes_received));
  if (!b.detail.empty()) add(r.evidence, "detail", b.detail);
  return r;
}

PhaseRecord activation_record(const AttemptObservation& a) {
  const auto& k = a.activation;
  const auto outcome = k.outcome == ActivationOutcome::ok            ? PhaseOutcome::ok
                       : k.outcome == ActivationOutcome::no_response ? PhaseOutcome::timed_out
                                                                     : PhaseOutcome::failed;
  PhaseRecord r{Phase::kms_activate, attempt_target(a), k.timing.start, k.timing.duration, outcome, {}};
  add(r.evidence, "result", std::string(to_string(k.outcome)));
  if (k.protocol_major != 0) add(r.evidence, "protocol", fmt::format("v{}", k.protocol_major));
  if (k.outcome == ActivationOutcome::hresult) add(r.evidence, "hresult", format_hresult(k.hresult));
  if (k.outcome == ActivationOutcome::bad_response)
    add(r.evidence, "failed_check", std::string(to_string(k.failed_check)));
  if (k.outcome == ActivationOutcome::fault)
    add(r.evidence, "fault_status", fmt::format("0x{:08X}", k.fault_status));
  if (k.outcome == ActivationOutcome::ok) {
    add(r.evidence, "epid", k.response.epid);
    add(r.evidence, "count", std::to_string(k.response.current_count));
    add(r.evidence, "intervals_min",
        fmt::format("activation {}, renewal {}", k.response.activation_interval_min,
                    k.response.renewal_interval_min));
  }
  add(r.evidence, "bytes", fmt::format("{} sent, {} received", k.bytes_sent, k.bytes_received));
  if (!k.detail.empty()) add(r.evidence, "detail", k.detail);
  return r;
}

PhaseRecord sntp_record(const SntpObservation& s) {
  const auto outcome = s.outcome == SntpOutcome::ok          ? PhaseOutcome::ok
                       : s.outcome == SntpOutcome::no_answer ? PhaseOutcome::timed_out
                                                             : PhaseOutcome::failed;
  PhaseRecord r{Phase::time_offset, s.server, s.timing.start, s.timing.duration, outcome, {}};
  add(r.evidence, "result", std::string(to_string(s.outcome)));
  if (s.outcome == SntpOutcome::ok) {
    add(r.evidence, "offset_ms", fmt::format("{:.3f}", static_cast<double>(s.offset_ns) / 1e6));
    add(r.evidence, "delay_ms", fmt::format("{:.3f}", static_cast<double>(s.delay_ns) / 1e6));
  }
  if (s.outcome != SntpOutcome::no_answer && s.outcome != SntpOutcome::not_run)
    add(r.evidence, "stratum", std::to_string(s.stratum));
  if (!s.kiss_code.empty()) add(r.evidence, "kiss_code", s.kiss_code);
  if (!s.detail.empty()) add(r.evidence, "detail", s.detail);
  return r;
}

}  // namespace

std::string attempt_target(const AttemptObservation& a) {
  if (a.source == TargetSource::srv) return a.label();
  return fmt::format("{} ({})", a.label(), to_string(a.source));
}

std::string format_ms(Micros d) {
  const auto us = d.count();
  const auto abs = us < 0 ? -us : us;
  return fmt::format("{}{}.{:03}", us < 0 ? "-" : "", abs / 1000, abs % 1000);
}

std::optional<Span> attempt_span(const AttemptObservation& a) {
  std::optional<Span> span;
  auto take = [&](const Timing& t) {
    if (!span) span = Span{t.start, t.end()};
    span->start = std::min(span->start, t.start);
    span->end = std::max(span->end, t.end());
  };
  if (a.address.source == AddressSource::query) take(a.address.timing);
  if (a.connect.outcome != ConnectOutcome::not_attempted) take(a.connect.timing);
  if (a.bind.outcome != BindOutcome::not_attempted) take(a.bind.timing);
  if (a.activation.outcome != ActivationOutcome::not_attempted) take(a.activation.timing);
  return span;
}

std::vector<PhaseRecord> build_timeline(const ProbeObservations& obs) {
  std::vector<PhaseRecord> rows;
  for (const auto& d : obs.dns) rows.push_back(srv_record(d));
  for (const auto& a : obs.attempts) {
    if (a.address.source == AddressSource::query) rows.push_back(address_record(a));
    if (a.connect.outcome != ConnectOutcome::not_attempted) rows.push_back(connect_record(a));
    if (a.bind.outcome != BindOutcome::not_attempted) rows.push_back(bind_record(a));
    if (a.activation.outcome != ActivationOutcome::not_attempted) rows.push_back(activation_record(a));
  }
  for (const auto& s : obs.sntp)
    if (s.outcome != SntpOutcome::not_run) rows.push_back(sntp_record(s));
  std::stable_sort(rows.begin(), rows.end(),
                   [](const PhaseRecord& a, const PhaseRecord& b) { return a.start < b.start; });
  return rows;
}

}  // namespace kmslab::client
