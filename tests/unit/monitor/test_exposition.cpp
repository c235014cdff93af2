// The Prometheus text writer: exact output for each metric type, escaping, and a typed error for
// every class of invalid family.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kmslab/monitor/exposition.hpp"

namespace {

using namespace kmslab::monitor;
using kmslab::protocol::Errc;

std::string render_one(const MetricFamily& f) {
  auto page = render(std::span<const MetricFamily>(&f, 1));
  EXPECT_TRUE(page) << (page ? "" : page.error().message());
  return page ? *page : std::string();
}

TEST(Exposition, CounterAndGaugeWithHelpTypeAndLabels) {
  MetricFamily counter{"kmslab_probes_total", "Probes run", MetricType::counter,
                       {{{{"target", "corp"}, {"result", "success"}}, 3}}, {}};
  MetricFamily gauge{"kmslab_probe_success", "1 when a client would activate", MetricType::gauge,
                     {{{{"target", "corp"}}, 1}, {{{"target", "lab"}}, 0}}, {}};
  std::vector<MetricFamily> families{counter, gauge};
  auto page = render(families);
  ASSERT_TRUE(page);
  EXPECT_EQ(*page,
            "# HELP kmslab_probes_total Probes run\n"
            "# TYPE kmslab_probes_total counter\n"
            "kmslab_probes_total{target=\"corp\",result=\"success\"} 3\n"
            "# HELP kmslab_probe_success 1 when a client would activate\n"
            "# TYPE kmslab_probe_success gauge\n"
            "kmslab_probe_success{target=\"corp\"} 1\n"
            "kmslab_probe_success{target=\"lab\"} 0\n");
}

TEST(Exposition, HistogramBucketsAreCumulativeWithSumAndCount) {
  MetricFamily h{"kmslab_probe_phase_latency_seconds", "Latency", MetricType::histogram, {}, {}};
  h.histograms.push_back({{{"phase", "tcp.connect"}}, {0.01, 0.1, 1}, {2, 0, 3, 1}, 4.25});
  EXPECT_EQ(render_one(h),
            "# HELP kmslab_probe_phase_latency_seconds Latency\n"
            "# TYPE kmslab_probe_phase_latency_seconds histogram\n"
            "kmslab_probe_phase_latency_seconds_bucket{phase=\"tcp.connect\",le=\"0.01\"} 2\n"
            "kmslab_probe_phase_latency_seconds_bucket{phase=\"tcp.connect\",le=\"0.1\"} 2\n"
            "kmslab_probe_phase_latency_seconds_bucket{phase=\"tcp.connect\",le=\"1\"} 5\n"
            "kmslab_probe_phase_latency_seconds_bucket{phase=\"tcp.connect\",le=\"+Inf\"} 6\n"
            "kmslab_probe_phase_latency_seconds_sum{phase=\"tcp.connect\"} 4.25\n"
            "kmslab_probe_phase_latency_seconds_count{phase=\"tcp.connect\"} 6\n");
}

TEST(Exposition, HistogramWithoutLabelsHasOnlyLe) {
  MetricFamily h{"x_seconds", "h", MetricType::histogram, {}, {{{}, {1}, {0, 0}, 0}}};
  EXPECT_NE(render_one(h).find("x_seconds_bucket{le=\"1\"} 0\n"), std::string::npos);
}

TEST(Exposition, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("line1\nback\\slash \"quoted\""), "line1\\nback\\\\slash \"quoted\"");
  MetricFamily g{"g", "multi\nline", MetricType::gauge, {{{{"path", "C:\\kms \"x\""}}, 1}}, {}};
  EXPECT_EQ(render_one(g), "# HELP g multi\\nline\n# TYPE g gauge\ng{path=\"C:\\\\kms \\\"x\\\"\"} 1\n");
}

TEST(Exposition, FormatsSpecialAndLargeValues) {
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(3221549172.0), "3221549172");  // 0xC004F074 stays exact
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(-1.5), "-1.5");
  EXPECT_EQ(format_value(1e-7), "1e-07");
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2) << "round-trips exactly";
}

TEST(Exposition, NameGrammar) {
  EXPECT_TRUE(is_metric_name("kmslab:rule_5m"));
  EXPECT_TRUE(is_metric_name("_x1"));
  EXPECT_FALSE(is_metric_name("1x"));
  EXPECT_FALSE(is_metric_name("kmslab-probe"));
  EXPECT_FALSE(is_metric_name(""));
  EXPECT_TRUE(is_label_name("target"));
  EXPECT_FALSE(is_label_name("a:b"));
  EXPECT_FALSE(is_label_name("0a"));
}

struct BadCase {
  const char* what;
  MetricFamily family;
};

TEST(Exposition, RejectsEveryInvalidFamilyWithATypedError) {
  const std::vector<BadCase> cases{
      {"bad metric name", {"kmslab-x", "h", MetricType::gauge, {}, {}}},
      {"reserved metric name", {"__x", "h", MetricType::gauge, {}, {}}},
      {"counter without _total", {"kmslab_probes", "h", MetricType::counter, {}, {}}},
      {"negative counter", {"x_total", "h", MetricType::counter, {{{}, -1}}, {}}},
      {"NaN counter", {"x_total", "h", MetricType::counter, {{{}, std::nan("")}}, {}}},
      {"bad label name", {"g", "h", MetricType::gauge, {{{{"a-b", "v"}}, 1}}, {}}},
      {"reserved label name", {"g", "h", MetricType::gauge, {{{{"__name__", "v"}}, 1}}, {}}},
      {"duplicate label", {"g", "h", MetricType::gauge, {{{{"a", "1"}, {"a", "2"}}, 1}}, {}}},
      {"le on a histogram", {"h_seconds", "h", MetricType::histogram, {}, {{{{"le", "1"}}, {1}, {0, 0}, 0}}}},
      {"count size", {"h_seconds", "h", MetricType::histogram, {}, {{{}, {1, 2}, {0, 0}, 0}}}},
      {"bounds not increasing", {"h_seconds", "h", MetricType::histogram, {}, {{{}, {2, 1}, {0, 0, 0}, 0}}}},
      {"infinite bound", {"h_seconds", "h", MetricType::histogram, {}, {{{}, {INFINITY}, {0, 0}, 0}}}},
      {"plain sample on histogram", {"h_seconds", "h", MetricType::histogram, {{{}, 1}}, {}}},
      {"histogram sample on gauge", {"g", "h", MetricType::gauge, {}, {{{}, {1}, {0, 0}, 0}}}},
  };
  for (const auto& c : cases) {
    auto page = render(std::span<const MetricFamily>(&c.family, 1));
    ASSERT_FALSE(page) << c.what;
    EXPECT_EQ(page.error().code, Errc::bad_value) << c.what;
    EXPECT_FALSE(page.error().detail.empty()) << c.what;
  }
}

TEST(Exposition, RejectsAFamilyNamedTwiceAndSaysWhichIndex) {
  std::vector<MetricFamily> families{{"g", "h", MetricType::gauge, {}, {}}, {"g", "h", MetricType::gauge, {}, {}}};
  auto page = render(families);
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().offset, 1u);
  EXPECT_NE(page.error().detail.find("twice"), std::string::npos);
}

TEST(Exposition, EmptyFamilyStillDeclaresHelpAndType) {
  EXPECT_EQ(render_one({"g", "h", MetricType::gauge, {}, {}}), "# HELP g h\n# TYPE g gauge\n");
}

}  // namespace
