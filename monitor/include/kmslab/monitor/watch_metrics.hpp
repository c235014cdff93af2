// The metric state of `kmslab watch`: updated from each probe run, rendered on every scrape.
//
// Series are keyed by the `target` and `module` labels of the WatchTarget that ran. Gauges keep
// the value of the target's last run; counters (probes, findings) and the per-phase latency
// histograms accumulate from the process start. retain() drops every series of a target that a
// reloaded config no longer has, so Prometheus sees it go stale instead of frozen. The metric
// names and their meaning are listed in docs/monitoring.md; families() is the full list.
//
// Thread-safety: every member function may be called from any thread (one mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "kmslab/monitor/exposition.hpp"
#include "kmslab/monitor/probe_summary.hpp"
#include "kmslab/monitor/watch_config.hpp"

namespace kmslab::monitor {

enum class ProbeResult : std::uint8_t { success, failure, timeout };
std::string_view to_string(ProbeResult result) noexcept;

class WatchMetrics {
 public:
  // `buckets`: latency histogram bounds in seconds (validated by the config loader).
  WatchMetrics(std::vector<double> buckets, std::string version);

  // One finished run of `target` (its name and module) at wall-clock time `at`.
  void record(const WatchTarget& target, const ProbeSummary& summary, std::chrono::system_clock::time_point at);
  // A run that passed its module's deadline: success 0, result "timeout", duration `elapsed`.
  void record_timeout(const WatchTarget& target, std::chrono::nanoseconds elapsed,
                      std::chrono::system_clock::time_point at);
  // Applies a (re)loaded config: phase budgets per module, and forgets targets not in it.
  void apply_config(const WatchConfig& config);
  // The outcome of a reload attempt (kmslab_watch_config_last_reload_successful and its time).
  void reload_attempted(bool ok, std::chrono::system_clock::time_point at);

  std::vector<MetricFamily> families() const;
  // The /metrics page. Cannot fail for the names this class writes; returns render()'s error text
  // as a comment line if it ever did, so a scrape shows why instead of a half page.
  std::string render() const;

 private:
  using Key = std::pair<std::string, std::string>;  // target, module
  struct TargetState {
    bool has_summary = false;
    ProbeSummary last;
    bool success = false;
    double duration_seconds = 0;
    double last_run_seconds = 0;
    std::map<ProbeResult, std::uint64_t> results;
    std::map<client::FindingCode, std::uint64_t> findings;
    std::map<client::Phase, HistogramSample> latency;
  };

  std::vector<double> buckets_;
  std::string version_;
  mutable std::mutex mutex_;
  std::map<Key, TargetState> targets_;
  std::map<std::pair<std::string, client::Phase>, double> budgets_;  // (module, phase) -> seconds
  std::map<std::string, std::size_t> srv_records_;                   // by domain
  bool reload_ok_ = true;
  double reload_seconds_ = 0;
};

}  // namespace kmslab::monitor
