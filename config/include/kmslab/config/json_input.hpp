// Reading JSON input files (audit baselines, load reports) with the same guarantees as the YAML
// inputs: a size cap (file_input.hpp), a nesting cap checked before the parser builds anything,
// and errors located as file:line:column with what was expected:
//   "before.json:3:14: not valid JSON: syntax error while parsing object - unexpected '}'; expected string literal"
// Text must be UTF-8 (the parser refuses ill-formed sequences in strings, located the same way).
#pragma once

#include "kmslab/config/yaml_node.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace kmslab::config {

inline constexpr std::size_t kMaxJsonDepth = 64;

// One JSON document, or the first error located in `text` under `name`.
ConfigResult<nlohmann::json> parse_json_input(std::string_view text, const std::string& name);

// read_file_capped, then parse_json_input.
ConfigResult<nlohmann::json> load_json_file(const std::string& path, std::size_t max_bytes);

}  // namespace kmslab::config
