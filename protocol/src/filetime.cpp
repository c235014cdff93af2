#include "kmslab/protocol/filetime.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

namespace {
// Days from 1601-01-01 to 1970-01-01, and the last tick of 9999-12-31 (year_month_day's
// range ends at 32767; four-digit years are what the format promises).
constexpr std::int64_t kDays1601To1970 = 134'774;
constexpr std::uint64_t kLastFormattedFileTime = 2'650'467'743'999'999'999ull;
}  // namespace

std::string format_filetime(std::uint64_t ft) {
  using namespace std::chrono;
  if (ft > kLastFormattedFileTime) return fmt::format("FILETIME {} (after year 9999)", ft);
  // Unsigned arithmetic from 1601: every value up to year 9999 fits, whatever its sign as i64.
  const auto ticks_per_second = static_cast<std::uint64_t>(kFileTimeTicksPerSecond);
  const std::uint64_t total_seconds = ft / ticks_per_second;
  const auto frac = static_cast<long long>(ft % ticks_per_second);
  const auto day_index = static_cast<std::int64_t>(total_seconds / 86'400);
  const auto second_of_day = static_cast<std::int64_t>(total_seconds % 86'400);
  const year_month_day ymd{sys_days{days{day_index - kDays1601To1970}}};
  const hh_mm_ss hms{seconds{second_of_day}};
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:07d}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(), frac);
}

}  // namespace kmslab::protocol
