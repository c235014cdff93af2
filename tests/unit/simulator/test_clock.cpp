// Clock, SkewedClock and ManualClock.
#include "kmslab/simulator/clock.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace kmslab::simulator {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// |a - b| <= tolerance, for comparisons with the real clock.
bool near(system_clock::time_point a, system_clock::time_point b, nanoseconds tolerance) {
  const auto d = a > b ? a - b : b - a;
  return d <= tolerance;
}

TEST(SkewedClock, FollowsRealTimePlusSkew) {
  SkewedClock clock(3h);
  EXPECT_EQ(clock.skew(), 3h);
  EXPECT_TRUE(near(clock.now(), system_clock::now() + 3h, 1s));
  clock.set_skew(-3600s);
  EXPECT_TRUE(near(clock.now(), system_clock::now() - 1h, 1s));
  clock.set_skew(2500ms);
  EXPECT_TRUE(near(clock.now(), system_clock::now() + 2500ms, 1s));
  clock.set_skew(0s);
  EXPECT_TRUE(near(clock.now(), system_clock::now(), 1s));
}

TEST(SkewedClock, ClampsAbsurdSkews) {
  SkewedClock clock;
  EXPECT_EQ(clock.set_skew(nanoseconds::max()), SkewedClock::kMaxSkew);
  EXPECT_EQ(clock.set_skew(nanoseconds::min()), -SkewedClock::kMaxSkew);
  // Still a usable time: a century ahead, not an overflowed one.
  clock.set_skew(nanoseconds::max());
  EXPECT_GT(clock.now(), system_clock::now() + hours(24 * 365 * 99));
  EXPECT_EQ(SkewedClock(-hours(24 * 365 * 250)).skew(), -SkewedClock::kMaxSkew);  // ns-representable
}

TEST(SkewedClock, SkewChangesAreSafeAcrossThreads) {
  // A writer flips the skew between two values; readers must only ever see one of the two
  // (within real-time drift), never a torn or intermediate value. TSan/ASan builds check races.
  SkewedClock clock(1h);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      for (int i = 0; i < 20000 && !done; ++i) {
        const auto s = clock.skew();
        if (s != 1h && s != -2h) ++bad;
        const auto t = clock.now();
        if (!near(t, system_clock::now() + 1h, 5s) && !near(t, system_clock::now() - 2h, 5s)) ++bad;
      }
    });
  for (int i = 0; i < 20000; ++i) clock.set_skew(i % 2 ? 1h : -2h);
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(ManualClock, MovesOnlyWhenTold) {
  const system_clock::time_point start = sys_days{year{2026} / 11 / 25} + 12h;
  ManualClock clock(start);
  EXPECT_EQ(clock.now(), start);
  EXPECT_EQ(clock.now(), start);
  clock.advance(1500ms);
  EXPECT_EQ(clock.now(), start + 1500ms);
  clock.advance(-1h);
  EXPECT_EQ(clock.now(), start + 1500ms - 1h);
  clock.set(start + 24h);
  EXPECT_EQ(clock.now(), start + 24h);
  const Clock& as_interface = clock;
  EXPECT_EQ(as_interface.now(), start + 24h);
}

}  // namespace
}  // namespace kmslab::simulator
