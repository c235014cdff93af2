// The result of a load run, and everything done with it afterwards: text for a person, JSON for
// tools, a per-interval log, and the exact merge of runs from several generators.
//
// What a report promises:
// - `latency` holds the successful requests of the measured window (warm-up excluded), in ns,
//   measured from the intended send time in open-loop runs (see schedule.hpp). Failed requests
//   are counted by kind in `errors`, not recorded as latencies.
// - The JSON form (schema_version 1) carries the full histogram, so report_from_json(report_to_json(r))
//   equals r, and merge() of reports read from several machines is exact. Derived figures in the
//   JSON ("latency_ns" percentiles) are for readers; they are recomputed, never trusted, on read.
// - merge() treats its inputs as generators that ran side by side against one target (it refuses
//   reports of different targets unless forced): counts,
//   errors and histograms add, achieved rates add, the window is the longest one, each run's
//   configuration is kept in `runs`, and interval records add by index.
// - Reading validates every field (times and rates finite and >= 0) and the consistency of the counts (requests = ok + errors,
//   errors equal the sum by kind, the histogram holds exactly `ok` values).
#pragma once

#include "kmslab/bench/error.hpp"
#include "kmslab/bench/histogram.hpp"

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kmslab::bench {

inline constexpr int kReportSchemaVersion = 1;

// The configuration echo of one generator run.
struct RunConfig {
  std::string target;              // e.g. "kms://127.0.0.1:1688"
  std::string mode;                // "constant", "poisson" or "closed"
  double rate_per_s = 0;           // open loop; 0 for closed loop
  std::uint32_t concurrency = 0;   // closed loop; 0 for open loop
  double duration_s = 0;           // measured window asked for; 0 = bounded by `requests` only
  std::uint64_t requests = 0;      // measured requests asked for; 0 = bounded by duration only
  double warmup_s = 0;
  std::uint32_t threads = 1;
  std::uint64_t seed = 0;
  std::uint64_t max_in_flight = 0;
  double timeout_s = 0;
  std::string started_at;          // UTC, ISO 8601; empty when unknown
  friend bool operator==(const RunConfig&, const RunConfig&) = default;
};

struct RunCounts {
  std::uint64_t requests = 0;  // measured requests that completed: ok + errors
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::uint64_t warmup = 0;    // completed during warm-up, not in the statistics
  std::uint64_t unsent = 0;    // due in the window but never sent: the in-flight cap stayed full
  friend bool operator==(const RunCounts&, const RunCounts&) = default;
};

// Interval `index` holds the requests that COMPLETED in [index, index + 1) * length_s after the
// start of the measured window (completions after the window's end fall in later intervals).
struct IntervalRecord {
  std::uint64_t index = 0;
  double length_s = 1;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  SparseHistogram latency;
  friend bool operator==(const IntervalRecord&, const IntervalRecord&) = default;
};

struct LoadReport {
  std::vector<RunConfig> runs;
  double elapsed_s = 0;      // the measured window as it really lasted
  double achieved_rate = 0;  // completed measured requests per second (summed over merged runs)
  RunCounts counts;
  std::map<std::string, std::uint64_t> errors;  // error_key() -> count
  Histogram latency;
  std::vector<IntervalRecord> intervals;  // ascending index; empty unless intervals were asked for
  // SIGINT/SIGTERM ended the run before its bound: the figures cover only what was done. A merge
  // of reports is interrupted when any of them is. JSON "interrupted" (absent in older reports:
  // false).
  bool interrupted = false;
  friend bool operator==(const LoadReport&, const LoadReport&) = default;
};

// The percentiles every rendering shows, in this order.
inline constexpr double kReportPercentiles[] = {50, 90, 99, 99.9, 99.99};

// "812.0 us", "12.345 ms", "2.500 s"
std::string format_latency(std::int64_t ns);

// Several lines: configuration, counts and achieved rate, p50 p90 p99 p99.9 p99.99 max (plus
// min, mean, stddev), errors by kind, and warnings (clamped values, unsent requests).
std::string render_text(const LoadReport& report);

nlohmann::json report_to_json(const LoadReport& report);
// Errc::bad_json naming the field, Errc::incompatible for another schema_version, Errc::bad_layout
// for an impossible histogram layout.
Result<LoadReport> report_from_json(const nlohmann::json& json);

// One interval as a single JSON object (the interval log's line): index, start_s, length_s, ok,
// errors, p50/p90/p99/p99.9/max in ns, and the sparse histogram.
nlohmann::json interval_to_json(const IntervalRecord& interval);
// The whole interval log: one compact JSON object per line, each ending in '\n'.
std::string interval_log(const LoadReport& report);

struct MergeOptions {
  // Merge reports of different targets, or with different histogram layouts (re-binned into the
  // first report's layout: approximate percentiles), instead of refusing; each such difference
  // is then appended to `notes`, worded as the refusal would have been.
  bool force = false;
};

// Errc::bad_argument for no reports, or a count or rate whose sum does not fit (never wraps);
// Errc::incompatible when targets or histogram layouts differ (unless forced) or interval lengths
// differ. Messages name the input (by position) and what differs.
Result<LoadReport> merge(const std::vector<LoadReport>& reports, const MergeOptions& options = {},
                         std::vector<std::string>* notes = nullptr);

// File helpers for `kmslab merge`: Errc::io for a file that cannot be read or holds more than
// kMaxLoadReportBytes (the message names the file and the reason), Errc::bad_json located as
// "file:line:column: not valid JSON: ..." for a syntax error, Errc::bad_json / incompatible
// prefixed with the file name otherwise. merge_report_files reads and adds the files in order;
// when `stop` is set and true after a file was read, the files after it are left out and the
// result is marked interrupted (at least the first file is always read, so an interrupted merge
// is still a report). A report holds a sparse histogram per interval: an
// hour of one-second intervals is a few MiB.
inline constexpr std::size_t kMaxLoadReportBytes = 32u << 20;
Result<LoadReport> read_report_file(const std::string& path);
Result<LoadReport> merge_report_files(const std::vector<std::string>& paths, const MergeOptions& options = {},
                                      std::vector<std::string>* notes = nullptr,
                                      const std::atomic<bool>* stop = nullptr);

// What a running generator shows on a terminal, once or a few times a second.
struct Progress {
  std::chrono::nanoseconds elapsed{0};  // since the run started, warm-up included
  std::chrono::nanoseconds planned{0};  // warm-up + duration; 0 when bounded by requests only
  bool warming_up = false;
  std::uint64_t sent = 0;
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;
  std::uint64_t in_flight = 0;
  double recent_rate = 0;  // completions per second since the previous progress line
};

// One line, no newline, e.g. "[  3.0s/ 11.0s] warm-up  sent 15000  done 14990  in-flight 10  4998/s  errors 0".
std::string format_progress(const Progress& progress);

}  // namespace kmslab::bench
