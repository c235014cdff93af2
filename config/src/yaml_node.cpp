#include "kmslab/config/yaml_node.hpp"

#include "kmslab/config/file_input.hpp"
#include "kmslab/config/yaml_guard.hpp"
#include "kmslab/protocol/utf16.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kmslab::config {

std::string ConfigError::format() const {
  std::string where = file.empty() ? std::string("<config>") : file;
  if (line > 0) where += fmt::format(":{}:{}", line, column);
  if (path.empty()) return fmt::format("{}: {}", where, message);
  return fmt::format("{}: {}: {}", where, path, message);
}

ConfigException::ConfigException(ConfigError error) : error_(std::move(error)), what_(error_.format()) {}

void throw_exception_from_error(const ConfigError& e, const boost::source_location&) {
  throw ConfigException(e);
}

ConfigNode::ConfigNode(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

void ConfigNode::fail(std::string_view message) const {
  ConfigError e{file_, 0, 0, path_, std::string(message)};
  if (node_ && node_.Mark().line >= 0) {
    e.line = node_.Mark().line + 1;
    e.column = node_.Mark().column + 1;
  }
  throw ConfigException(std::move(e));
}

namespace {
std::string describe(const YAML::Node& n) {
  if (!n || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return fmt::format("'{}'", n.Scalar());
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join_path(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : fmt::format("{}.{}", base, key);
}
}  // namespace

std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (!best || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  // A typo is at most a third of the word away (and at least one edit is always allowed).
  if (best && best_distance <= std::max<std::size_t>(2, word.size() / 3)) return best;
  return std::nullopt;
}

void ConfigNode::expect_map() const {
  if (!node_.IsMap()) fail(fmt::format("expected a mapping of keys, got {}", describe(node_)));
}

void ConfigNode::expect_sequence() const {
  if (!node_.IsSequence()) fail(fmt::format("expected a list, got {}", describe(node_)));
}

void ConfigNode::expect_keys(std::initializer_list<std::string_view> allowed) const {
  expect_keys(std::vector<std::string>(allowed.begin(), allowed.end()));
}

void ConfigNode::expect_keys(const std::vector<std::string>& allowed) const {
  expect_map();
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    ConfigNode at(kv.first, file_, join_path(path_, key));
    if (auto guess = nearest(key, allowed))
      at.fail(fmt::format("unknown key '{}' (did you mean '{}'?)", key, *guess));
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    at.fail(fmt::format("unknown key '{}' (valid keys: {})", key, list));
  }
}

bool ConfigNode::has(std::string_view key) const {
  if (!node_.IsMap()) return false;
  const YAML::Node& n = node_;
  return static_cast<bool>(n[std::string(key)]);
}

ConfigNode ConfigNode::child(std::string_view key) const {
  auto c = optional_child(key);
  if (!c) fail(fmt::format("missing required key '{}'", key));
  return *c;
}

std::optional<ConfigNode> ConfigNode::optional_child(std::string_view key) const {
  expect_map();
  const YAML::Node& n = node_;
  YAML::Node c = n[std::string(key)];
  if (!c) return std::nullopt;
  return ConfigNode(c, file_, join_path(path_, key));
}

std::vector<ConfigNode> ConfigNode::items() const {
  expect_sequence();
  std::vector<ConfigNode> out;
  std::size_t i = 0;
  for (const auto& item : node_) out.emplace_back(item, file_, fmt::format("{}[{}]", path_, i++));
  return out;
}

std::vector<std::pair<std::string, ConfigNode>> ConfigNode::entries() const {
  expect_map();
  std::vector<std::pair<std::string, ConfigNode>> out;
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    out.emplace_back(key, ConfigNode(kv.second, file_, join_path(path_, key)));
  }
  return out;
}

std::string ConfigNode::as_string() const {
  if (!node_.IsScalar()) fail(fmt::format("expected a text value, got {}", describe(node_)));
  return node_.Scalar();
}

bool ConfigNode::as_bool() const {
  if (node_.IsScalar()) {
    std::string s = node_.Scalar();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  fail(fmt::format("expected true or false, got {}", describe(node_)));
}

std::int64_t ConfigNode::as_int(std::int64_t min, std::int64_t max) const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    std::int64_t v = 0;
    int base = 10;
    std::string_view digits = s;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      base = 16;
      digits.remove_prefix(2);
    }
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (ec == std::errc() && ptr == digits.data() + digits.size() && !digits.empty()) {
      if (v < min || v > max) fail(fmt::format("expected an integer in {}..{}, got {}", min, max, s));
      return v;
    }
  }
  fail(fmt::format("expected an integer in {}..{}, got {}", min, max, describe(node_)));
}

double ConfigNode::as_double() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0 && std::isfinite(v)) return v;
  }
  fail(fmt::format("expected a number, got {}", describe(node_)));
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text, std::string_view bare_unit) {
  struct Unit {
    std::string_view name;
    double ns;
  };
  static constexpr Unit kUnits[] = {{"ns", 1},         {"us", 1e3},        {"ms", 1e6},
                                    {"s", 1e9},        {"m", 60e9},        {"min", 60e9},
                                    {"h", 3600e9},     {"d", 86400e9},     {"w", 604800e9}};
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  if (t.empty()) return std::nullopt;
  std::size_t split = 0;
  while (split < t.size() && (std::isdigit(static_cast<unsigned char>(t[split])) || t[split] == '.' ||
                              (split == 0 && (t[split] == '-' || t[split] == '+'))))
    ++split;
  const std::string number(t.substr(0, split));
  std::string_view unit = t.substr(split);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.remove_prefix(1);
  if (unit.empty()) unit = bare_unit;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || errno != 0) return std::nullopt;
  for (const auto& u : kUnits) {
    if (u.name == unit) {
      const double ns = value * u.ns;
      if (!std::isfinite(ns) || std::fabs(ns) > 9.0e18) return std::nullopt;
      return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(ns)));
    }
  }
  return std::nullopt;
}

std::chrono::nanoseconds ConfigNode::as_duration(std::string_view bare_unit, bool allow_negative) const {
  if (node_.IsScalar()) {
    if (auto d = parse_duration(node_.Scalar(), bare_unit)) {
      if (d->count() < 0 && !allow_negative) fail(fmt::format("expected a duration >= 0, got {}", describe(node_)));
      return *d;
    }
  }
  fail(fmt::format("expected a duration such as 250ms, 2s, 5m, 4h (a bare number means {}), got {}", bare_unit,
                   describe(node_)));
}

std::string ConfigNode::as_enum(std::initializer_list<std::string_view> choices) const {
  const std::string s = as_string();
  for (auto c : choices)
    if (c == s) return s;
  std::vector<std::string> list(choices.begin(), choices.end());
  std::string joined;
  for (const auto& c : list) joined += (joined.empty() ? "" : ", ") + c;
  if (auto guess = nearest(s, list)) fail(fmt::format("unknown value '{}' (did you mean '{}'? one of: {})", s, *guess, joined));
  fail(fmt::format("unknown value '{}' (one of: {})", s, joined));
}

std::vector<std::string> ConfigNode::as_string_list() const {
  if (node_.IsScalar()) return {node_.Scalar()};
  std::vector<std::string> out;
  for (const auto& item : items()) out.push_back(item.as_string());
  return out;
}

std::string ConfigNode::get_string(std::string_view key, std::string fallback) const {
  auto c = optional_child(key);
  return c ? c->as_string() : std::move(fallback);
}
bool ConfigNode::get_bool(std::string_view key, bool fallback) const {
  auto c = optional_child(key);
  return c ? c->as_bool() : fallback;
}
std::int64_t ConfigNode::get_int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const {
  auto c = optional_child(key);
  return c ? c->as_int(min, max) : fallback;
}

ConfigResult<ConfigNode> parse_yaml_text(std::string_view text, const std::string& name) {
  // YAML is UTF-8 here; a stray byte would otherwise travel in a name or a string into every
  // report and JSON line that shows it, so it is refused where it can still be located.
  if (const std::size_t bad = protocol::find_invalid_utf8(text); bad != std::string_view::npos) {
    const std::size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    const std::size_t from = line_start == std::string_view::npos || bad == 0 ? 0 : line_start + 1;
    int line = 1;
    for (std::size_t i = 0; i < from; ++i) line += text[i] == '\n' ? 1 : 0;
    int column = 1;  // in characters, as YAML's own marks count them
    for (std::size_t i = from; i < bad; i += protocol::utf8_sequence_length(text, i)) ++column;
    return ConfigError{name, line, column, "",
                       fmt::format("expected UTF-8 text, got the byte 0x{:02x}",
                                   static_cast<unsigned char>(text[bad]))};
  }
  try {
    // Bounds first: building the tree is safe, but the readers that walk it are not.
    if (auto bounds = check_yaml_bounds(text, name)) return *bounds;
    YAML::Node root = YAML::Load(std::string(text));
    if (!root || root.IsNull()) return ConfigError{name, 0, 0, "", "the document is empty"};
    return ConfigNode(root, name);
  } catch (const YAML::Exception& e) {
    return ConfigError{name, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0,
                       "", fmt::format("YAML syntax error: {}", e.msg)};
  }
}

ConfigResult<ConfigNode> parse_yaml_file(const std::string& file, std::size_t max_bytes) {
  auto text = read_file_capped(file, max_bytes);
  if (!text) return text.error();
  return parse_yaml_text(*text, file);
}

}  // namespace kmslab::config
