// When a load generator sends, and how it measures what it sent.
//
// An open-loop generator sends on a schedule that does not wait for answers: request i has an
// INTENDED send time fixed in advance (constant rate: start + i/R; Poisson: exponential gaps of
// mean 1/R). If the target stalls, the generator falls behind its schedule, and the requests it
// sends late are charged from their intended time (wrk2's correction for coordinated omission):
// that is the latency a real client population, which does not pause because the server is slow,
// would have seen. A closed-loop generator instead keeps C requests outstanding and sends the
// next when one completes; it measures service time and cannot show queueing behind a stall.
//
// Everything here is pure (no I/O, no clock reads, no Asio): schedules are sequences of offsets
// from the run start, randomness comes from an explicit seed, so a run can be replayed exactly.
#pragma once

#include "kmslab/bench/error.hpp"

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <variant>

namespace kmslab::bench {

struct ConstantRate {
  double per_second = 0;
  friend bool operator==(const ConstantRate&, const ConstantRate&) = default;
};
struct PoissonRate {
  double per_second = 0;
  friend bool operator==(const PoissonRate&, const PoissonRate&) = default;
};
struct ClosedLoop {
  std::uint32_t concurrency = 1;
  friend bool operator==(const ClosedLoop&, const ClosedLoop&) = default;
};
using LoadModel = std::variant<ConstantRate, PoissonRate, ClosedLoop>;

inline constexpr double kMaxRatePerSecond = 10'000'000;
inline constexpr std::uint32_t kMaxConcurrency = 100'000;

// Errc::bad_argument unless 0 < rate <= kMaxRatePerSecond (finite) or 1 <= concurrency <= kMaxConcurrency.
Result<void> validate(const LoadModel& model);
std::string_view mode_name(const LoadModel& model);  // "constant", "poisson", "closed"
std::string describe(const LoadModel& model);         // "constant 5000/s", "closed-loop, concurrency 64"
bool is_open_loop(const LoadModel& model) noexcept;
double rate_of(const LoadModel& model) noexcept;                 // 0 for closed loop
std::uint32_t concurrency_of(const LoadModel& model) noexcept;  // 0 for open loop

// The sequence of intended send offsets of an open-loop run (or of one thread's share of it).
class ArrivalSchedule {
 public:
  // Offset of request i = round(i * 1e9 / rate) ns, computed from i each time (no drift).
  static Result<ArrivalSchedule> constant(double per_second);
  // Exponential gaps of mean 1/rate (before the first request too) by inverse transform of a std::mt19937_64 seeded with `seed`
  // (the engine and the transform are fully specified, so the sequence is the same everywhere).
  static Result<ArrivalSchedule> poisson(double per_second, std::uint64_t seed);
  // Thread `thread` of `threads` sharing an open-loop model: constant rate takes every
  // threads-th request of the global schedule starting at `thread` (together they are exactly
  // the global schedule); Poisson runs an independent process at rate/threads with a seed derived
  // from (seed, thread) (a sum of independent Poisson processes is Poisson at the total rate).
  // Errc::bad_argument for a closed-loop model, an invalid rate or thread >= threads.
  static Result<ArrivalSchedule> for_thread(const LoadModel& model, std::uint64_t seed, std::uint32_t thread,
                                            std::uint32_t threads);

  // The intended offset of the next request; advances the schedule. Offsets never decrease.
  std::chrono::nanoseconds next();
  // How many offsets next() has returned.
  std::uint64_t issued() const noexcept { return issued_; }

 private:
  ArrivalSchedule() = default;

  bool poisson_ = false;
  double per_second_ = 0;
  std::uint64_t first_ = 0;   // constant rate: global index of this schedule's first request
  std::uint64_t stride_ = 1;  // constant rate: distance between this schedule's global indices
  std::uint64_t issued_ = 0;
  long double poisson_ns_ = 0;  // Poisson: running intended time, kept unrounded so no drift
  std::mt19937_64 rng_;
};

// A mixing function (splitmix64) for deriving independent seeds from one run seed.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) noexcept;

struct RequestTiming {
  std::chrono::nanoseconds latency{0};       // completed - intended: what the report records
  std::chrono::nanoseconds service_time{0};  // completed - sent: what a naive client would record
  std::chrono::nanoseconds send_lag{0};      // sent - intended (>= 0): how far behind schedule
};

// The latency of one request measured from its intended send time. A request sent earlier than
// intended (which the engine never does) is measured from its actual send, never below service
// time. Closed-loop callers pass intended == sent.
RequestTiming request_timing(std::chrono::steady_clock::time_point intended,
                             std::chrono::steady_clock::time_point sent,
                             std::chrono::steady_clock::time_point completed) noexcept;

}  // namespace kmslab::bench
