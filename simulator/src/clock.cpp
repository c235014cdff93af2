#include "kmslab/simulator/clock.hpp"

#include <algorithm>

namespace kmslab::simulator {
namespace {

std::int64_t clamp_skew(std::chrono::nanoseconds skew) noexcept {
  constexpr std::int64_t kMax =
      std::chrono::duration_cast<std::chrono::nanoseconds>(SkewedClock::kMaxSkew).count();
  return std::clamp<std::int64_t>(skew.count(), -kMax, kMax);
}

Clock::TimePoint from_ns(std::int64_t ns) {
  return Clock::TimePoint(
      std::chrono::duration_cast<Clock::TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace

SkewedClock::SkewedClock(std::chrono::nanoseconds skew) noexcept : skew_ns_(clamp_skew(skew)) {}

Clock::TimePoint SkewedClock::now() const {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<TimePoint::duration>(skew());
}

std::chrono::nanoseconds SkewedClock::set_skew(std::chrono::nanoseconds skew) noexcept {
  const std::int64_t v = clamp_skew(skew);
  skew_ns_.store(v, std::memory_order_relaxed);
  return std::chrono::nanoseconds(v);
}

std::chrono::nanoseconds SkewedClock::skew() const noexcept {
  return std::chrono::nanoseconds(skew_ns_.load(std::memory_order_relaxed));
}

ManualClock::ManualClock(TimePoint start) noexcept
    : now_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count()) {}

Clock::TimePoint ManualClock::now() const { return from_ns(now_ns_.load(std::memory_order_relaxed)); }

void ManualClock::set(TimePoint t) noexcept {
  now_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(),
                std::memory_order_relaxed);
}

void ManualClock::advance(std::chrono::nanoseconds d) noexcept {
  now_ns_.fetch_add(d.count(), std::memory_order_relaxed);
}

}  // namespace kmslab::simulator
