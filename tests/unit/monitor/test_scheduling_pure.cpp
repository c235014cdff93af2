// The scheduler's pure parts: per-target seeds and jitter draws are deterministic and in range.
#include <gtest/gtest.h>

#include <set>

#include "kmslab/monitor/scheduler.hpp"
#include "kmslab/monitor/watch_service.hpp"

namespace {

using namespace kmslab::monitor;
using namespace std::chrono_literals;

TEST(Scheduling, TargetSeedDependsOnSeedAndNameOnly) {
  EXPECT_EQ(target_seed(1, "corp"), target_seed(1, "corp"));
  EXPECT_NE(target_seed(1, "corp"), target_seed(2, "corp"));
  EXPECT_NE(target_seed(1, "corp"), target_seed(1, "corp2"));
}

TEST(Scheduling, JitterIsSeededAndWithinRange) {
  std::mt19937_64 a(target_seed(7, "t")), b(target_seed(7, "t"));
  std::set<long long> seen;
  for (int i = 0; i < 200; ++i) {
    const auto d = jitter_delay(a, 250ms);
    EXPECT_EQ(d, jitter_delay(b, 250ms));
    EXPECT_GE(d.count(), 0);
    EXPECT_LT(d.count(), 250);
    seen.insert(d.count());
  }
  EXPECT_GT(seen.size(), 50u) << "spread over the range, not constant";
  EXPECT_EQ(jitter_delay(a, 0ms), 0ms);
}

TEST(QueryParameter, DecodesAndFindsKeys) {
  EXPECT_EQ(query_parameter("/probe?module=corp&target=kms1.example%3A1688", "target"), "kms1.example:1688");
  EXPECT_EQ(query_parameter("/probe?module=corp&target=a", "module"), "corp");
  EXPECT_EQ(query_parameter("/probe?module=Windows+10", "module"), "Windows 10");
  EXPECT_EQ(query_parameter("/probe?module=", "module"), "");
  EXPECT_FALSE(query_parameter("/probe", "module"));
  EXPECT_FALSE(query_parameter("/probe?target=a", "module"));
  EXPECT_FALSE(query_parameter("/probe?module=%zz", "module"));
  EXPECT_FALSE(query_parameter("/probe?module=%4", "module"));
}

}  // namespace
