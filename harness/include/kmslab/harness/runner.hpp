// The suite runner behind `kmslab run`: scenarios over a pool of worker threads, each scenario run
// on its own io_context with its own embedded simulator on ephemeral ports, so runs never share a
// port or a clock and parallel jobs cannot interfere.
//
// run_suite() plans the runs (every scenario x --repeat, plus one mutant per scenario with
// --mutate), hands them to `jobs` workers and returns the results in plan order, whatever order
// they finished in. Randomness: every run's seed derives from the suite seed, the scenario name and
// the repeat index (a scenario's own `seed:` wins), and every report prints it, so any run can be
// replayed with --seed and --filter.
//
// Interruption: when `stop` becomes true (SIGINT / SIGTERM in the CLI), no new run starts, the runs
// in flight end at their next check (within ~50 ms) and are marked not_run, and run_suite returns
// what finished, so the reports can still be written. Each run is also bounded by its scenario's
// `timeout`, after which it is an error.
//
// Thread-safety: run_suite may be called from any thread; the callbacks are called from worker
// threads, one at a time (serialised by the runner).
#pragma once

#include "kmslab/harness/results.hpp"
#include "kmslab/harness/scenario.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::harness {

struct RunContext {
  std::uint64_t seed = 1;  // this run's seed
  int repeat = 0;
  bool mutant = false;
  const std::atomic<bool>* stop = nullptr;  // never null inside run_suite
};

// Runs a scenario's steps and reports them. It sets `status`, `steps` and `error`; the runner fills
// in the identity fields, the seed, the duration and, for mutants, the verdict inversion.
// Must return (not throw) for every failure of the scenario itself; an exception is an error run.
using ScenarioExecutor = std::function<ScenarioResult(const Scenario&, const RunContext&)>;

struct RunOptions {
  int jobs = 1;
  int repeat = 1;
  std::uint64_t seed = 1;
  bool mutate = false;
  std::string filter;  // glob on the scenario name, cause or a tag; empty = all
  const std::atomic<bool>* stop = nullptr;
  std::function<void(const ScenarioResult& started)> on_start;
  std::function<void(const ScenarioResult& finished, std::size_t done, std::size_t total)> on_finish;
};

// fnmatch(3) glob against the name, the cause and each tag.
bool matches_filter(const Scenario& scenario, std::string_view glob);

// splitmix64 over the suite seed, the name and the repeat index.
std::uint64_t derive_seed(std::uint64_t suite_seed, std::string_view name, int repeat);

// The scenario with every step's expectation mutated (mutate_expectation), and what changed.
Scenario make_mutant(const Scenario& scenario, std::uint64_t seed, std::string& description);

SuiteResult run_suite(const std::vector<Scenario>& scenarios, const RunOptions& options,
                      const ScenarioExecutor& executor);

// The real executor: an embedded simulator::Site with the scenario's faults, the probe run once
// per step with the step's fault changes applied first. Bounded by scenario.timeout.
ScenarioResult run_scenario(const Scenario& scenario, const RunContext& context);

}  // namespace kmslab::harness
