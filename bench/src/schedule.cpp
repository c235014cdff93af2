#include "kmslab/bench/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace kmslab::bench {
namespace {

Result<void> check_rate(double per_second) {
  if (!std::isfinite(per_second) || per_second <= 0 || per_second > kMaxRatePerSecond)
    return make_error(Errc::bad_argument,
                      fmt::format("rate must be > 0 and <= {:.0f} requests/s, got {}", kMaxRatePerSecond, per_second));
  return {};
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

Result<void> validate(const LoadModel& model) {
  return std::visit(Overloaded{
                        [](const ConstantRate& m) { return check_rate(m.per_second); },
                        [](const PoissonRate& m) { return check_rate(m.per_second); },
                        [](const ClosedLoop& m) -> Result<void> {
                          if (m.concurrency < 1 || m.concurrency > kMaxConcurrency)
                            return make_error(Errc::bad_argument,
                                              fmt::format("concurrency must be 1..{}, got {}", kMaxConcurrency,
                                                          m.concurrency));
                          return {};
                        },
                    },
                    model);
}

std::string_view mode_name(const LoadModel& model) {
  static constexpr std::string_view kNames[] = {"constant", "poisson", "closed"};
  return kNames[model.index()];
}

std::string describe(const LoadModel& model) {
  return std::visit(Overloaded{
                        [](const ConstantRate& m) { return fmt::format("constant {:g}/s", m.per_second); },
                        [](const PoissonRate& m) { return fmt::format("poisson {:g}/s", m.per_second); },
                        [](const ClosedLoop& m) { return fmt::format("closed-loop, concurrency {}", m.concurrency); },
                    },
                    model);
}

bool is_open_loop(const LoadModel& model) noexcept { return !std::holds_alternative<ClosedLoop>(model); }

double rate_of(const LoadModel& model) noexcept {
  if (const auto* c = std::get_if<ConstantRate>(&model)) return c->per_second;
  if (const auto* p = std::get_if<PoissonRate>(&model)) return p->per_second;
  return 0;
}

std::uint32_t concurrency_of(const LoadModel& model) noexcept {
  if (const auto* c = std::get_if<ClosedLoop>(&model)) return c->concurrency;
  return 0;
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) noexcept {
  std::uint64_t z = seed + (stream + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Result<ArrivalSchedule> ArrivalSchedule::constant(double per_second) {
  if (auto ok = check_rate(per_second); !ok) return ok.error();
  ArrivalSchedule s;
  s.per_second_ = per_second;
  return s;
}

Result<ArrivalSchedule> ArrivalSchedule::poisson(double per_second, std::uint64_t seed) {
  if (auto ok = check_rate(per_second); !ok) return ok.error();
  ArrivalSchedule s;
  s.poisson_ = true;
  s.per_second_ = per_second;
  s.rng_.seed(seed);
  return s;
}

Result<ArrivalSchedule> ArrivalSchedule::for_thread(const LoadModel& model, std::uint64_t seed, std::uint32_t thread,
                                                    std::uint32_t threads) {
  if (threads == 0 || thread >= threads)
    return make_error(Errc::bad_argument, fmt::format("thread {} of {} does not exist", thread, threads));
  if (const auto* c = std::get_if<ConstantRate>(&model)) {
    auto s = constant(c->per_second);
    if (!s) return s.error();
    s->first_ = thread;
    s->stride_ = threads;
    return s;
  }
  if (const auto* p = std::get_if<PoissonRate>(&model)) {
    if (auto ok = check_rate(p->per_second); !ok) return ok.error();
    return poisson(p->per_second / threads, derive_seed(seed, thread));
  }
  return make_error(Errc::bad_argument, "a closed-loop run has no arrival schedule");
}

std::chrono::nanoseconds ArrivalSchedule::next() {
  const std::uint64_t i = issued_++;
  if (!poisson_) {
    const long double global = static_cast<long double>(first_) + static_cast<long double>(i) * stride_;
    return std::chrono::nanoseconds(std::llround(global * 1e9L / static_cast<long double>(per_second_)));
  }
  // Every arrival, the first included, follows an exponential gap: several threads' processes
  // then do not all fire at the start. 53 random bits -> u in [0, 1); -log(1 - u) ~ Exp(1).
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  poisson_ns_ += static_cast<long double>(-std::log1p(-u)) * 1e9L / static_cast<long double>(per_second_);
  return std::chrono::nanoseconds(std::llround(poisson_ns_));
}

RequestTiming request_timing(std::chrono::steady_clock::time_point intended,
                             std::chrono::steady_clock::time_point sent,
                             std::chrono::steady_clock::time_point completed) noexcept {
  const auto start = std::min(intended, sent);
  RequestTiming t;
  t.latency = std::max(completed - start, std::chrono::nanoseconds(0));
  t.service_time = std::max(completed - sent, std::chrono::nanoseconds(0));
  t.send_lag = std::max(sent - intended, std::chrono::nanoseconds(0));
  return t;
}

}  // namespace kmslab::bench
