// Reading YAML configuration with errors a person can act on.
//
// Every kmslab YAML file (simulator config, scenarios, audit expectations, watch config) is read
// through ConfigNode, which remembers the file and the key path of each node. Any problem becomes
// a ConfigError naming file:line:column, the key path ("hosts[1].port"), what was expected and,
// for an unknown key, the nearest valid key ("did you mean 'priority'?").
//
// Loaders throw ConfigException internally (a config is read in one go and the first error ends
// it) and convert it to a value at their public boundary with `load_config`.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string path;  // key path inside the document, e.g. "hosts[1].port"
  std::string message;

  // "examples/corp.yaml:12:9: hosts[1].port: expected an integer in 0..65535, got 'http'"
  std::string format() const;
};

class ConfigException : public std::exception {
 public:
  explicit ConfigException(ConfigError error);
  const char* what() const noexcept override { return what_.c_str(); }
  const ConfigError& error() const noexcept { return error_; }

 private:
  ConfigError error_;
  std::string what_;
};

template <class T>
using ConfigResult = boost::system::result<T, ConfigError>;
[[noreturn]] void throw_exception_from_error(const ConfigError& e, const boost::source_location&);

class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::string file, std::string path = {});

  const YAML::Node& yaml() const noexcept { return node_; }
  const std::string& file() const noexcept { return file_; }
  const std::string& path() const noexcept { return path_; }
  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  bool is_null() const { return !node_ || node_.IsNull(); }

  // Throws ConfigException located at this node.
  [[noreturn]] void fail(std::string_view message) const;

  // REQUIRES: this is a map (else fails). Fails on the first key not in `allowed`, suggesting the
  // nearest allowed key.
  void expect_keys(std::initializer_list<std::string_view> allowed) const;
  void expect_keys(const std::vector<std::string>& allowed) const;
  void expect_map() const;
  void expect_sequence() const;

  bool has(std::string_view key) const;
  ConfigNode child(std::string_view key) const;  // fails when missing
  std::optional<ConfigNode> optional_child(std::string_view key) const;
  std::vector<ConfigNode> items() const;  // REQUIRES: sequence
  // Map entries in document order as (key, value).
  std::vector<std::pair<std::string, ConfigNode>> entries() const;

  // Scalars. Each fails with the expected type and the offending text.
  std::string as_string() const;
  bool as_bool() const;
  std::int64_t as_int(std::int64_t min, std::int64_t max) const;
  double as_double() const;
  // "250ms", "2s", "1.5s", "5m", "4h", "1d", "1w", a bare number with `bare_unit`; negative
  // allowed only with `allow_negative` ("-3h" for a clock skew).
  std::chrono::nanoseconds as_duration(std::string_view bare_unit = "ms", bool allow_negative = false) const;
  std::string as_enum(std::initializer_list<std::string_view> choices) const;
  std::vector<std::string> as_string_list() const;  // a scalar or a sequence of scalars

  // Convenience: child value or default.
  std::string get_string(std::string_view key, std::string fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::int64_t get_int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;

 private:
  YAML::Node node_;
  std::string file_;
  std::string path_;
};

// Limits that keep a hostile or mistaken file from exhausting memory.
inline constexpr std::size_t kDefaultMaxConfigBytes = 1 << 20;
// Checked on the parser's events before any node tree is built (so before anything is expanded):
// collections nested deeper than kMaxYamlDepth, more than kMaxYamlAliases aliases, or aliases that
// would expand to more than kMaxYamlAliasNodes nodes in a tree walk (a "billion laughs" file of a
// few hundred bytes expands to billions) are errors, as are an alias inside the node it names (a
// cycle) and a key given twice in one mapping. Ordinary configs nest fewer than ten levels.
inline constexpr std::size_t kMaxYamlDepth = 64;
inline constexpr std::size_t kMaxYamlAliases = 1024;
inline constexpr std::uint64_t kMaxYamlAliasNodes = 100'000;

// Reads and parses a YAML file (size-limited), then runs `read` on its root; any YAML syntax error,
// I/O error or ConfigException becomes a located ConfigError.
template <class T>
ConfigResult<T> load_config(const std::string& file, const std::function<T(const ConfigNode&)>& read,
                            std::size_t max_bytes = kDefaultMaxConfigBytes);
// The same for text already in memory (tests, control API); `name` stands in for the file name.
template <class T>
ConfigResult<T> load_config_text(std::string_view text, const std::string& name,
                                 const std::function<T(const ConfigNode&)>& read);

// Non-template core of the two loaders above.
ConfigResult<ConfigNode> parse_yaml_file(const std::string& file, std::size_t max_bytes);
ConfigResult<ConfigNode> parse_yaml_text(std::string_view text, const std::string& name);

// Parses a duration text as ConfigNode::as_duration does; nullopt when malformed.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text, std::string_view bare_unit = "ms");
// The candidate closest to `word` by edit distance, when close enough to be a plausible typo.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);

template <class T>
ConfigResult<T> load_config(const std::string& file, const std::function<T(const ConfigNode&)>& read,
                            std::size_t max_bytes) {
  auto root = parse_yaml_file(file, max_bytes);
  if (!root) return root.error();
  try {
    return read(*root);
  } catch (const ConfigException& e) {
    return e.error();
  }
}

template <class T>
ConfigResult<T> load_config_text(std::string_view text, const std::string& name,
                                 const std::function<T(const ConfigNode&)>& read) {
  auto root = parse_yaml_text(text, name);
  if (!root) return root.error();
  try {
    return read(*root);
  } catch (const ConfigException& e) {
    return e.error();
  }
}

}  // namespace kmslab::config
