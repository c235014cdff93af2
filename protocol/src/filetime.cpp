#include "kmslab/protocol/filetime.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

std::string format_filetime(std::uint64_t ft) {
  using namespace std::chrono;
  const auto ticks = static_cast<std::int64_t>(ft) - static_cast<std::int64_t>(kFileTimeUnixEpoch);
  const auto secs = floor<seconds>(FileTimeTicks(ticks));
  const auto frac = FileTimeTicks(ticks) - duration_cast<FileTimeTicks>(secs);
  const auto days = floor<std::chrono::days>(secs);
  const year_month_day ymd{sys_days{days}};
  const hh_mm_ss hms{secs - days};
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:07d}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(), frac.count());
}

}  // namespace kmslab::protocol
