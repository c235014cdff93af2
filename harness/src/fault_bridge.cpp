#include "kmslab/harness/fault_bridge.hpp"

#include "kmslab/harness/scenario.hpp"

#include <fmt/format.h>

namespace kmslab::harness {

namespace {

nlohmann::json to_json(const YAML::Node& n) {
  if (!n || n.IsNull()) return nullptr;
  if (n.IsScalar()) return n.Scalar();
  if (n.IsSequence()) {
    auto out = nlohmann::json::array();
    for (const auto& item : n) out.push_back(to_json(item));
    return out;
  }
  auto out = nlohmann::json::object();
  for (const auto& kv : n) out[kv.first.Scalar()] = to_json(kv.second);
  return out;
}

}  // namespace

FaultSpec read_scenario_fault(const config::ConfigNode& node) {
  node.expect_keys({"name", "target", "host", "match", "action", "params", "probability", "seed", "limit_first",
                    "limit_for"});
  FaultSpec f;
  f.name = node.child("name").as_string();
  if (f.name.empty()) node.child("name").fail("a fault needs a non-empty name");
  node.child("action").as_string();
  f.spec = to_json(node.yaml());
  return f;
}

std::string apply_faults(simulator::Site&, const std::vector<FaultSpec>& faults) {
  if (faults.empty()) return {};
  return fmt::format("fault '{}': this build has no fault engine", faults.front().name);
}

std::string apply_fault_changes(simulator::Site& site, const FaultChanges& changes) {
  return apply_faults(site, changes.add);
}

std::vector<std::string> known_fault_actions() { return {}; }

std::string fault_action(const FaultSpec& fault) {
  return fault.spec.is_object() && fault.spec.contains("action") ? fault.spec["action"].get<std::string>() : "";
}

}  // namespace kmslab::harness
