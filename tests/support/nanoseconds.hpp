// Test helper: the load generator records latencies as int64 nanoseconds; these spell them.
#pragma once

#include <cstdint>

namespace kmslab::test {

inline constexpr std::int64_t kUs = 1'000;
inline constexpr std::int64_t kMs = 1'000'000;
inline constexpr std::int64_t kS = 1'000'000'000;

}  // namespace kmslab::test
