// Reading the `expect:` section of a scenario (private to the loader).
#pragma once

#include "kmslab/config/yaml_node.hpp"
#include "kmslab/harness/scenario.hpp"

namespace kmslab::harness::detail {

// Throws config::ConfigException located at the offending key.
Expectation read_expectation(const config::ConfigNode& node);

// Enum text -> value, failing with the valid choices and the nearest one.
client::FindingCode read_finding_code(const config::ConfigNode& node);
client::Phase read_phase(const config::ConfigNode& node, const std::string& text);

}  // namespace kmslab::harness::detail
