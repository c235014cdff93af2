// The Prometheus text format: validation first, then one pass of appends.
#include "kmslab/monitor/exposition.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <set>

namespace kmslab::monitor {

namespace p = kmslab::protocol;

MetricFamily family(std::string name, MetricType type, std::string help) {
  MetricFamily f;
  f.name = std::move(name);
  f.type = type;
  f.help = std::move(help);
  return f;
}

std::string_view to_string(MetricType type) noexcept {
  switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
  }
  return "untyped";
}

namespace {

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon)) return false;
  return true;
}

p::Error bad(std::size_t index, std::string detail) { return p::make_error(p::Errc::bad_value, index, std::move(detail)); }

std::optional<std::string> check_labels(const Labels& labels, bool histogram) {
  std::set<std::string_view> seen;
  for (const auto& [name, value] : labels) {
    (void)value;
    if (!is_label_name(name)) return fmt::format("label name '{}' is not [a-zA-Z_][a-zA-Z0-9_]*", name);
    if (name.starts_with("__")) return fmt::format("label name '{}' is reserved (starts with __)", name);
    if (histogram && name == "le") return std::string("label 'le' is reserved for histogram buckets");
    if (!seen.insert(name).second) return fmt::format("label '{}' appears twice", name);
  }
  return std::nullopt;
}

std::optional<std::string> check_family(const MetricFamily& f) {
  if (!is_metric_name(f.name)) return fmt::format("metric name '{}' is not [a-zA-Z_:][a-zA-Z0-9_:]*", f.name);
  if (f.name.starts_with("__")) return fmt::format("metric name '{}' is reserved (starts with __)", f.name);
  if (f.type == MetricType::counter && !f.name.ends_with("_total"))
    return fmt::format("counter '{}' must end in _total", f.name);
  if (f.type == MetricType::histogram) {
    if (!f.samples.empty()) return fmt::format("histogram '{}' has plain samples", f.name);
    for (const auto& h : f.histograms) {
      if (auto e = check_labels(h.labels, true)) return fmt::format("{}: {}", f.name, *e);
      if (h.counts.size() != h.bounds.size() + 1)
        return fmt::format("{}: {} bucket counts for {} bounds (need bounds + 1)", f.name, h.counts.size(), h.bounds.size());
      for (std::size_t i = 0; i < h.bounds.size(); ++i) {
        if (!std::isfinite(h.bounds[i])) return fmt::format("{}: bucket bound {} is not finite", f.name, i);
        if (i > 0 && !(h.bounds[i] > h.bounds[i - 1]))
          return fmt::format("{}: bucket bounds must increase strictly ({} after {})", f.name, format_value(h.bounds[i]),
                             format_value(h.bounds[i - 1]));
      }
      if (std::isnan(h.sum)) return fmt::format("{}: sum is NaN", f.name);
    }
    return std::nullopt;
  }
  if (!f.histograms.empty()) return fmt::format("{} '{}' has histogram samples", to_string(f.type), f.name);
  for (const auto& s : f.samples) {
    if (auto e = check_labels(s.labels, false)) return fmt::format("{}: {}", f.name, *e);
    if (f.type == MetricType::counter && (std::isnan(s.value) || s.value < 0))
      return fmt::format("counter '{}' has value {} (must be >= 0)", f.name, format_value(s.value));
  }
  return std::nullopt;
}

void append_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    fmt::format_to(std::back_inserter(out), "{}=\"{}\"", name, escape_label_value(value));
  }
  if (!le.empty()) fmt::format_to(std::back_inserter(out), "{}le=\"{}\"", first ? "" : ",", le);
  out += '}';
}

void append_sample(std::string& out, std::string_view name, const Labels& labels, double value,
                   std::string_view le = {}) {
  out += name;
  append_labels(out, labels, le);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

}  // namespace

bool is_metric_name(std::string_view name) noexcept { return valid_name(name, true); }
bool is_label_name(std::string_view name) noexcept { return valid_name(name, false); }

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers (counts, HRESULTs up to 2^32) print without an exponent; fmt's shortest
  // round-trip form does the rest.
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{:.0f}", value);
  return fmt::format("{}", value);
}

p::Result<std::string> render(std::span<const MetricFamily> families) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < families.size(); ++i) {
    const auto& f = families[i];
    if (auto e = check_family(f)) return bad(i, *e);
    if (!names.insert(f.name).second) return bad(i, fmt::format("metric family '{}' appears twice", f.name));
  }
  std::string out;
  for (const auto& f : families) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", f.name, escape_help(f.help), f.name,
                   to_string(f.type));
    for (const auto& s : f.samples) append_sample(out, f.name, s.labels, s.value);
    const std::string bucket = f.name + "_bucket";
    for (const auto& h : f.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < h.bounds.size(); ++b) {
        cumulative += h.counts[b];
        append_sample(out, bucket, h.labels, static_cast<double>(cumulative), format_value(h.bounds[b]));
      }
      cumulative += h.counts.back();
      append_sample(out, bucket, h.labels, static_cast<double>(cumulative), "+Inf");
      append_sample(out, f.name + "_sum", h.labels, h.sum);
      append_sample(out, f.name + "_count", h.labels, static_cast<double>(cumulative));
    }
  }
  return out;
}

}  // namespace kmslab::monitor
