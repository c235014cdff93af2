// The Asio-free half of fault_bridge.hpp: reading and naming faults. Kept apart from the half that
// touches a Site so the scenario loader (and its fuzz target) never pulls in the servers.
#include "kmslab/harness/fault_bridge.hpp"

#include "kmslab/simulator/fault_actions.hpp"

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

}  // namespace kmslab::harness
