// WatchMetrics: per-target state, turned into metric families on each scrape.
#include "kmslab/monitor/watch_metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace kmslab::monitor {

namespace c = kmslab::client;

std::string_view to_string(ProbeResult result) noexcept {
  switch (result) {
    case ProbeResult::success: return "success";
    case ProbeResult::failure: return "failure";
    case ProbeResult::timeout: return "timeout";
  }
  return "failure";
}

namespace {

double unix_seconds(std::chrono::system_clock::time_point at) {
  return std::chrono::duration<double>(at.time_since_epoch()).count();
}

Labels with(Labels labels, std::string name, std::string value) {
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

}  // namespace

WatchMetrics::WatchMetrics(std::vector<double> buckets, std::string version)
    : buckets_(std::move(buckets)), version_(std::move(version)) {}

void WatchMetrics::record(const WatchTarget& target, const ProbeSummary& summary,
                          std::chrono::system_clock::time_point at) {
  std::lock_guard lock(mutex_);
  auto& t = targets_[{target.name, target.module}];
  t.has_summary = true;
  t.last = summary;
  t.success = summary.success;
  t.duration_seconds = summary.duration_seconds;
  t.last_run_seconds = unix_seconds(at);
  ++t.results[summary.success ? ProbeResult::success : ProbeResult::failure];
  for (auto code : summary.findings) ++t.findings[code];
  for (const auto& [phase, value] : summary.latency_samples) {
    auto& h = t.latency[phase];
    if (h.counts.empty()) {
      h.bounds = buckets_;
      h.counts.assign(buckets_.size() + 1, 0);
    }
    const auto bucket = static_cast<std::size_t>(std::lower_bound(buckets_.begin(), buckets_.end(), value) - buckets_.begin());
    ++h.counts[bucket];
    h.sum += value;
  }
  for (const auto& [domain, n] : summary.srv_records) srv_records_[domain] = n;
}

void WatchMetrics::record_timeout(const WatchTarget& target, std::chrono::nanoseconds elapsed,
                                  std::chrono::system_clock::time_point at) {
  std::lock_guard lock(mutex_);
  auto& t = targets_[{target.name, target.module}];
  t.success = false;
  t.duration_seconds = std::chrono::duration<double>(elapsed).count();
  t.last_run_seconds = unix_seconds(at);
  ++t.results[ProbeResult::timeout];
}

void WatchMetrics::apply_config(const WatchConfig& config) {
  std::lock_guard lock(mutex_);
  budgets_.clear();
  for (const auto& [name, module] : config.modules)
    for (const auto& [phase, budget] : module.probe.budgets)
      budgets_[{name, phase}] = static_cast<double>(budget.count()) / 1e6;
  std::set<Key> keep;
  for (const auto& t : config.targets) keep.insert({t.name, t.module});
  std::erase_if(targets_, [&](const auto& entry) { return !keep.contains(entry.first); });
  // Domains are kept only while a remaining target still looked them up.
  std::set<std::string> domains;
  for (const auto& [key, t] : targets_)
    for (const auto& [domain, n] : t.last.srv_records) domains.insert(domain);
  std::erase_if(srv_records_, [&](const auto& entry) { return !domains.contains(entry.first); });
}

void WatchMetrics::reload_attempted(bool ok, std::chrono::system_clock::time_point at) {
  std::lock_guard lock(mutex_);
  reload_ok_ = ok;
  reload_seconds_ = unix_seconds(at);
}

std::vector<MetricFamily> WatchMetrics::families() const {
  std::lock_guard lock(mutex_);
  auto success = family("kmslab_probe_success", MetricType::gauge,
                        "1 when the last probe found that a client would activate (verdict healthy or degraded)");
  auto duration = family("kmslab_probe_duration_seconds", MetricType::gauge, "Duration of the last probe");
  auto last_run = family("kmslab_probe_last_run_timestamp_seconds", MetricType::gauge,
                         "Unix time at which the last probe finished");
  auto probes = family("kmslab_probes_total", MetricType::counter, "Probes run, by result (success, failure, timeout)");
  auto hresult = family("kmslab_probe_last_hresult", MetricType::gauge,
                        "The Windows code a client would show after the last probe (0 = activates; 3221549172 = 0xC004F074)");
  auto required = family("kmslab_kms_count_required", MetricType::gauge,
                         "Minimum count the probed product needs from the host before it activates (N-policy)");
  auto phase = family("kmslab_probe_phase_duration_seconds", MetricType::gauge,
                      "Time the last probe spent in each phase (summed over the targets it tried)");
  auto latency = family("kmslab_probe_phase_latency_seconds", MetricType::histogram,
                        "Latency of each completed phase step (timed-out steps are not observed)");
  auto budget = family("kmslab_probe_phase_budget_seconds", MetricType::gauge, "Phase budgets configured per module");
  auto srv = family("kmslab_dns_srv_records", MetricType::gauge,
                    "SRV records in the last _vlmcs._tcp answer for the domain (0 for NXDOMAIN, NODATA, errors)");
  auto up = family("kmslab_kms_host_up", MetricType::gauge,
                   "1 when the KMS host answered at the KMS level in the last probe (activation or in-band error)");
  auto reachable = family("kmslab_kms_host_reachable", MetricType::gauge,
                          "1 when the TCP connect to the KMS host's port succeeded in the last probe");
  auto resolved = family("kmslab_kms_host_resolved", MetricType::gauge,
                         "1 when the KMS host name had an A/AAAA address in the last probe");
  auto count = family("kmslab_kms_host_count_reported", MetricType::gauge,
                      "Count (activated clients) the KMS host reported in the last successful activation");
  auto offset = family("kmslab_clock_offset_seconds", MetricType::gauge,
                       "Time source (SNTP) minus the local clock, from the last probe");
  auto findings = family("kmslab_findings_total", MetricType::counter, "Findings reported by probes, by finding code");
  auto reload = family("kmslab_watch_config_last_reload_successful", MetricType::gauge,
                       "1 when the last configuration load succeeded");
  auto reload_time = family("kmslab_watch_config_last_reload_timestamp_seconds", MetricType::gauge,
                            "Unix time of the last configuration load attempt");
  auto build = family("kmslab_build_info", MetricType::gauge, "kmslab's version; the value is always 1");

  for (const auto& [key, t] : targets_) {
    const Labels base{{"target", key.first}, {"module", key.second}};
    success.samples.push_back({base, t.success ? 1.0 : 0.0});
    duration.samples.push_back({base, t.duration_seconds});
    last_run.samples.push_back({base, t.last_run_seconds});
    for (auto r : {ProbeResult::success, ProbeResult::failure, ProbeResult::timeout}) {
      auto it = t.results.find(r);
      probes.samples.push_back({with(base, "result", std::string(to_string(r))),
                                static_cast<double>(it == t.results.end() ? 0 : it->second)});
    }
    for (const auto& [code, n] : t.findings)
      findings.samples.push_back({with(base, "code", std::string(c::to_string(code))), static_cast<double>(n)});
    for (const auto& [p, h] : t.latency) {
      auto sample = h;
      sample.labels = with(base, "phase", std::string(c::to_string(p)));
      latency.histograms.push_back(std::move(sample));
    }
    if (!t.has_summary) continue;
    const auto& s = t.last;
    hresult.samples.push_back({base, static_cast<double>(s.windows_code)});
    required.samples.push_back({base, static_cast<double>(s.required_count)});
    for (const auto& [p, seconds] : s.phase_seconds)
      phase.samples.push_back({with(base, "phase", std::string(c::to_string(p))), seconds});
    for (const auto& h : s.hosts) {
      const auto labels = with(with(base, "host", h.host), "source", h.source);
      up.samples.push_back({labels, h.up ? 1.0 : 0.0});
      reachable.samples.push_back({labels, h.reachable ? 1.0 : 0.0});
      resolved.samples.push_back({labels, h.resolved ? 1.0 : 0.0});
      if (h.count) count.samples.push_back({labels, static_cast<double>(*h.count)});
    }
    for (const auto& [source, seconds] : s.clock_offset_seconds)
      offset.samples.push_back({with(base, "source", source), seconds});
  }
  for (const auto& [key, seconds] : budgets_)
    budget.samples.push_back({{{"module", key.first}, {"phase", std::string(c::to_string(key.second))}}, seconds});
  for (const auto& [domain, n] : srv_records_) srv.samples.push_back({{{"domain", domain}}, static_cast<double>(n)});
  reload.samples.push_back({{}, reload_ok_ ? 1.0 : 0.0});
  reload_time.samples.push_back({{}, reload_seconds_});
  build.samples.push_back({{{"version", version_}}, 1.0});

  std::vector<MetricFamily> out;
  for (auto* f : {&success, &duration, &last_run, &probes, &hresult, &required, &phase, &latency, &budget, &srv, &up,
                  &reachable, &resolved, &count, &offset, &findings, &reload, &reload_time, &build})
    out.push_back(std::move(*f));
  return out;
}

std::string WatchMetrics::render() const {
  const auto all = families();
  auto page = monitor::render(all);
  if (!page) return fmt::format("# kmslab: cannot render metrics: {}\n", page.error().message());
  return std::move(*page);
}

}  // namespace kmslab::monitor
