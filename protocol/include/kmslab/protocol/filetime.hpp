// FILETIME: u64 count of 100-ns ticks since 1601-01-01 UTC, the KMS timestamp format.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kmslab::protocol {

using FileTimeTicks = std::chrono::duration<std::int64_t, std::ratio<1, 10'000'000>>;

// Ticks between 1601-01-01 and the Unix epoch 1970-01-01.
inline constexpr std::uint64_t kFileTimeUnixEpoch = 116'444'736'000'000'000ull;

inline std::uint64_t to_filetime(std::chrono::system_clock::time_point t) {
  const auto ticks = std::chrono::duration_cast<FileTimeTicks>(t.time_since_epoch()).count();
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(kFileTimeUnixEpoch) + ticks);
}

inline std::chrono::system_clock::time_point from_filetime(std::uint64_t ft) {
  const auto ticks = static_cast<std::int64_t>(ft) - static_cast<std::int64_t>(kFileTimeUnixEpoch);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(FileTimeTicks(ticks)));
}

// "2026-11-25T13:18:57.0000000Z" (UTC, 100-ns precision).
std::string format_filetime(std::uint64_t ft);

}  // namespace kmslab::protocol
