#include "kmslab/harness/fault_bridge.hpp"

#include "kmslab/harness/scenario.hpp"
#include "kmslab/simulator/site.hpp"

#include <fmt/format.h>

// Applying faults to a running Site; reading them (no Asio) is in fault_read.cpp, which the
// scenario loader's fuzz target compiles on its own.
namespace kmslab::harness {

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
