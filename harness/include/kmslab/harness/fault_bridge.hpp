// The harness's one door to the simulator's fault engine: how a scenario's `faults:` entries are
// read and how they are applied to a running Site. Everything fault-specific in the harness goes
// through here, so the scenario model and the runner do not depend on the engine's internals.
#pragma once

#include "kmslab/config/yaml_node.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kmslab::simulator {
class Site;
}

namespace kmslab::harness {

// A fault as the scenario wrote it (name, target, action, params ...), checked for shape.
struct FaultSpec {
  std::string name;
  nlohmann::json spec;
};

// Reads one `faults:` entry; throws config::ConfigException located at the offending key.
FaultSpec read_scenario_fault(const config::ConfigNode& node);

struct FaultChanges;

// Installs faults on a started site / applies a step's changes (clear, remove, add). Returns an
// empty string on success, else one sentence naming the fault and the reason.
std::string apply_faults(simulator::Site& site, const std::vector<FaultSpec>& faults);
std::string apply_fault_changes(simulator::Site& site, const FaultChanges& changes);

// The fault actions a catalog can use (for the coverage test).
std::vector<std::string> known_fault_actions();

// The action name of a fault ("delay", "nxdomain" ...).
std::string fault_action(const FaultSpec& fault);

}  // namespace kmslab::harness
