// Loading scenarios from YAML: files, directories, validation with located errors.
//
// Every problem a scenario file can have is found at load time, before anything runs: YAML syntax,
// unknown keys (with the nearest valid key suggested), wrong types, impossible values (a window
// whose min exceeds its max, a finding both expected and forbidden, a verdict that contradicts the
// exit status, a step removing a fault that is not active, a probe aimed at a host the site does not
// have). Each error is a config::ConfigError naming file:line:column and the key path. The
// `simulator:` section is read by simulator::read_simulator_config, so a scenario's site is exactly
// what `kmslab serve` would run.
//
// Files are size-limited (kMaxScenarioFileBytes) so a stray large file in a scenario directory is
// an error, not a memory spike. All functions are thread-compatible and do no I/O beyond reading
// the named files and listing the named directories.
#pragma once

#include "kmslab/config/yaml_node.hpp"
#include "kmslab/harness/scenario.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::harness {

inline constexpr std::size_t kMaxScenarioFileBytes = 256 * 1024;

// Reads a scenario from a parsed document; throws config::ConfigException on the first problem.
Scenario read_scenario(const config::ConfigNode& root);

config::ConfigResult<Scenario> load_scenario_file(const std::string& path,
                                                  std::size_t max_bytes = kMaxScenarioFileBytes);
// `name` stands in for the file name in errors (and names the scenario when it has no `name:`).
config::ConfigResult<Scenario> load_scenario_text(std::string_view text, const std::string& name);

// Expands files and directories (recursively: *.yaml and *.yml, sorted by path) into scenario
// files. A missing path or a directory without scenarios is an error.
struct ScenarioFiles {
  std::vector<std::string> files;
  std::vector<config::ConfigError> errors;
};
ScenarioFiles find_scenario_files(const std::vector<std::string>& paths);

// Loads every scenario under `paths`, collecting every error (not only the first), including two
// scenarios with the same name. Scenarios are in file order.
struct LoadedSuite {
  std::vector<Scenario> scenarios;
  std::vector<config::ConfigError> errors;
};
LoadedSuite load_scenarios(const std::vector<std::string>& paths, std::size_t max_file_bytes = kMaxScenarioFileBytes);

// The causes a scenario may name: the runbook ids and "baseline".
std::vector<std::string> scenario_causes();

}  // namespace kmslab::harness
