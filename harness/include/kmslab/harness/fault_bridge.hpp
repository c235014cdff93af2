// The harness's one door to the simulator's fault engine: how a scenario's `faults:` entries are
// read (simulator::read_fault, the schema docs/faults.md documents) and how they are applied to a
// running Site. Everything fault-specific in the harness goes through here.
#pragma once

#include "kmslab/config/yaml_node.hpp"
#include "kmslab/simulator/fault.hpp"

#include <string>
#include <vector>

namespace kmslab::simulator {
class Site;
}

namespace kmslab::harness {

using FaultSpec = simulator::FaultSpec;
struct FaultChanges;

// Reads one `faults:` entry; throws config::ConfigException located at the offending key.
FaultSpec read_scenario_fault(const config::ConfigNode& node);

// Installs faults on a started site / applies a step's changes (clear, remove, add). Returns an
// empty string on success, else one sentence naming the fault and the reason.
std::string apply_faults(simulator::Site& site, const std::vector<FaultSpec>& faults);
std::string apply_fault_changes(simulator::Site& site, const FaultChanges& changes);

// Every registered fault action as "<target>.<action>" ("dns.delay", "kms.refused"), for the
// catalog's coverage test; fault_action() names one fault the same way.
std::vector<std::string> known_fault_actions();
std::string fault_action(const FaultSpec& fault);

}  // namespace kmslab::harness
