// NTP timestamps <-> system_clock (eras), short format, and the offset/delay arithmetic.
#include "kmslab/protocol/sntp.hpp"

#include <gtest/gtest.h>

#include <random>

namespace kmslab::protocol::sntp {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

constexpr std::uint32_t kHalf = 0x8000'0000u;  // 0.5 s as an NTP fraction

TimePoint utc(int y, unsigned m, unsigned d, seconds tod = 0s) {
  return sys_days{year{y} / month{m} / day{d}} + tod;
}

TEST(SntpTime, KnownInstants) {
  EXPECT_EQ(to_ntp(utc(1970, 1, 1)), (Timestamp{2'208'988'800u, 0}));
  EXPECT_EQ(to_ntp(utc(2000, 1, 1)), (Timestamp{3'155'673'600u, 0}));
  EXPECT_EQ(to_ntp(utc(1900, 1, 1)), (Timestamp{0, 0}));
  EXPECT_EQ(to_ntp(utc(2036, 2, 7, 6h + 28min + 16s)), (Timestamp{0, 0}));  // era 1 starts
  EXPECT_EQ(to_ntp(utc(2036, 2, 7, 6h + 28min + 15s)), (Timestamp{0xFFFF'FFFFu, 0}));
  EXPECT_EQ(kEra1Start, utc(2036, 2, 7, 6h + 28min + 16s));
  EXPECT_EQ(to_ntp(utc(1970, 1, 1) + 500ms), (Timestamp{2'208'988'800u, kHalf}));
  EXPECT_EQ(to_ntp(utc(1970, 1, 1) + 250ms).fraction, 0x4000'0000u);
}

TEST(SntpTime, DefaultEraRuleFollowsRfc4330) {
  // Top bit set: 1968..2036 (era 0). Top bit clear: 2036..2104 (era 1).
  EXPECT_EQ(from_ntp({0x8000'0000u, 0}), utc(1968, 1, 20, 3h + 14min + 8s));
  EXPECT_EQ(from_ntp({0xFFFF'FFFFu, 0}), utc(2036, 2, 7, 6h + 28min + 15s));
  EXPECT_EQ(from_ntp({0, 0}), kEra1Start);
  EXPECT_EQ(from_ntp({0x7FFF'FFFFu, 0}), utc(2104, 2, 26, 9h + 42min + 23s));
  EXPECT_EQ(from_ntp({3'155'673'600u, kHalf}), utc(2000, 1, 1) + 500ms);
}

TEST(SntpTime, PivotPicksTheNearestEra) {
  const Timestamp early_1900s{86'400u, 0};  // 1900-01-02 in era 0, 2036-02-08 in era 1
  EXPECT_EQ(from_ntp(early_1900s, utc(1910, 1, 1)), utc(1900, 1, 2));
  EXPECT_EQ(from_ntp(early_1900s, utc(2030, 1, 1)), utc(2036, 2, 8, 6h + 28min + 16s));
  // Either side of the 2036 rollover, a pivot of "now" keeps the right era.
  const TimePoint just_before = kEra1Start - 3s;
  const TimePoint just_after = kEra1Start + 3s;
  EXPECT_EQ(from_ntp(to_ntp(just_before), just_after), just_before);
  EXPECT_EQ(from_ntp(to_ntp(just_after), just_before), just_after);
}

TEST(SntpTime, NanosecondsRoundTripAcrossEras) {
  std::mt19937_64 rng(20361);
  const auto lo = duration_cast<nanoseconds>(utc(1950, 1, 1).time_since_epoch()).count();
  const auto hi = duration_cast<nanoseconds>(utc(2120, 1, 1).time_since_epoch()).count();
  std::uniform_int_distribution<std::int64_t> dist(lo, hi);
  for (int i = 0; i < 2000; ++i) {
    const TimePoint t{duration_cast<TimePoint::duration>(nanoseconds(dist(rng)))};
    // A fraction is ~233 ps, finer than a nanosecond, so the trip back is exact.
    ASSERT_EQ(from_ntp(to_ntp(t), t + hours(24 * 365 * 30)), t) << i;
  }
}

TEST(SntpTime, ShortFormat) {
  EXPECT_EQ(to_short(1s), 0x0001'0000u);
  EXPECT_EQ(to_short(500ms), 0x0000'8000u);
  EXPECT_EQ(to_short(-5s), 0u);
  EXPECT_EQ(to_short(hours(24)), 0xFFFF'FFFFu);
  EXPECT_EQ(from_short(0x0001'8000u), 1500ms);
  const auto back = from_short(to_short(1234567us));  // 2^-16 s = ~15.3 us resolution
  EXPECT_LE(abs(back - 1234567us), 8us) << back.count();
}

TEST(SntpTime, DifferenceIsSignedAndCrossesTheRollover) {
  EXPECT_EQ(difference({10, kHalf}, {9, 0}), 1500ms);
  EXPECT_EQ(difference({9, 0}, {10, kHalf}), -1500ms);
  // 0xFFFFFFFF.8 (era 0) to 0x00000001.0 (era 1) is 1.5 s.
  EXPECT_EQ(difference({1, 0}, {0xFFFF'FFFFu, kHalf}), 1500ms);
  EXPECT_EQ(difference({0xFFFF'FFFFu, kHalf}, {1, 0}), -1500ms);
}

TEST(SntpOffsetDelay, KnownValues) {
  // t1 10 s, t2 11 s, t3 11.5 s, t4 10.75 s: offset ((1) + (0.75)) / 2, delay 0.75 - 0.5.
  const auto r = compute_offset_delay({10, 0}, {11, 0}, {11, kHalf}, {10, 0xC000'0000u});
  EXPECT_EQ(r.offset, 875ms);
  EXPECT_EQ(r.delay, 250ms);
}

TEST(SntpOffsetDelay, ServerThreeHoursAheadOrAnHourBehind) {
  const TimePoint t1 = utc(2026, 11, 25, 12h);
  for (const nanoseconds skew : {nanoseconds(3h), nanoseconds(-1h), nanoseconds(2500ms)}) {
    const auto r = compute_offset_delay(to_ntp(t1), to_ntp(t1 + skew + 10ms),
                                        to_ntp(t1 + skew + 11ms), to_ntp(t1 + 21ms));
    EXPECT_EQ(r.offset, skew) << skew.count();
    EXPECT_EQ(r.delay, 20ms) << skew.count();
  }
}

TEST(SntpOffsetDelay, ExchangeAcrossTheEraRollover) {
  const TimePoint t1 = kEra1Start - 200ms;
  const auto r = compute_offset_delay(to_ntp(t1), to_ntp(t1 + 1h + 100ms),
                                      to_ntp(t1 + 1h + 150ms), to_ntp(t1 + 250ms));
  EXPECT_EQ(r.offset, 1h);
  EXPECT_EQ(r.delay, 200ms);
}

// Independent 128-bit oracle for the extremes: no overflow, no UB (UBSan runs these in asan).
__extension__ typedef __int128 Int128;

Int128 diff_fixed(Timestamp a, Timestamp b) {
  return static_cast<std::int64_t>(a.raw() - b.raw());
}
std::int64_t fixed_to_ns(Int128 v) {  // v in units of 2^-32 s; rounded to nearest, ties up
  const Int128 ns = v * 1'000'000'000 + (Int128{1} << 31);
  return static_cast<std::int64_t>(ns >> 32);  // arithmetic shift: floor
}

TEST(SntpOffsetDelay, ExtremesMatchA128BitOracle) {
  const std::uint64_t edges[] = {0,
                                 1,
                                 0x7FFF'FFFF'FFFF'FFFFull,
                                 0x8000'0000'0000'0000ull,
                                 0x8000'0000'0000'0001ull,
                                 0xFFFF'FFFF'FFFF'FFFFull,
                                 0x3FFF'FFFF'0000'0000ull,
                                 0xC000'0000'8000'0000ull};
  for (auto a : edges)
    for (auto b : edges)
      for (auto c : edges)
        for (auto d : edges) {
          const Timestamp t1 = Timestamp::from_raw(a), t2 = Timestamp::from_raw(b),
                          t3 = Timestamp::from_raw(c), t4 = Timestamp::from_raw(d);
          const auto r = compute_offset_delay(t1, t2, t3, t4);
          const std::int64_t d21 = fixed_to_ns(diff_fixed(t2, t1));
          const std::int64_t d34 = fixed_to_ns(diff_fixed(t3, t4));
          const std::int64_t d41 = fixed_to_ns(diff_fixed(t4, t1));
          const std::int64_t d32 = fixed_to_ns(diff_fixed(t3, t2));
          ASSERT_EQ(r.offset.count(), static_cast<std::int64_t>((Int128{d21} + d34) / 2));
          ASSERT_EQ(r.delay.count(), static_cast<std::int64_t>(Int128{d41} - d32));
        }
}

}  // namespace
}  // namespace kmslab::protocol::sntp
