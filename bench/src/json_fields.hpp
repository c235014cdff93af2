// Private helpers for reading kmslab::bench JSON documents: each returns the field or an Error
// naming the path of the offending field ("report.counts.ok: expected an unsigned integer"), so
// a bad file from another machine is diagnosed without reading the code.
#pragma once

#include "kmslab/bench/error.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace kmslab::bench::detail {

using nlohmann::json;

inline Error field_error(const std::string& path, const std::string& what) {
  return make_error(Errc::bad_json, path + ": " + what);
}

inline Result<const json*> member(const json& object, const std::string& path, const char* key) {
  if (!object.is_object()) return field_error(path, "expected an object");
  auto it = object.find(key);
  if (it == object.end()) return field_error(path + "." + key, "missing");
  return &*it;
}

inline Result<std::uint64_t> as_u64(const json& value, const std::string& path) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  return field_error(path, "expected an unsigned integer");
}

inline Result<std::int64_t> as_i64(const json& value, const std::string& path) {
  if (value.is_number_unsigned()) {
    auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return field_error(path, "integer out of range");
    return static_cast<std::int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  return field_error(path, "expected an integer");
}

inline Result<double> as_number(const json& value, const std::string& path) {
  if (!value.is_number()) return field_error(path, "expected a number");
  double d = value.get<double>();
  if (!std::isfinite(d)) return field_error(path, "expected a finite number");
  return d;
}

inline Result<std::string> as_string(const json& value, const std::string& path) {
  if (!value.is_string()) return field_error(path, "expected a string");
  return value.get<std::string>();
}

inline Result<std::uint64_t> get_u64(const json& object, const std::string& path, const char* key) {
  auto m = member(object, path, key);
  if (!m) return m.error();
  return as_u64(**m, path + "." + key);
}

inline Result<std::int64_t> get_i64(const json& object, const std::string& path, const char* key) {
  auto m = member(object, path, key);
  if (!m) return m.error();
  return as_i64(**m, path + "." + key);
}

inline Result<double> get_number(const json& object, const std::string& path, const char* key) {
  auto m = member(object, path, key);
  if (!m) return m.error();
  return as_number(**m, path + "." + key);
}

// A time or a rate: finite and not negative.
inline Result<double> get_non_negative(const json& object, const std::string& path, const char* key) {
  auto v = get_number(object, path, key);
  if (!v) return v;
  if (*v < 0) return field_error(path + "." + key, fmt::format("expected a number >= 0, got {:g}", *v));
  return v;
}

inline Result<std::string> get_string(const json& object, const std::string& path, const char* key) {
  auto m = member(object, path, key);
  if (!m) return m.error();
  return as_string(**m, path + "." + key);
}

}  // namespace kmslab::bench::detail
