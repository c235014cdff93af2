// From `kmslab load` options to a run, and from a run's report to the exit code.
//
// plan_load() is the whole of the command's option logic, kept pure (no I/O, no clock) so every
// usage error is unit-tested: it parses the target URL and durations, chooses the load model,
// makes sure the run is bounded, and fills the engine's LoadOptions and the target's settings.
// judge() decides pass/fail from a finished report. The CLI only binds options, prints and exits.
//
// Rules:
// - Model: --rate R (open loop, constant; with --poisson, Poisson arrivals) or --concurrency C
//   (closed loop), not both; neither -> open loop at kDefaultRate/s (a note says so).
// - Bounds: --duration and/or --requests; neither -> kDefaultDuration (a note says so). A run is
//   therefore always bounded in time or count, and every request by --timeout.
// - Pass/fail: a request failed when it completed with an error or was never sent (the in-flight
//   cap stayed full: the target could not keep up). The run fails when failed / (completed +
//   unsent) exceeds --max-error-rate (a fraction, default 0: any failure fails the run), and when
//   nothing at all completed in the measured window.
#pragma once

#include "kmslab/bench/error.hpp"
#include "kmslab/bench/load_driver.hpp"
#include "kmslab/bench/load_report.hpp"
#include "kmslab/bench/targets.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::bench {

inline constexpr double kDefaultRate = 100;
inline constexpr std::chrono::seconds kDefaultDuration{10};

// The options as the user typed them (strings where units are allowed).
struct LoadArgs {
  std::string target;
  std::optional<double> rate;
  bool poisson = false;
  std::optional<std::uint32_t> concurrency;
  std::string duration;  // empty: not given
  std::uint64_t requests = 0;
  std::string warmup = "0s";
  std::uint32_t threads = 1;
  std::string timeout = "2s";
  std::optional<int> protocol;
  std::string product;  // empty: the default product
  bool keepalive = false;
  std::string domain;
  std::uint64_t seed = 1;
  std::uint64_t max_in_flight = 10'000;
  double max_error_rate = 0;
  bool interval_log = false;  // --interval-log given: keep one histogram per second
};

struct LoadPlan {
  TargetUrl url;
  TargetSettings settings;
  LoadOptions options;
  double max_error_rate = 0;
  std::vector<std::string> notes;  // defaults that were applied, for stderr
};

// "10s", "500ms", "1.5s", "250us", "2m", "1h"; a bare number is seconds. nullopt for anything
// else, a negative value, or more than a week.
std::optional<std::chrono::nanoseconds> parse_load_duration(std::string_view text);

// Errc::bad_argument naming the option: a bad target URL, --rate with --concurrency, --poisson
// without --rate, a rate or concurrency out of range, a duration that does not parse, a zero
// --timeout, --protocol not 4/5/6, --keepalive on a non-kms target, --max-error-rate outside
// [0, 1], --max-in-flight 0, --threads outside 1..kMaxThreads, and whatever validate(LoadOptions)
// refuses.
Result<LoadPlan> plan_load(const LoadArgs& args);

struct RunJudgement {
  bool passed = false;
  std::uint64_t failed = 0;    // errors + unsent
  std::uint64_t attempted = 0; // requests + unsent
  double failed_fraction = 0;
  std::string summary;         // one line: "ok: 0 of 2000 failed" / "FAILED: 12 of 2000 (0.60%) > 0.10%"
};
RunJudgement judge(const LoadReport& report, double max_error_rate);

}  // namespace kmslab::bench
