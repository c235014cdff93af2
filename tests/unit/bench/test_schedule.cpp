#include "kmslab/bench/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace kmslab::bench {
namespace {

using std::chrono::nanoseconds;

TEST(Schedule, ConstantRateSpacingIsExact) {
  auto s = ArrivalSchedule::constant(1000);
  ASSERT_TRUE(s);
  for (std::int64_t i = 0; i < 10'000; ++i) ASSERT_EQ(s->next(), nanoseconds(i * 1'000'000)) << i;
  EXPECT_EQ(s->issued(), 10'000u);
}

TEST(Schedule, ConstantRateDoesNotDriftWhenThePeriodIsNotWhole) {
  auto s = ArrivalSchedule::constant(3);  // 333 333 333.3 ns apart
  ASSERT_TRUE(s);
  nanoseconds previous{-1};
  for (std::int64_t i = 0; i <= 30'000; ++i) {
    const auto t = s->next();
    if (i % 3 == 0) {
      ASSERT_EQ(t, nanoseconds(i / 3 * 1'000'000'000)) << "request " << i << " is on a whole second";
    }
    if (i > 0) {
      const auto gap = (t - previous).count();
      ASSERT_TRUE(gap == 333'333'333 || gap == 333'333'334) << gap;
    }
    previous = t;
  }
}

TEST(Schedule, ConstantRateThreadsPartitionTheGlobalSchedule) {
  const LoadModel model = ConstantRate{7'000};
  auto global = ArrivalSchedule::constant(7'000);
  ASSERT_TRUE(global);
  std::vector<nanoseconds> want;
  for (int i = 0; i < 3'000; ++i) want.push_back(global->next());
  std::vector<nanoseconds> got;
  for (std::uint32_t t = 0; t < 3; ++t) {
    auto s = ArrivalSchedule::for_thread(model, 1, t, 3);
    ASSERT_TRUE(s);
    for (int i = 0; i < 1'000; ++i) got.push_back(s->next());
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}

std::vector<double> poisson_gaps(double rate, std::uint64_t seed, int n) {
  auto s = ArrivalSchedule::poisson(rate, seed);
  EXPECT_TRUE(s);
  std::vector<double> gaps;
  nanoseconds previous{0};
  for (int i = 0; i < n; ++i) {
    const auto t = s->next();
    gaps.push_back(static_cast<double>((t - previous).count()));
    previous = t;
  }
  return gaps;
}

TEST(Schedule, PoissonMeanGapWithinThreeSigma) {
  constexpr double kRate = 5'000;  // mean gap 200 µs
  constexpr int kN = 200'000;
  const double expected = 1e9 / kRate;
  for (std::uint64_t seed : {1u, 2u, 99u}) {
    const auto gaps = poisson_gaps(kRate, seed, kN);
    double mean = 0;
    for (double g : gaps) mean += g;
    mean /= kN;
    // The exponential distribution's stddev equals its mean, so the sample mean's is mean/sqrt(n).
    EXPECT_NEAR(mean, expected, 3 * expected / std::sqrt(kN)) << "seed " << seed;
    double var = 0;
    for (double g : gaps) var += (g - mean) * (g - mean);
    const double cv = std::sqrt(var / kN) / mean;
    EXPECT_NEAR(cv, 1.0, 0.02) << "exponential gaps have a coefficient of variation of 1";
    const auto below_mean = std::count_if(gaps.begin(), gaps.end(), [&](double g) { return g < expected; });
    EXPECT_NEAR(static_cast<double>(below_mean) / kN, 1 - std::exp(-1.0), 0.01) << "P(gap < mean) = 1 - 1/e";
  }
}

TEST(Schedule, PoissonIsDeterministicPerSeed) {
  EXPECT_EQ(poisson_gaps(1'000, 7, 1'000), poisson_gaps(1'000, 7, 1'000));
  EXPECT_NE(poisson_gaps(1'000, 7, 1'000), poisson_gaps(1'000, 8, 1'000));
}

TEST(Schedule, PoissonThreadsShareTheRate) {
  const LoadModel model = PoissonRate{8'000};
  double total_rate = 0;
  std::vector<nanoseconds> firsts;
  for (std::uint32_t t = 0; t < 4; ++t) {
    auto s = ArrivalSchedule::for_thread(model, 42, t, 4);
    ASSERT_TRUE(s);
    nanoseconds last{0};
    for (int i = 0; i < 20'000; ++i) last = s->next();
    total_rate += 20'000 / (static_cast<double>(last.count()) / 1e9);
    auto again = ArrivalSchedule::for_thread(model, 42, t, 4);
    firsts.push_back(again->next());
  }
  EXPECT_NEAR(total_rate, 8'000, 8'000 * 0.03);
  std::sort(firsts.begin(), firsts.end());
  EXPECT_EQ(std::adjacent_find(firsts.begin(), firsts.end()), firsts.end()) << "threads draw independent streams";
}

TEST(Schedule, InvalidModelsAreRejected) {
  EXPECT_EQ(ArrivalSchedule::constant(0).error().code, Errc::bad_argument);
  EXPECT_EQ(ArrivalSchedule::constant(-5).error().code, Errc::bad_argument);
  EXPECT_EQ(ArrivalSchedule::constant(std::nan("")).error().code, Errc::bad_argument);
  EXPECT_EQ(ArrivalSchedule::poisson(1e12, 1).error().code, Errc::bad_argument);
  EXPECT_EQ(ArrivalSchedule::for_thread(ClosedLoop{4}, 1, 0, 1).error().code, Errc::bad_argument);
  EXPECT_EQ(ArrivalSchedule::for_thread(ConstantRate{10}, 1, 2, 2).error().code, Errc::bad_argument);
  EXPECT_EQ(validate(ClosedLoop{0}).error().code, Errc::bad_argument);
  EXPECT_TRUE(validate(ClosedLoop{64}));
  EXPECT_TRUE(validate(PoissonRate{2.5}));
}

TEST(Schedule, ModelsDescribeThemselves) {
  EXPECT_EQ(describe(ConstantRate{5000}), "constant 5000/s");
  EXPECT_EQ(describe(PoissonRate{2.5}), "poisson 2.5/s");
  EXPECT_EQ(describe(ClosedLoop{64}), "closed-loop, concurrency 64");
  EXPECT_EQ(mode_name(ClosedLoop{1}), "closed");
  EXPECT_TRUE(is_open_loop(PoissonRate{1}));
  EXPECT_FALSE(is_open_loop(ClosedLoop{1}));
  EXPECT_EQ(rate_of(ConstantRate{12}), 12);
  EXPECT_EQ(concurrency_of(ClosedLoop{9}), 9u);
}

// The wrk2 correction: a request that could only be sent 150 ms late, then answered in 2 ms, is
// charged 152 ms, not the 2 ms a naive client would record.
TEST(Schedule, LatencyIsMeasuredFromTheIntendedSendTime) {
  using namespace std::chrono_literals;
  const std::chrono::steady_clock::time_point t0{};
  const auto late = request_timing(t0 + 10ms, t0 + 160ms, t0 + 162ms);
  EXPECT_EQ(late.latency, 152ms);
  EXPECT_EQ(late.service_time, 2ms);
  EXPECT_EQ(late.send_lag, 150ms);

  const auto on_time = request_timing(t0 + 10ms, t0 + 10ms, t0 + 12ms);
  EXPECT_EQ(on_time.latency, 2ms);
  EXPECT_EQ(on_time.send_lag, 0ms);

  const auto early = request_timing(t0 + 10ms, t0 + 9ms, t0 + 12ms);
  EXPECT_EQ(early.latency, 3ms) << "an early send is measured from the send, never less than service time";
  EXPECT_EQ(early.send_lag, 0ms);
}

// A stalled target seen through a constant-rate schedule: every request intended during the stall
// is sent when the stall ends, and their intended-time latencies reveal the whole stall.
TEST(Schedule, StallBehindAConstantScheduleShowsInEveryDelayedRequest) {
  using namespace std::chrono_literals;
  auto s = ArrivalSchedule::constant(1000);
  ASSERT_TRUE(s);
  const std::chrono::steady_clock::time_point t0{};
  const auto stall_end = t0 + 200ms;  // the target (and so the sender) was stuck until then
  std::vector<nanoseconds> corrected, naive;
  for (int i = 0; i < 400; ++i) {
    const auto intended = t0 + s->next();
    const auto sent = std::max(intended, stall_end);
    const auto timing = request_timing(intended, sent, sent + 100us);
    corrected.push_back(timing.latency);
    naive.push_back(timing.service_time);
  }
  EXPECT_EQ(*std::max_element(naive.begin(), naive.end()), 100us);
  EXPECT_EQ(corrected.front(), 200ms + 100us);
  EXPECT_EQ(std::count_if(corrected.begin(), corrected.end(), [](nanoseconds l) { return l > 100us; }), 200);
}

}  // namespace
}  // namespace kmslab::bench
