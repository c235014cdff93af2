// Reading the `probe:` section of a scenario or a step (private to the loader).
#pragma once

#include "kmslab/config/yaml_node.hpp"
#include "kmslab/harness/scenario.hpp"

namespace kmslab::harness::detail {

// `base` with the keys present in `node` applied (a step's probe overrides the scenario's).
ProbeSpec read_probe(const config::ConfigNode& node, ProbeSpec base);

// Cross-checks a probe against the site: host references name a host the site has, something is
// probed, the site DNS / SNTP exists when asked for. Fails located at `where`.
void check_probe(const ProbeSpec& probe, const simulator::SimulatorConfig& site, const config::ConfigNode& where);

// True when `ref` names a simulator host (no ':' and no '.'), i.e. is not a literal host[:port].
bool is_host_reference(std::string_view ref);

}  // namespace kmslab::harness::detail
