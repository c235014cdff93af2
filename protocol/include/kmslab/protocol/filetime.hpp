// FILETIME: u64 count of 100-ns ticks since 1601-01-01 UTC, the KMS timestamp format.
//
// A FILETIME read from the wire is any u64, and most of that range is outside what
// std::chrono::system_clock can hold (libstdc++: signed nanoseconds, about 1678..2262). So:
//   - compare wire FILETIMEs in FILETIME space with filetime_delta() (saturating, never UB);
//   - from_filetime() clamps into the representable range, so it is safe on any input but only
//     exact for filetime_fits_time_point() values; use it for display, never for a decision;
//   - to_filetime() is exact for every time_point (the whole system_clock range lies after 1601).
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <ratio>
#include <string>

namespace kmslab::protocol {

using FileTimeTicks = std::chrono::duration<std::int64_t, std::ratio<1, 10'000'000>>;

// Ticks between 1601-01-01 and the Unix epoch 1970-01-01.
inline constexpr std::uint64_t kFileTimeUnixEpoch = 116'444'736'000'000'000ull;
inline constexpr std::int64_t kFileTimeTicksPerSecond = 10'000'000;

namespace detail {
using SystemDuration = std::chrono::system_clock::duration;
// How many system_clock units one tick holds (100 for nanoseconds); the clock must be finer.
using SystemUnitsPerTick = std::ratio_divide<FileTimeTicks::period, SystemDuration::period>;
static_assert(SystemUnitsPerTick::den == 1, "system_clock is expected to be at least as fine as 100 ns");
inline constexpr std::int64_t kMinSystemTicks =
    static_cast<std::int64_t>(std::numeric_limits<SystemDuration::rep>::min() / SystemUnitsPerTick::num);
inline constexpr std::int64_t kMaxSystemTicks =
    static_cast<std::int64_t>(std::numeric_limits<SystemDuration::rep>::max() / SystemUnitsPerTick::num);
static_assert(kMinSystemTicks + static_cast<std::int64_t>(kFileTimeUnixEpoch) >= 0,
              "system_clock reaches before 1601");
}  // namespace detail

// The FILETIMEs a system_clock::time_point can hold exactly.
inline constexpr std::uint64_t kMinTimePointFileTime =
    static_cast<std::uint64_t>(static_cast<std::int64_t>(kFileTimeUnixEpoch) + detail::kMinSystemTicks);
inline constexpr std::uint64_t kMaxTimePointFileTime =
    kFileTimeUnixEpoch + static_cast<std::uint64_t>(detail::kMaxSystemTicks);

constexpr bool filetime_fits_time_point(std::uint64_t ft) noexcept {
  return ft >= kMinTimePointFileTime && ft <= kMaxTimePointFileTime;
}

// a - b in ticks, saturated to the int64 range: the signed distance between any two FILETIMEs.
constexpr std::int64_t filetime_delta(std::uint64_t a, std::uint64_t b) noexcept {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (a >= b) {
    const std::uint64_t d = a - b;
    return d > kMax ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(d);
  }
  const std::uint64_t d = b - a;
  // -(2^63) is representable; anything further saturates to it.
  return d > kMax ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(d);
}

inline std::uint64_t to_filetime(std::chrono::system_clock::time_point t) {
  // Dividing nanoseconds down to ticks cannot overflow, and the sum stays in [0, 2^63).
  const auto ticks = std::chrono::duration_cast<FileTimeTicks>(t.time_since_epoch()).count();
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(kFileTimeUnixEpoch) + ticks);
}

// Clamps `ft` into [kMinTimePointFileTime, kMaxTimePointFileTime] first (see the note above).
inline std::chrono::system_clock::time_point from_filetime(std::uint64_t ft) {
  const std::uint64_t clamped = ft < kMinTimePointFileTime   ? kMinTimePointFileTime
                                : ft > kMaxTimePointFileTime ? kMaxTimePointFileTime
                                                             : ft;
  const auto ticks = static_cast<std::int64_t>(clamped) - static_cast<std::int64_t>(kFileTimeUnixEpoch);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(FileTimeTicks(ticks)));
}

// "2026-11-25T13:18:57.0000000Z" (UTC, 100-ns precision) for any u64; a FILETIME after
// 9999-12-31 prints as its tick count ("FILETIME 18446744073709551615 (after year 9999)").
std::string format_filetime(std::uint64_t ft);

}  // namespace kmslab::protocol
