// The first pass over every YAML input: bounds checked on the parser's events, before a node tree
// is built or anything is expanded.
//
// yaml-cpp shares an aliased node in its tree, so a tree is cheap to build, but every reader that
// walks it (converting fault params to JSON, copying a scenario) expands each alias again: nine
// levels of nine aliases is a 700-byte file that walks into 387 million nodes. The node count an
// alias stands for is known when the alias is seen (its anchor's node is complete by then), so
// this pass adds those counts up and stops at the cap without expanding anything. It also refuses
// nesting deeper than kMaxYamlDepth (its own depth counter stops the parser long before yaml-cpp's
// recursion guard would say "bad file"), an alias inside the node it names, and a key given twice
// in one mapping. kMaxYamlDepth and the alias caps are in yaml_node.hpp.
#pragma once

#include "kmslab/config/yaml_node.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kmslab::config {

// The first violation as a located error ("site.yaml:4:1: seed: duplicate key 'seed' (first at
// line 1)"), or nullopt. Only the first document is checked, as only it is loaded.
// Throws YAML::Exception on a syntax error (the caller locates it as for YAML::Load).
std::optional<ConfigError> check_yaml_bounds(std::string_view text, const std::string& name);

}  // namespace kmslab::config
