// Running a scenario in a network namespace of its own (`isolation: netns`), for faults that
// change the network itself: a `filtered` fault in mode nftables installs a real drop rule, which
// must never reach the host's firewall.
//
// A namespace belongs to a thread, and the runner is multi-threaded, so such a scenario runs in a
// child process: net::spawn_in_new_netns() starts this binary again (IsolationOptions::program,
// /proc/self/exe) in a fresh namespace with `lo` up, with the hidden subcommand
// `__scenario-in-netns --file F --name N --seed S --repeat R [--mutant]`. The child reloads the
// scenario from its file, runs it with the ordinary executor (run_scenario: simulator and probe
// both inside the namespace, on its loopback), and prints the result as one JSON document on
// stdout; the parent reads it back into the ScenarioResult. Seeds travel with it, so a run in a
// namespace replays exactly like any other.
//
// Promises:
// - Where the namespace cannot be made (no CAP_NET_ADMIN, unshare forbidden, no nft) the result is
//   Status::skipped with that reason, never a pass and never an attempt on the host.
// - The child is bounded by the scenario's timeout plus IsolationOptions::grace, killed on the
//   runner's stop flag, and dies with its parent. A child that crashes, prints no result or prints
//   a malformed one makes an error result quoting its exit status and stderr.
// Thread-safety: run_scenario_in_netns may run on several worker threads at once.
#pragma once

#include "kmslab/harness/results.hpp"
#include "kmslab/harness/runner.hpp"

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kmslab::harness {

inline constexpr const char* kNetnsChildCommand = "__scenario-in-netns";

struct IsolationOptions {
  std::string program = "/proc/self/exe";  // a kmslab binary with the hidden child subcommand
  std::chrono::milliseconds grace{10'000};  // beyond the scenario's timeout: start and teardown
};

// What the child is told: enough to find the scenario and replay its run.
struct IsolatedRun {
  std::string file;
  std::string name;
  std::uint64_t seed = 1;
  int repeat = 0;
  bool mutant = false;
};
// `__scenario-in-netns --file ... --name ... --seed ... --repeat ... [--mutant]`.
std::vector<std::string> isolated_child_args(const IsolatedRun& run);

// "" when this machine can run netns scenarios; else why not (net::cached_netns_support()).
std::string netns_unavailable_reason();

// The scenario in a child process in a fresh network namespace (see above). Fills what an executor
// fills: status, error, steps.
ScenarioResult run_scenario_in_netns(const Scenario& scenario, const RunContext& context,
                                     const IsolationOptions& options = {});

// The executor `kmslab run` uses: run_scenario for `isolation: none`, run_scenario_in_netns for
// netns.
ScenarioExecutor make_executor(IsolationOptions options = {});

// The child's side, behind `kmslab __scenario-in-netns`: refuses outside a namespace kmslab made,
// loads the scenario (and re-derives the mutant), runs it, prints the JSON result on stdout.
// Returns 0 when a result was printed (whatever its status), 2 otherwise (the reason on stderr).
int run_isolated_child(const IsolatedRun& run);

// The executor's part of a ScenarioResult (status, error, steps) as JSON and back; from_json
// rejects a document of the wrong shape with one sentence.
nlohmann::json executor_result_to_json(const ScenarioResult& result);
boost::system::result<ScenarioResult, std::string> executor_result_from_json(const nlohmann::json& json);

}  // namespace kmslab::harness
