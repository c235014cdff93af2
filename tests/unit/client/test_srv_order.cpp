#include "kmslab/client/srv_order.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace kmslab::client {
namespace {

SrvRecord rec(std::uint16_t priority, std::uint16_t weight, std::string target, std::uint16_t port = 1688) {
  return SrvRecord{priority, weight, port, std::move(target), 600};
}

// Counts how often each target is tried first over `draws` seeded orderings.
std::map<std::string, int> first_picks(const std::vector<SrvRecord>& records, DiscoveryModel model,
                                       int draws, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[order_targets(records, model, rng).front().target];
  return counts;
}

// Binomial 3-sigma check of an observed count against an expected probability.
void expect_within_3_sigma(int observed, double p, int draws, const std::string& what) {
  const double n = draws;
  const double mean = n * p;
  const double sigma = std::sqrt(n * p * (1.0 - p));
  EXPECT_LE(std::abs(observed - mean), 3.0 * sigma)
      << what << ": observed " << observed << ", expected " << mean << " +- " << 3.0 * sigma;
}

TEST(SrvOrder, PrioritiesAreStrictlyAscendingForEverySeed) {
  const std::vector<SrvRecord> records = {rec(10, 5, "c1"), rec(0, 0, "a1"), rec(5, 100, "b1"),
                                          rec(0, 50, "a2"), rec(10, 0, "c2"), rec(5, 1, "b2"),
                                          rec(65535, 7, "z")};
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    std::mt19937_64 rng(seed);
    const auto ordered = order_targets(records, DiscoveryModel::rfc2782, rng);
    ASSERT_EQ(ordered.size(), records.size());
    for (std::size_t i = 1; i < ordered.size(); ++i) {
      ASSERT_LE(ordered[i - 1].priority, ordered[i].priority) << "seed " << seed << " position " << i;
    }
    // A permutation: nothing lost, nothing duplicated.
    EXPECT_TRUE(std::is_permutation(ordered.begin(), ordered.end(), records.begin(), records.end()));
  }
}

TEST(SrvOrder, WeightSharesMatchWithinThreeSigma) {
  const std::vector<SrvRecord> records = {rec(1, 60, "heavy"), rec(1, 30, "medium"), rec(1, 10, "light"),
                                          rec(2, 1000, "backup")};
  constexpr int kDraws = 10000;
  const auto counts = first_picks(records, DiscoveryModel::rfc2782, kDraws, 20261125);
  const auto shares = expected_shares(records, DiscoveryModel::rfc2782);
  EXPECT_EQ(counts.count("backup"), 0u) << "a higher priority value must never be tried first";
  for (std::size_t i = 0; i < 3; ++i) {
    const auto it = counts.find(records[i].target);
    expect_within_3_sigma(it == counts.end() ? 0 : it->second, shares[i], kDraws, records[i].target);
  }
}

TEST(SrvOrder, SecondPlaceFollowsTheRemainingWeights) {
  // After "heavy" (weight 80) is picked, the others split the rest 15:5 (+ the r == 0 bonus).
  const std::vector<SrvRecord> records = {rec(0, 80, "heavy"), rec(0, 15, "mid"), rec(0, 5, "low")};
  std::mt19937_64 rng(7);
  int heavy_first = 0;
  int mid_second = 0;
  for (int i = 0; i < 10000; ++i) {
    const auto o = order_targets(records, DiscoveryModel::rfc2782, rng);
    if (o[0].target != "heavy") continue;
    ++heavy_first;
    if (o[1].target == "mid") ++mid_second;
  }
  // Remaining group {mid 15, low 5}, shuffled: P(mid) = (15 + 1/2) / 21.
  expect_within_3_sigma(mid_second, 15.5 / 21.0, heavy_first, "mid second");
}

TEST(SrvOrder, WeightZeroIsPickedRarelyButPossibly) {
  const std::vector<SrvRecord> records = {rec(0, 0, "zero"), rec(0, 500, "a"), rec(0, 500, "b")};
  constexpr int kDraws = 10000;
  const auto counts = first_picks(records, DiscoveryModel::rfc2782, kDraws, 99);
  const int zero = counts.count("zero") ? counts.at("zero") : 0;
  EXPECT_GT(zero, 0) << "RFC 2782 gives weight-0 records a small chance";
  EXPECT_LT(zero, kDraws / 100) << "but only a small one";
  expect_within_3_sigma(zero, 1.0 / 1001.0, kDraws, "zero");
}

TEST(SrvOrder, SeveralWeightZeroRecordsShareTheirSmallChanceEqually) {
  const std::vector<SrvRecord> records = {rec(0, 0, "z1"), rec(0, 0, "z2"), rec(0, 8, "w")};
  constexpr int kDraws = 10000;
  const auto counts = first_picks(records, DiscoveryModel::rfc2782, kDraws, 5);
  const auto shares = expected_shares(records, DiscoveryModel::rfc2782);
  EXPECT_DOUBLE_EQ(shares[0], 1.0 / 18.0);
  EXPECT_DOUBLE_EQ(shares[1], 1.0 / 18.0);
  EXPECT_DOUBLE_EQ(shares[2], 8.0 / 9.0);
  for (std::size_t i = 0; i < records.size(); ++i) {
    expect_within_3_sigma(counts.at(records[i].target), shares[i], kDraws, records[i].target);
  }
}

TEST(SrvOrder, AllWeightsZeroIsUniformWithinAPriority) {
  const std::vector<SrvRecord> records = {rec(3, 0, "a"), rec(3, 0, "b"), rec(3, 0, "c"), rec(3, 0, "d")};
  constexpr int kDraws = 10000;
  const auto counts = first_picks(records, DiscoveryModel::rfc2782, kDraws, 11);
  for (const auto& r : records) expect_within_3_sigma(counts.at(r.target), 0.25, kDraws, r.target);
}

TEST(SrvOrder, RandomModelIgnoresPriorityAndWeight) {
  const std::vector<SrvRecord> records = {rec(0, 1000, "a"), rec(10, 0, "b"), rec(20, 1, "c"),
                                          rec(30, 65535, "d"), rec(0, 0, "e")};
  constexpr int kDraws = 10000;
  std::mt19937_64 rng(1234);
  std::map<std::string, int> first;
  std::map<std::string, int> last;
  for (int i = 0; i < kDraws; ++i) {
    const auto o = order_targets(records, DiscoveryModel::random, rng);
    ASSERT_TRUE(std::is_permutation(o.begin(), o.end(), records.begin(), records.end()));
    ++first[o.front().target];
    ++last[o.back().target];
  }
  const auto shares = expected_shares(records, DiscoveryModel::random);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_DOUBLE_EQ(shares[i], 0.2);
    expect_within_3_sigma(first[records[i].target], 0.2, kDraws, "first " + records[i].target);
    expect_within_3_sigma(last[records[i].target], 0.2, kDraws, "last " + records[i].target);
  }
}

TEST(SrvOrder, SameSeedSameOrderDifferentSeedsDiffer) {
  std::vector<SrvRecord> records;
  for (std::uint16_t i = 0; i < 12; ++i) {
    records.push_back(rec(static_cast<std::uint16_t>(i % 3), static_cast<std::uint16_t>(i * 7), "h" + std::to_string(i)));
  }
  for (auto model : {DiscoveryModel::rfc2782, DiscoveryModel::random}) {
    std::mt19937_64 a(42);
    std::mt19937_64 b(42);
    std::vector<std::vector<SrvRecord>> first_run;
    for (int i = 0; i < 50; ++i) first_run.push_back(order_targets(records, model, a));
    for (int i = 0; i < 50; ++i) EXPECT_EQ(order_targets(records, model, b), first_run[static_cast<std::size_t>(i)]);
    std::mt19937_64 c(43);
    bool differs = false;
    for (int i = 0; i < 50 && !differs; ++i) differs = order_targets(records, model, c) != first_run[static_cast<std::size_t>(i)];
    EXPECT_TRUE(differs) << to_string(model);
  }
}

TEST(SrvOrder, EmptyAndSingleRecordInputs) {
  std::mt19937_64 rng(1);
  EXPECT_TRUE(order_targets({}, DiscoveryModel::rfc2782, rng).empty());
  EXPECT_TRUE(order_targets({}, DiscoveryModel::random, rng).empty());
  const std::vector<SrvRecord> one = {rec(0, 0, ".")};  // "service not available" stays a record
  EXPECT_EQ(order_targets(one, DiscoveryModel::rfc2782, rng), one);
  EXPECT_TRUE(expected_shares({}, DiscoveryModel::rfc2782).empty());
  EXPECT_EQ(expected_shares(one, DiscoveryModel::rfc2782), std::vector<double>{1.0});
}

TEST(ExpectedShares, Rfc2782ExactValues) {
  // Lowest priority 1: weights 60, 30, 10 (W = 100, no zero): (w + 1/3) / 101.
  const std::vector<SrvRecord> records = {rec(1, 60, "a"), rec(1, 30, "b"), rec(1, 10, "c"), rec(2, 100, "d")};
  const auto s = expected_shares(records, DiscoveryModel::rfc2782);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s[0], (60.0 + 1.0 / 3.0) / 101.0);
  EXPECT_DOUBLE_EQ(s[1], (30.0 + 1.0 / 3.0) / 101.0);
  EXPECT_DOUBLE_EQ(s[2], (10.0 + 1.0 / 3.0) / 101.0);
  EXPECT_DOUBLE_EQ(s[3], 0.0);
  EXPECT_NEAR(std::accumulate(s.begin(), s.end(), 0.0), 1.0, 1e-12);
}

TEST(ExpectedShares, Rfc2782WithWeightZeroAndInputOrderIrrelevant) {
  const std::vector<SrvRecord> records = {rec(0, 3, "a"), rec(0, 0, "z"), rec(0, 1, "b")};
  const auto s = expected_shares(records, DiscoveryModel::rfc2782);
  EXPECT_DOUBLE_EQ(s[0], 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(s[1], 1.0 / 5.0);
  EXPECT_DOUBLE_EQ(s[2], 1.0 / 5.0);
  const std::vector<SrvRecord> reversed(records.rbegin(), records.rend());
  const auto r = expected_shares(reversed, DiscoveryModel::rfc2782);
  EXPECT_DOUBLE_EQ(r[0], s[2]);
  EXPECT_DOUBLE_EQ(r[2], s[0]);
}

TEST(ExpectedShares, Rfc2782MatchesSimulationForTheAuditSite) {
  // A two-site layout as the audit sees it: primary pair 2:1, a weight-0 standby, a DR site.
  const std::vector<SrvRecord> records = {rec(0, 200, "kms1"), rec(0, 100, "kms2"), rec(0, 0, "standby"),
                                          rec(10, 100, "dr1")};
  constexpr int kDraws = 10000;
  const auto counts = first_picks(records, DiscoveryModel::rfc2782, kDraws, 31337);
  const auto s = expected_shares(records, DiscoveryModel::rfc2782);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto it = counts.find(records[i].target);
    expect_within_3_sigma(it == counts.end() ? 0 : it->second, s[i], kDraws, records[i].target);
  }
}

TEST(UniformUpTo, StaysInRangeAndCoversIt) {
  std::mt19937_64 rng(3);
  EXPECT_EQ(uniform_up_to(rng, 0), 0u);
  std::array<int, 7> counts{};
  for (int i = 0; i < 7000; ++i) {
    const auto v = uniform_up_to(rng, 6);
    ASSERT_LE(v, 6u);
    ++counts[v];
  }
  for (int c : counts) expect_within_3_sigma(c, 1.0 / 7.0, 7000, "bucket");
  (void)uniform_up_to(rng, std::numeric_limits<std::uint64_t>::max());
}

TEST(DiscoveryModelText, RoundTrips) {
  for (auto m : {DiscoveryModel::rfc2782, DiscoveryModel::random}) EXPECT_EQ(parse_discovery_model(to_string(m)), m);
  EXPECT_FALSE(parse_discovery_model("RFC2782"));
  EXPECT_FALSE(parse_discovery_model(""));
}

}  // namespace
}  // namespace kmslab::client
