// The simulator's wall clock: the one source of "now" for the KMS host and the SNTP responder.
//
// Time is injectable (docs/architecture.md). Servers take a `Clock&` and never call system_clock directly, so
// a scenario reproduces clock skew (runbook cause 3, 0xC004F06C) by setting a skew instead of
// changing the machine's clock or waiting, and tests pin time exactly with ManualClock.
//
// Thread-safety: every member of every clock here may be called from any thread at any time;
// state is a single atomic, so a skew change is seen whole by the next now() on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kmslab::simulator {

class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // The current wall-clock time as this clock sees it (UTC, system_clock resolution).
  virtual TimePoint now() const = 0;

 protected:
  Clock() = default;
  Clock(const Clock&) = default;
  Clock& operator=(const Clock&) = default;
};

// Real time plus an offset that may change at runtime (a scenario step, the control API).
class SkewedClock final : public Clock {
 public:
  // Skews are clamped to +-kMaxSkew so now() stays inside system_clock's range (~1678..2262).
  static constexpr std::chrono::hours kMaxSkew{24 * 365 * 100};

  explicit SkewedClock(std::chrono::nanoseconds skew = std::chrono::nanoseconds{0}) noexcept;

  TimePoint now() const override;

  // Positive: this clock runs ahead of real time. Returns the skew actually set (after clamping).
  std::chrono::nanoseconds set_skew(std::chrono::nanoseconds skew) noexcept;
  std::chrono::nanoseconds skew() const noexcept;

 private:
  std::atomic<std::int64_t> skew_ns_;
};

// A clock that only moves when told to, for deterministic tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) noexcept;

  TimePoint now() const override;
  void set(TimePoint t) noexcept;
  void advance(std::chrono::nanoseconds d) noexcept;

 private:
  std::atomic<std::int64_t> now_ns_;  // since the Unix epoch
};

}  // namespace kmslab::simulator
