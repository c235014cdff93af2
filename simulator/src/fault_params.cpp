#include "fault_params.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace kmslab::simulator::detail {

std::string describe_json(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::string: return fmt::format("the string \"{}\"", value.get<std::string>());
    case nlohmann::json::value_t::array: return "a list";
    case nlohmann::json::value_t::object: return "an object";
    default: return fmt::format("the number {}", value.dump());
  }
}

ParamReader::ParamReader(const nlohmann::json& params, std::string_view action, std::vector<std::string> allowed)
    : params_(params), action_(action) {
  if (!params_.is_object()) {
    fail("", fmt::format("params of '{}' must be an object, got {}", action_, describe_json(params_)));
    return;
  }
  for (const auto& [key, value] : params_.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    if (allowed.empty()) {
      fail(key, fmt::format("action '{}' takes no params", action_));
    } else if (auto guess = config::nearest(key, allowed)) {
      fail(key, fmt::format("unknown param of '{}' (did you mean '{}'?)", action_, *guess));
    } else {
      fail(key, fmt::format("unknown param of '{}' (it takes: {})", action_, list));
    }
    return;
  }
}

const nlohmann::json* ParamReader::find(const char* key) const {
  if (!params_.is_object()) return nullptr;
  auto it = params_.find(key);
  return it == params_.end() ? nullptr : &*it;
}

bool ParamReader::has(const char* key) const { return find(key) != nullptr; }

void ParamReader::fail(const std::string& key, std::string message) {
  if (error_) return;  // the first error is the one reported
  error_ = FaultError{key.empty() ? "params" : "params." + key, std::move(message)};
}

bool ParamReader::wrong_type(const char* key, const nlohmann::json& value, std::string_view expected) {
  fail(key, fmt::format("expected {}, got {}", expected, describe_json(value)));
  return false;
}

bool ParamReader::u64(const char* key, std::uint64_t& out, std::uint64_t min, std::uint64_t max, bool required,
                      bool hex_ok) {
  if (error_) return false;
  const auto* v = find(key);
  const std::string expected = fmt::format("a whole number in {}..{}{}", min, max, hex_ok ? " (or \"0x...\")" : "");
  if (!v) {
    if (required) fail(key, fmt::format("action '{}' needs '{}': {}", action_, key, expected));
    return !required;
  }
  std::uint64_t value = 0;
  if (v->is_number_unsigned()) {
    value = v->get<std::uint64_t>();
  } else if (v->is_number_integer()) {
    return wrong_type(key, *v, expected);  // negative
  } else if (v->is_string() && hex_ok) {
    const auto text = v->get<std::string>();
    const bool prefixed = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const char* first = text.data() + (prefixed ? 2 : 0);
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, value, prefixed ? 16 : 10);
    if (ec != std::errc() || end != last || first == last) return wrong_type(key, *v, expected);
  } else {
    return wrong_type(key, *v, expected);
  }
  if (value < min || value > max) return wrong_type(key, *v, expected);
  out = value;
  return true;
}

bool ParamReader::i64(const char* key, std::int64_t& out, std::int64_t min, std::int64_t max, bool required) {
  if (error_) return false;
  const auto* v = find(key);
  const std::string expected = fmt::format("a whole number in {}..{}", min, max);
  if (!v) {
    if (required) fail(key, fmt::format("action '{}' needs '{}': {}", action_, key, expected));
    return !required;
  }
  if (!v->is_number_integer()) return wrong_type(key, *v, expected);
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max))
    return wrong_type(key, *v, expected);
  const auto value = v->get<std::int64_t>();
  if (value < min || value > max) return wrong_type(key, *v, expected);
  out = value;
  return true;
}

bool ParamReader::string(const char* key, std::string& out, bool required) {
  if (error_) return false;
  const auto* v = find(key);
  if (!v) {
    if (required) fail(key, fmt::format("action '{}' needs '{}' (a string)", action_, key));
    return !required;
  }
  if (!v->is_string()) return wrong_type(key, *v, "a string");
  out = v->get<std::string>();
  return true;
}

bool ParamReader::optional_string(const char* key, std::optional<std::string>& out) {
  if (!has(key)) return !error_;
  std::string s;
  if (!string(key, s, true)) return false;
  out = std::move(s);
  return true;
}

bool ParamReader::string_list(const char* key, std::vector<std::string>& out, bool required) {
  if (error_) return false;
  const auto* v = find(key);
  if (!v) {
    if (required) fail(key, fmt::format("action '{}' needs '{}' (a list of strings)", action_, key));
    return !required;
  }
  if (v->is_string()) {
    out = {v->get<std::string>()};
    return true;
  }
  if (!v->is_array()) return wrong_type(key, *v, "a list of strings");
  out.clear();
  for (const auto& item : *v) {
    if (!item.is_string()) return wrong_type(key, item, "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return true;
}

}  // namespace kmslab::simulator::detail

namespace kmslab::simulator::detail {

FaultResult<FaultParams> parse_no_params(const nlohmann::json& params, std::string_view action) {
  ParamReader r(params, action, {});
  if (!r.ok()) return r.error();
  return FaultParams{NoParams{}};
}

nlohmann::json no_params_json(const FaultParams&) { return nlohmann::json::object(); }

FaultResult<FaultParams> parse_delay(const nlohmann::json& params, std::string_view action) {
  ParamReader r(params, action, {"delay_ms", "jitter_ms"});
  DelayParams p;
  const auto max = static_cast<std::uint64_t>(kMaxFaultDelay.count());
  r.unsigned_field("delay_ms", p.delay_ms, 0, max, true);
  r.unsigned_field("jitter_ms", p.jitter_ms, 0, max);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}

nlohmann::json delay_json(const FaultParams& params) {
  const auto& p = std::get<DelayParams>(params);
  nlohmann::json j = {{"delay_ms", p.delay_ms}};
  if (p.jitter_ms) j["jitter_ms"] = p.jitter_ms;
  return j;
}

}  // namespace kmslab::simulator::detail
