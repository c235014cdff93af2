// From a ProbeRun's observations and diagnosis to the numbers `kmslab watch` exports.
#include "kmslab/monitor/probe_summary.hpp"

#include <algorithm>

namespace kmslab::monitor {

namespace c = kmslab::client;

namespace {

double seconds(c::Micros d) { return static_cast<double>(d.count()) / 1e6; }

bool answered_kms(c::ActivationOutcome outcome) {
  return outcome == c::ActivationOutcome::ok || outcome == c::ActivationOutcome::hresult ||
         outcome == c::ActivationOutcome::bad_response;
}

}  // namespace

ProbeSummary summarize(const c::ProbeRun& run) {
  const auto& obs = run.observations;
  const auto& diag = run.diagnosis;
  ProbeSummary s;
  s.success = diag.verdict != c::Verdict::failed;
  s.duration_seconds = seconds(obs.total);
  s.windows_code = diag.windows_code;
  s.required_count = run.product.n_policy;
  for (const auto& row : diag.timeline) {
    s.phase_seconds[row.phase] += seconds(row.duration);
    if (row.outcome != c::PhaseOutcome::timed_out) s.latency_samples.emplace_back(row.phase, seconds(row.duration));
  }
  for (const auto& dns : obs.dns)
    s.srv_records[dns.domain] = dns.outcome == c::DnsOutcome::ok ? dns.records.size() : 0;
  for (const auto& a : obs.attempts) {
    HostSummary h;
    h.host = a.label();
    h.source = std::string(c::to_string(a.source));
    h.resolved = a.address.outcome == c::DnsOutcome::ok && !a.address.addresses.empty();
    h.reachable = a.connect.outcome == c::ConnectOutcome::ok;
    h.up = answered_kms(a.activation.outcome);
    if (a.activation.outcome == c::ActivationOutcome::ok) h.count = a.activation.response.current_count;
    // The same host found twice the same way (two domains naming it): the later attempt is newer.
    auto same = std::find_if(s.hosts.begin(), s.hosts.end(),
                             [&](const HostSummary& o) { return o.host == h.host && o.source == h.source; });
    if (same != s.hosts.end()) *same = std::move(h);
    else s.hosts.push_back(std::move(h));
  }
  for (const auto& sntp : obs.sntp)
    if (sntp.outcome == c::SntpOutcome::ok) s.clock_offset_seconds[sntp.server] = static_cast<double>(sntp.offset_ns) / 1e9;
  for (const auto& f : diag.findings) s.findings.push_back(f.code);
  return s;
}

}  // namespace kmslab::monitor
