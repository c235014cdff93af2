// Reading an action's `params` object with errors that name the parameter (internal).
#pragma once

#include "kmslab/simulator/fault.hpp"
#include "kmslab/simulator/fault_actions.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kmslab::simulator::detail {

// Wraps one params object. Every accessor returns false (and records the first error) instead of
// throwing, so an action's parser reads as a list of fields and ends with `return r.finish(value)`.
class ParamReader {
 public:
  ParamReader(const nlohmann::json& params, std::string_view action, std::vector<std::string> allowed);

  // Whole numbers (a JSON integer, or a string "0x..." when `hex_ok`), checked against [min, max].
  bool u64(const char* key, std::uint64_t& out, std::uint64_t min, std::uint64_t max, bool required = false,
           bool hex_ok = false);
  bool i64(const char* key, std::int64_t& out, std::int64_t min, std::int64_t max, bool required = false);
  template <class T>
  bool unsigned_field(const char* key, T& out, std::uint64_t min, std::uint64_t max, bool required = false,
                      bool hex_ok = false) {
    std::uint64_t v = out;
    if (!u64(key, v, min, max, required, hex_ok)) return false;
    out = static_cast<T>(v);
    return true;
  }
  template <class T>
  bool optional_unsigned(const char* key, std::optional<T>& out, std::uint64_t min, std::uint64_t max) {
    if (!has(key)) return true;
    std::uint64_t v = 0;
    if (!u64(key, v, min, max, true)) return false;
    out = static_cast<T>(v);
    return true;
  }
  bool string(const char* key, std::string& out, bool required = false);
  bool optional_string(const char* key, std::optional<std::string>& out);
  bool string_list(const char* key, std::vector<std::string>& out, bool required = false);

  bool has(const char* key) const;
  bool ok() const noexcept { return !error_; }
  // Records an error for `key` (used by parsers for cross-field checks).
  void fail(const std::string& key, std::string message);
  const FaultError& error() const { return *error_; }

 private:
  const nlohmann::json* find(const char* key) const;
  bool wrong_type(const char* key, const nlohmann::json& value, std::string_view expected);

  const nlohmann::json& params_;
  std::string action_;
  std::optional<FaultError> error_;
};

// "a string", "a list", "the number 5", ... for messages.
std::string describe_json(const nlohmann::json& value);

}  // namespace kmslab::simulator::detail

namespace kmslab::simulator::detail {

// Parsers and printers shared by several targets' actions.
FaultResult<FaultParams> parse_no_params(const nlohmann::json& params, std::string_view action);
nlohmann::json no_params_json(const FaultParams& params);
FaultResult<FaultParams> parse_delay(const nlohmann::json& params, std::string_view action);
nlohmann::json delay_json(const FaultParams& params);

}  // namespace kmslab::simulator::detail
