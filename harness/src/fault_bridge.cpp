#include "kmslab/harness/fault_bridge.hpp"

#include "kmslab/harness/scenario.hpp"
#include "kmslab/simulator/fault_actions.hpp"
#include "kmslab/simulator/site.hpp"

#include <fmt/format.h>

namespace kmslab::harness {

FaultSpec read_scenario_fault(const config::ConfigNode& node) { return simulator::read_fault(node); }

std::string fault_action(const FaultSpec& fault) {
  return fmt::format("{}.{}", simulator::to_string(fault.target), fault.action);
}

std::vector<std::string> known_fault_actions() {
  std::vector<std::string> out;
  for (const auto& a : simulator::registered_actions())
    out.push_back(fmt::format("{}.{}", simulator::to_string(a.target), a.name));
  return out;
}

std::string apply_faults(simulator::Site& site, const std::vector<FaultSpec>& faults) {
  for (const auto& f : faults)
    if (auto added = site.faults().add(f); !added)
      return fmt::format("fault '{}': {}", f.name, added.error().format());
  return {};
}

std::string apply_fault_changes(simulator::Site& site, const FaultChanges& changes) {
  if (changes.clear) site.faults().clear();
  for (const auto& name : changes.remove)
    if (!site.faults().remove(name)) return fmt::format("no active fault named '{}' to remove", name);
  return apply_faults(site, changes.add);
}

}  // namespace kmslab::harness
