#include "kmslab/config/yaml_guard.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace kmslab::config {
namespace {

// Thrown from the event handler to stop the parser at the first violation.
struct YamlBoundsStop {
  ConfigError error;
};

class YamlBoundsHandler final : public YAML::EventHandler {
 public:
  explicit YamlBoundsHandler(const std::string& name) : name_(name) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    leaf(mark, anchor, &value);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const std::string path = child_path(nullptr);
    if (++aliases_ > kMaxYamlAliases)
      stop(mark, path, fmt::format("too many aliases ({} > {})", aliases_, kMaxYamlAliases));
    const auto it = weights_.find(anchor);
    // yaml-cpp resolves the name itself and throws on an unknown one; an anchor still open is
    // one whose node contains this alias.
    if (it == weights_.end() || it->second == kOpen)
      stop(mark, path, "an alias refers to the node that contains it (a cycle)");
    alias_nodes_ += it->second;
    if (alias_nodes_ > kMaxYamlAliasNodes)
      stop(mark, path,
           fmt::format("aliases expand to more than {} nodes (nested aliases multiply: each level repeats the one "
                       "below)",
                       kMaxYamlAliasNodes));
    nodes_ += it->second;
    if (!key_position()) child_done();
    else child_done_key(std::string{});
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  static constexpr std::uint64_t kOpen = std::numeric_limits<std::uint64_t>::max();

  struct Frame {
    bool is_map = false;
    bool at_key = true;  // maps: the next node is a key
    std::size_t index = 0;
    std::string path;
    std::string key;  // maps: the key whose value comes next
    std::unordered_map<std::string, int> key_lines;
    YAML::anchor_t anchor = YAML::NullAnchor;
    std::uint64_t nodes_before = 0;
  };

  [[noreturn]] void stop(const YAML::Mark& mark, std::string path, std::string message) const {
    throw YamlBoundsStop{ConfigError{name_, mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0,
                                     std::move(path), std::move(message)}};
  }

  bool key_position() const { return !stack_.empty() && stack_.back().is_map && stack_.back().at_key; }

  // The key path of the node that starts now; `key_text` is its text when it is a scalar key.
  std::string child_path(const std::string* key_text) const {
    if (stack_.empty()) return {};
    const Frame& f = stack_.back();
    const auto join = [&](std::string_view k) { return f.path.empty() ? std::string(k) : fmt::format("{}.{}", f.path, k); };
    if (!f.is_map) return fmt::format("{}[{}]", f.path, f.index);
    if (f.at_key) return join(key_text != nullptr ? std::string_view(*key_text) : std::string_view("?"));
    return join(f.key);
  }

  void child_done() {
    if (stack_.empty()) return;
    Frame& f = stack_.back();
    if (f.is_map) f.at_key = !f.at_key;
    else ++f.index;
  }
  void child_done_key(std::string key) {
    Frame& f = stack_.back();
    f.key = std::move(key);
    f.at_key = false;
  }

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, const std::string* value) {
    ++nodes_;
    if (anchor != YAML::NullAnchor) weights_[anchor] = 1;
    if (!key_position()) return child_done();
    const std::string key = value != nullptr ? *value : std::string("~");
    const auto [it, fresh] = stack_.back().key_lines.emplace(key, mark.line + 1);
    if (!fresh)
      stop(mark, child_path(&key), fmt::format("duplicate key '{}' (first at line {})", key, it->second));
    child_done_key(key);
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    const std::string path = child_path(nullptr);
    if (stack_.size() + 1 > kMaxYamlDepth)
      stop(mark, path, fmt::format("nested deeper than {} levels (the limit)", kMaxYamlDepth));
    ++nodes_;
    if (anchor != YAML::NullAnchor) weights_[anchor] = kOpen;
    Frame f;
    f.is_map = is_map;
    f.path = path;
    f.anchor = anchor;
    f.nodes_before = nodes_ - 1;
    stack_.push_back(std::move(f));
  }

  void close() {
    const Frame& f = stack_.back();
    if (f.anchor != YAML::NullAnchor) weights_[f.anchor] = nodes_ - f.nodes_before;
    const bool was_key = stack_.size() >= 2 && stack_[stack_.size() - 2].is_map && stack_[stack_.size() - 2].at_key;
    stack_.pop_back();
    if (was_key) child_done_key("?");  // a collection as a key: nothing to compare
    else child_done();
  }

  const std::string& name_;
  std::vector<Frame> stack_;
  // Nodes a tree walk visits so far, counting each alias as the nodes it stands for; per anchor,
  // the nodes its node holds (kOpen while the node is still being read).
  std::uint64_t nodes_ = 0;
  std::unordered_map<YAML::anchor_t, std::uint64_t> weights_;
  std::size_t aliases_ = 0;
  std::uint64_t alias_nodes_ = 0;
};

}  // namespace

std::optional<ConfigError> check_yaml_bounds(std::string_view text, const std::string& name) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  YamlBoundsHandler handler(name);
  try {
    parser.HandleNextDocument(handler);
  } catch (const YamlBoundsStop& stop) {
    return stop.error;
  }
  return std::nullopt;
}

}  // namespace kmslab::config
