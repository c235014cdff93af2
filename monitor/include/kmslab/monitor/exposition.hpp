// Prometheus text exposition format (version 0.0.4), written by hand.
//
// A metric family is a name, a HELP line, a TYPE (counter, gauge or histogram) and its samples.
// render() checks everything Prometheus' parser (and `promtool check metrics`) would reject before
// writing a byte, so a scrape never serves a half-valid page: metric and label names must match the
// grammar, a family name appears once, a sample's label names are unique and not reserved (`__`
// prefix; `le` on a histogram), a counter's name ends in `_total` and its value is not negative,
// histogram bounds are finite and strictly increasing with one count per bucket plus the +Inf one.
// Label values and HELP text are escaped (backslash, double quote, newline); values are printed
// with 17 significant digits, "+Inf", "-Inf" or "NaN". Histograms are given per-bucket (not
// cumulative) counts; the writer accumulates them into `_bucket{le=...}`, `_sum` and `_count`.
// Everything here is pure and thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kmslab/protocol/error.hpp"

namespace kmslab::monitor {

enum class MetricType : std::uint8_t { counter, gauge, histogram };
std::string_view to_string(MetricType type) noexcept;

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  Labels labels;
  double value = 0;
};

struct HistogramSample {
  Labels labels;
  std::vector<double> bounds;         // upper bounds, strictly increasing, finite
  std::vector<std::uint64_t> counts;  // per bucket: bounds.size() + 1 (the last is above every bound)
  double sum = 0;
};

struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::gauge;
  std::vector<Sample> samples;               // counter, gauge
  std::vector<HistogramSample> histograms;   // histogram
};

// An empty family, samples to be added.
MetricFamily family(std::string name, MetricType type, std::string help);

// The Content-Type of a page render() writes.
inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

bool is_metric_name(std::string_view name) noexcept;  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_label_name(std::string_view name) noexcept;   // [a-zA-Z_][a-zA-Z0-9_]*

std::string escape_label_value(std::string_view value);  // \ -> \\, " -> \", newline -> \n
std::string escape_help(std::string_view help);          // \ -> \\, newline -> \n
std::string format_value(double value);                  // shortest exact form; +Inf, -Inf, NaN

// Errors (Errc::bad_value, `detail` names the family and what is wrong; `offset` is the index of
// the offending family): the rules in the paragraph above. On error nothing is returned.
protocol::Result<std::string> render(std::span<const MetricFamily> families);

}  // namespace kmslab::monitor
