// What running a suite produced: one ScenarioResult per scenario run (per repeat, per mutant), in
// suite order, each with its steps. The runner fills these; reports.hpp renders them. Plain values.
#pragma once

#include "kmslab/harness/scenario.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::harness {

enum class Status : std::uint8_t {
  passed,
  failed,   // an expectation was not met (for a mutant: the mutant passed, i.e. survived)
  error,    // the scenario could not run: the site did not start, the probe refused its options,
            // the scenario timed out
  not_run,  // the run was interrupted before this scenario finished (started or not): nothing
            // the interrupt cut short is reported as a result
  skipped,  // this machine cannot run it (e.g. isolation: netns without CAP_NET_ADMIN or nft);
            // `error` says why. Not a pass: it is counted, shown and printed with its reason
};
std::string_view to_string(Status status) noexcept;  // "passed", ..., "not_run", "skipped"

struct StepResult {
  std::string name;
  bool passed = false;
  std::vector<std::string> failures;  // unmet expectations, one per line
  std::string expected;               // describe_expectation()
  std::string actual;                 // describe_outcome(); empty when the probe did not run
  std::string report_text;            // the probe's text report
  nlohmann::json report_json;         // the probe's JSON report (schema v1); null when none
  std::chrono::microseconds duration{0};
};

struct ScenarioResult {
  std::string name;
  std::string file;
  std::string cause;
  std::vector<std::string> tags;
  std::string description;
  int repeat = 0;           // 0-based repeat index
  bool mutant = false;      // --mutate: this run checks the mutated expectations
  std::string mutation;     // what the mutant changed
  std::uint64_t seed = 0;   // everything random in this run derives from it
  Status status = Status::not_run;
  std::string error;        // for error / not_run: why
  std::vector<StepResult> steps;
  std::string expected;     // the summary table's "expected" column
  std::chrono::microseconds duration{0};

  // "dns.nxdomain", "dns.nxdomain#2" (repeat), "dns.nxdomain [mutant]".
  std::string display_name() const;
};

struct SuiteResult {
  std::vector<ScenarioResult> results;
  std::uint64_t seed = 0;
  int jobs = 1;
  int repeat = 1;
  bool mutate = false;
  bool interrupted = false;
  std::chrono::system_clock::time_point started_at{};
  std::chrono::microseconds wall{0};

  std::size_t count(Status status) const;
};

// An interrupted suite's exit code, whatever ran before the signal: the one every batch command
// of the CLI uses (128 + SIGINT, as a shell reports a command ended by Ctrl-C).
inline constexpr int kExitInterrupted = 130;
// What `error` says of a run the interrupt kept from finishing (JUnit's skipped message).
inline constexpr std::string_view kNotRunInterrupted = "not run (interrupted)";

// kExitInterrupted when the suite was interrupted; else 0 when every run passed or was skipped
// (and `fail_on_skip` is false); 1 when any failed, errored, did not run, or was skipped with
// `fail_on_skip`. (2, for usage and scenario errors, is decided before anything runs.)
int suite_exit_code(const SuiteResult& suite, bool fail_on_skip = false);

}  // namespace kmslab::harness
