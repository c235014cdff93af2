#include "nanoseconds.hpp"
#include "kmslab/bench/histogram.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace kmslab::bench {
namespace {

using test::kUs;
using test::kMs;
using test::kS;

// Reference: the nearest-rank percentile of the exact values.
std::int64_t reference_percentile(const std::vector<std::int64_t>& sorted, double p) {
  return sorted[percentile_rank(p, sorted.size()) - 1];
}

struct Distribution {
  const char* name;
  std::function<std::int64_t(std::mt19937_64&)> draw;
};

std::vector<Distribution> distributions() {
  return {
      {"uniform 1us..10ms",
       [](std::mt19937_64& rng) { return std::uniform_int_distribution<std::int64_t>(kUs, 10 * kMs)(rng); }},
      {"lognormal median 500us",
       [](std::mt19937_64& rng) {
         return static_cast<std::int64_t>(std::lognormal_distribution<double>(std::log(500e3), 1.0)(rng));
       }},
      {"exponential mean 2ms",
       [](std::mt19937_64& rng) {
         return kUs + static_cast<std::int64_t>(std::exponential_distribution<double>(1.0 / 2e6)(rng));
       }},
      {"bimodal 100us / 50ms",
       [](std::mt19937_64& rng) {
         const bool slow = std::bernoulli_distribution(0.1)(rng);
         std::normal_distribution<double> d(slow ? 50e6 : 100e3, slow ? 5e6 : 10e3);
         return std::max<std::int64_t>(kUs, static_cast<std::int64_t>(d(rng)));
       }},
      {"pareto tail from 50us",
       [](std::mt19937_64& rng) {
         const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
         return std::min<std::int64_t>(60 * kS, static_cast<std::int64_t>(50e3 / std::pow(1.0 - u, 1.0 / 1.2)));
       }},
      {"small exact values 1000..2047ns",
       [](std::mt19937_64& rng) { return std::uniform_int_distribution<std::int64_t>(1000, 2047)(rng); }},
  };
}

const double kPercentiles[] = {0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100};

TEST(Histogram, PercentilesMatchSortedReferenceWithinOneTenthPercent) {
  std::uint64_t seed = 11;
  for (const auto& dist : distributions()) {
    std::mt19937_64 rng(seed++);
    Histogram h;
    std::vector<std::int64_t> values(50'000);
    for (auto& v : values) {
      v = dist.draw(rng);
      h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double p : kPercentiles) {
      const std::int64_t want = reference_percentile(values, p);
      const std::int64_t got = h.percentile(p);
      EXPECT_GE(got, want) << dist.name << " p" << p;
      EXPECT_LE(static_cast<double>(got - want), static_cast<double>(want) * 0.001) << dist.name << " p" << p;
      EXPECT_EQ(h.index_of(got), h.index_of(want)) << dist.name << " p" << p << ": not the reference's slot";
    }
    EXPECT_EQ(h.min(), values.front()) << dist.name;
    EXPECT_EQ(h.max(), values.back()) << dist.name;
    EXPECT_EQ(h.total_count(), values.size());
  }
}

TEST(Histogram, MeanAndStddevWithinResolution) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> d(std::log(2e6), 0.5);
  Histogram h;
  std::vector<double> values;
  for (int i = 0; i < 20'000; ++i) {
    const auto v = static_cast<std::int64_t>(d(rng));
    values.push_back(static_cast<double>(v));
    h.record(v);
  }
  double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  double var = 0;
  for (double v : values) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / static_cast<double>(values.size()));
  EXPECT_NEAR(h.mean(), mean, mean * 0.0005);
  EXPECT_NEAR(h.stddev(), sd, mean * 0.001);
}

TEST(Histogram, ConstantValueHasExactSummary) {
  Histogram h;
  h.record(123'456'789, 7);
  EXPECT_EQ(h.total_count(), 7u);
  EXPECT_DOUBLE_EQ(h.mean(), 123'456'789.0);
  EXPECT_DOUBLE_EQ(h.stddev(), 0.0);
  EXPECT_EQ(h.percentile(50), 123'456'789);
  EXPECT_EQ(h.percentile(0), 123'456'789);
}

TEST(Histogram, EmptyHistogramReportsZeros) {
  Histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.percentile(99), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_TRUE(h.buckets().empty());
}

TEST(Histogram, OutOfRangeValuesAreClampedAndCounted) {
  Histogram h;
  h.record(500);         // below 1 µs
  h.record(-3);          // negative: clamped too
  h.record(61 * kS, 2);  // above 60 s
  h.record(5 * kMs);
  EXPECT_EQ(h.total_count(), 5u);
  EXPECT_EQ(h.clamped_low(), 2u);
  EXPECT_EQ(h.clamped_high(), 2u);
  EXPECT_EQ(h.min(), kUs);
  EXPECT_EQ(h.max(), 60 * kS);
  EXPECT_EQ(h.percentile(100), 60 * kS);
}

TEST(Histogram, RecordWithCountEqualsRepeatedRecords) {
  Histogram a, b;
  a.record(std::chrono::microseconds(1500), 5);
  for (int i = 0; i < 5; ++i) b.record(std::chrono::microseconds(1500));
  EXPECT_EQ(a, b);
  a.record(777'777, 0);
  EXPECT_EQ(a, b) << "count 0 is a no-op";
}

TEST(Histogram, SlotsCoverEveryValueWithinResolution) {
  Histogram h;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> exponent(3.0, 10.7);  // 1 µs .. 50 s
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<std::int64_t>(std::pow(10.0, exponent(rng)));
    const auto index = h.index_of(v);
    ASSERT_LT(index, h.slot_count());
    const auto lo = h.lowest_equivalent(index);
    const auto hi = h.highest_equivalent(index);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    ASSERT_LE(static_cast<double>(hi - lo + 1), std::max(1.0, static_cast<double>(lo) / 1024.0)) << v;
  }
  EXPECT_EQ(h.lowest_equivalent(h.index_of(1999)), 1999) << "values below 2048 ns are exact";
  EXPECT_EQ(h.slot_count(), 27u * 1024u) << "the default layout's footprint (1 µs .. 60 s, 3 digits)";
}

TEST(Histogram, PercentileRankIsNearestRank) {
  EXPECT_EQ(percentile_rank(50, 10), 5u);
  EXPECT_EQ(percentile_rank(99.9, 1000), 999u) << "99.9% of 1000 is exactly 999, not 1000";
  EXPECT_EQ(percentile_rank(99.9, 1001), 1000u);
  EXPECT_EQ(percentile_rank(0, 10), 1u);
  EXPECT_EQ(percentile_rank(100, 10), 10u);
  EXPECT_EQ(percentile_rank(150, 10), 10u);
  EXPECT_EQ(percentile_rank(99.99, 0), 0u);
  EXPECT_EQ(percentile_rank(99.999, 100'000), 99'999u);
}

// The naive form of record_corrected, as HdrHistogram writes it.
void naive_corrected(Histogram& h, std::int64_t value, std::int64_t interval) {
  h.record(value);
  if (interval <= 0) return;
  const std::int64_t v = std::clamp(value, h.layout().lowest_ns, h.layout().highest_ns);
  for (std::int64_t missing = v - interval; missing >= interval; missing -= interval) h.record(missing);
}

TEST(Histogram, CorrectedRecordingEqualsNaiveBackFill) {
  const std::pair<std::int64_t, std::int64_t> cases[] = {
      {200 * kMs, 1 * kMs},   {200 * kMs, 333 * kUs}, {5 * kMs, 700},       {1 * kS, 7 * kUs},
      {3 * kMs, 1 * kMs},     {2 * kMs, 1 * kMs},     {1999 * kUs, 1 * kMs}, {50 * kUs, 0},
      {50 * kUs, -5},         {61 * kS, 7 * kS},      {123'457, 1'000},     {4 * kMs, 2 * kMs},
  };
  for (const auto& [value, interval] : cases) {
    Histogram fast, naive;
    fast.record(10 * kUs);
    naive.record(10 * kUs);
    fast.record_corrected(value, interval);
    naive_corrected(naive, value, interval);
    EXPECT_EQ(fast, naive) << value << " every " << interval;
    EXPECT_EQ(fast.min(), naive.min());
    EXPECT_EQ(fast.clamped_low(), naive.clamped_low());
  }
}

TEST(Histogram, CorrectedRecordingOfHugeStallIsBounded) {
  Histogram h;
  h.record_corrected(60 * kS, 1);  // 6e10 missing samples: must not loop per sample
  EXPECT_EQ(h.total_count(), static_cast<std::uint64_t>(60 * kS));
  EXPECT_EQ(h.max(), 60 * kS);
  EXPECT_EQ(h.clamped_low(), static_cast<std::uint64_t>(kUs - 1)) << "back-filled 1..999 ns are clamped";
}

// Named requirement: a 200 ms stall while sampling every 1 ms shows in p99 only once the
// histogram back-fills the samples the stall prevented (coordinated omission).
TEST(Histogram, CoordinatedOmissionCorrectionExposesA200msStall) {
  Histogram plain, corrected;
  for (int i = 0; i < 10'000; ++i) {
    const std::int64_t latency = (i == 5'000) ? 200 * kMs : 100 * kUs;
    plain.record(latency);
    corrected.record_corrected(latency, 1 * kMs);
  }
  EXPECT_LT(plain.percentile(99), 1 * kMs) << "the stall is one sample in 10000: invisible at p99";
  EXPECT_EQ(corrected.total_count(), 10'000u + 199u);
  EXPECT_GT(corrected.percentile(99), 50 * kMs) << "the 199 samples the stall swallowed fill the tail";
  EXPECT_EQ(corrected.max(), 200 * kMs);
}

std::vector<std::int64_t> random_latencies(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(800e3), 1.5);
  std::vector<std::int64_t> out(n);
  for (auto& v : out) v = static_cast<std::int64_t>(d(rng));
  out.push_back(100);       // clamped low
  out.push_back(90 * kS);  // clamped high
  return out;
}

TEST(Histogram, MergeEqualsOneHistogramOverTheUnion) {
  const auto values = random_latencies(21, 30'000);
  Histogram all;
  std::vector<Histogram> parts(3);
  for (std::size_t i = 0; i < values.size(); ++i) {
    all.record(values[i]);
    parts[i % 3].record(values[i]);
  }
  Histogram merged;
  for (const auto& part : parts) ASSERT_TRUE(merged.merge(part));
  EXPECT_EQ(merged, all);
  EXPECT_EQ(merged.percentile(99.9), all.percentile(99.9));
  EXPECT_EQ(merged.clamped_low(), 1u);
  EXPECT_EQ(merged.clamped_high(), 1u);

  Histogram via_json;
  for (const auto& part : parts) {
    auto sparse = sparse_from_json(nlohmann::json::parse(histogram_to_json(part).dump()));
    ASSERT_TRUE(sparse) << sparse.error().message;
    ASSERT_TRUE(via_json.merge(*sparse));
  }
  EXPECT_EQ(via_json, all);
}

TEST(Histogram, MergeWithEmptyKeepsEverything) {
  Histogram a, empty;
  a.record(3 * kMs);
  ASSERT_TRUE(a.merge(empty));
  EXPECT_EQ(a.min(), 3 * kMs);
  ASSERT_TRUE(empty.merge(a));
  EXPECT_EQ(empty, a);
}

TEST(Histogram, JsonRoundTripIsExact) {
  Histogram h;
  for (auto v : random_latencies(8, 5'000)) h.record(v);
  h.record_corrected(300 * kMs, 10 * kMs);
  const std::string text = histogram_to_json(h).dump();
  auto back = histogram_from_json(nlohmann::json::parse(text));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, h);
  EXPECT_EQ(histogram_to_json(*back).dump(), text);

  Histogram empty;
  auto empty_back = histogram_from_json(histogram_to_json(empty));
  ASSERT_TRUE(empty_back);
  EXPECT_EQ(*empty_back, empty);
}

TEST(Histogram, JsonIsSparse) {
  Histogram h;
  h.record(5 * kMs, 1000);
  h.record(7 * kMs);
  const auto json = histogram_to_json(h);
  EXPECT_EQ(json["counts"].size(), 2u);
  EXPECT_LT(json.dump().size(), 250u);
}

TEST(Histogram, IncompatibleLayoutsAreRefused) {
  Histogram a;
  a.record(1 * kMs);
  const Histogram before = a;
  Histogram two_digits(HistogramLayout{1'000, 60 * kS, 2});
  two_digits.record(1 * kMs);
  auto r = a.merge(two_digits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::incompatible);
  EXPECT_NE(r.error().message.find("3 digits"), std::string::npos) << r.error().message;
  EXPECT_EQ(a, before) << "a refused merge changes nothing";

  Histogram longer(HistogramLayout{1'000, 120 * kS, 3});
  auto sparse = longer.to_sparse();
  auto r2 = a.merge(sparse);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, Errc::incompatible);
}

TEST(Histogram, LayoutValidation) {
  EXPECT_TRUE(validate(HistogramLayout{}));
  EXPECT_EQ(validate(HistogramLayout{1'000, 60 * kS, 0}).error().code, Errc::bad_layout);
  EXPECT_EQ(validate(HistogramLayout{1'000, 60 * kS, 6}).error().code, Errc::bad_layout);
  EXPECT_EQ(validate(HistogramLayout{0, 60 * kS, 3}).error().code, Errc::bad_layout);
  EXPECT_EQ(validate(HistogramLayout{1'000, 1'500, 3}).error().code, Errc::bad_layout);
  EXPECT_EQ(validate(HistogramLayout{1, std::int64_t{1} << 62, 3}).error().code, Errc::bad_layout);
  EXPECT_THROW(Histogram(HistogramLayout{1'000, 60 * kS, 9}), std::invalid_argument);
}

// Each class of malformed histogram JSON is rejected with a typed error naming the field.
TEST(Histogram, MalformedJsonIsRejected) {
  Histogram h;
  h.record(2 * kMs, 3);
  h.record(9 * kMs);
  const nlohmann::json good = histogram_to_json(h);
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> spoil;
    Errc code;
    const char* mentions;
  };
  const Case cases[] = {
      {"not an object", [](nlohmann::json& j) { j = nlohmann::json::array(); }, Errc::bad_json, "histogram"},
      {"missing layout", [](nlohmann::json& j) { j.erase("layout"); }, Errc::bad_json, "layout"},
      {"unit", [](nlohmann::json& j) { j["layout"]["unit"] = "us"; }, Errc::bad_json, "unit"},
      {"digits", [](nlohmann::json& j) { j["layout"]["significant_digits"] = 9; }, Errc::bad_layout, "digits"},
      {"lowest type", [](nlohmann::json& j) { j["layout"]["lowest"] = "1us"; }, Errc::bad_json, "lowest"},
      {"negative total", [](nlohmann::json& j) { j["total"] = -1; }, Errc::bad_json, "total"},
      {"total mismatch", [](nlohmann::json& j) { j["total"] = 5; }, Errc::bad_json, "total"},
      {"pair shape", [](nlohmann::json& j) { j["counts"][0] = {1}; }, Errc::bad_json, "counts[0]"},
      {"zero count", [](nlohmann::json& j) { j["counts"][0][1] = 0; }, Errc::bad_json, "counts[0]"},
      {"index range", [](nlohmann::json& j) { j["counts"][1][0] = 999'999; }, Errc::bad_json, "counts[1]"},
      {"unordered", [](nlohmann::json& j) { std::swap(j["counts"][0], j["counts"][1]); }, Errc::bad_json, "ascend"},
      {"min slot", [](nlohmann::json& j) { j["min"] = 3 * kMs; }, Errc::bad_json, "min"},
      {"max beyond", [](nlohmann::json& j) { j["max"] = 90 * kS; }, Errc::bad_json, "max"},
      {"clamps", [](nlohmann::json& j) { j["clamped_low"] = 1; }, Errc::bad_json, "clamp"},
  };
  for (const auto& c : cases) {
    nlohmann::json spoiled = good;
    c.spoil(spoiled);
    auto r = histogram_from_json(spoiled);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code, c.code) << c.what << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.mentions), std::string::npos) << c.what << ": " << r.error().message;
  }
}

TEST(Histogram, IteratesNonEmptyBucketsInOrder) {
  Histogram h;
  const std::int64_t values[] = {9 * kMs, 1'500, 3 * kS, 9 * kMs + 1, 250 * kUs};
  for (auto v : values) h.record(v);
  const auto buckets = h.buckets();
  ASSERT_EQ(buckets.size(), 4u) << "9 ms and 9 ms + 1 ns share a slot";
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    sum += buckets[i].count;
    if (i > 0) {
      EXPECT_GT(buckets[i].lowest_ns, buckets[i - 1].highest_ns);
    }
  }
  EXPECT_EQ(sum, h.total_count());
  EXPECT_EQ(buckets[0].lowest_ns, 1'500);
  EXPECT_EQ(buckets[2].count, 2u);
  EXPECT_LE(buckets[2].lowest_ns, 9 * kMs);
  EXPECT_GE(buckets[2].highest_ns, 9 * kMs + 1);
}

TEST(Histogram, ResetEmptiesIt) {
  Histogram h;
  h.record(1, 4);
  h.record(2 * kMs);
  h.reset();
  EXPECT_EQ(h, Histogram{});
  EXPECT_EQ(h.clamped_low(), 0u);
}

}  // namespace
}  // namespace kmslab::bench
