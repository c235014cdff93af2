// The load engine against in-process fake targets (no sockets): bounded runs, known latency,
// coordinated-omission correction of a stall, the in-flight cap, closed loop, intervals, stop.
#include "nanoseconds.hpp"
#include "kmslab/bench/load_driver.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <memory>
#include <thread>

namespace kmslab::bench {
namespace {

namespace asio = net::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using test::kMs;

// What every fake target shares with its test: how many ran at once, and what a naive client
// (timing only its own send-to-answer span) would have recorded.
struct Observed {
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<std::uint64_t> calls{0};

  void enter() {
    ++calls;
    const int now = ++running;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
  }
  void leave() { --running; }
};

// Answers after a fixed delay (a timer), like a target of known latency.
class DelayTarget : public LoadTarget {
 public:
  DelayTarget(asio::any_io_executor ex, std::chrono::nanoseconds delay, Observed& seen)
      : ex_(std::move(ex)), delay_(delay), seen_(seen) {}
  asio::awaitable<Outcome> request() override {
    seen_.enter();
    asio::steady_timer timer(ex_, delay_);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    seen_.leave();
    if (ec) co_return Outcome::failure(OutcomeKind::other);  // cancelled by the engine's timeout
    co_return Outcome::success();
  }

 private:
  asio::any_io_executor ex_;
  std::chrono::nanoseconds delay_;
  Observed& seen_;
};

TargetFactory delay_targets(std::chrono::nanoseconds delay, Observed& seen) {
  return [delay, &seen](const TargetContext& ctx) { return std::make_unique<DelayTarget>(ctx.executor, delay, seen); };
}

// Answers at once, except that one request, the first sent 300 ms or more after the first
// request, stalls for 200 ms. It also keeps the naive client's histogram (send to answer).
class StallOnceTarget : public LoadTarget {
 public:
  StallOnceTarget(asio::any_io_executor ex, Histogram& naive) : ex_(std::move(ex)), naive_(naive) {}
  asio::awaitable<Outcome> request() override {
    const auto start = Clock::now();
    if (!first_) first_ = start;
    if (!stalled_ && start - *first_ >= 300ms) {
      stalled_ = true;
      asio::steady_timer timer(ex_, 200ms);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    naive_.record(Clock::now() - start);
    co_return Outcome::success();
  }

 private:
  asio::any_io_executor ex_;
  Histogram& naive_;
  std::optional<Clock::time_point> first_;
  bool stalled_ = false;
};

LoadOptions constant_rate(double rate, std::chrono::nanoseconds duration) {
  LoadOptions o;
  o.model = ConstantRate{rate};
  o.duration = duration;
  o.target_name = "fake://test";
  o.timeout = 2s;
  return o;
}

// Named requirement: a target that stalls 200 ms once must show the stall in p99 in open-loop
// mode. With one request allowed in flight (a single connection), the generator cannot send
// during the stall; ~200 requests are sent late and each is charged from its intended time.
TEST(LoadDriver, OpenLoopShowsAOneOff200msStallInP99) {
  Histogram naive;
  auto options = constant_rate(1000, 1s);
  options.max_in_flight = 1;
  LoadDriver driver(options, [&](const TargetContext& ctx) { return std::make_unique<StallOnceTarget>(ctx.executor, naive); });
  auto report = driver.run();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->counts.requests, 1000u) << "a late request is still sent, not skipped";
  EXPECT_EQ(report->counts.unsent, 0u);
  EXPECT_GT(report->latency.percentile(99), 100 * kMs) << render_text(*report);
  EXPECT_GE(report->latency.max(), 200 * kMs);
  EXPECT_LT(report->latency.max(), 500 * kMs);
  EXPECT_LT(report->latency.percentile(50), 20 * kMs) << "the stall is a tail event";
  EXPECT_LT(naive.percentile(99), 20 * kMs) << "a client timing send-to-answer sees no stall at p99";
  EXPECT_EQ(naive.total_count(), 1000u);
}

// The same stall when the generator may keep sending (no cap pressure): requests keep going out
// on schedule and every request sent into the stall waits for its end.
class StallAllTarget : public LoadTarget {
 public:
  StallAllTarget(asio::any_io_executor ex, Clock::time_point stall_start) : ex_(std::move(ex)), start_(stall_start) {}
  asio::awaitable<Outcome> request() override {
    const auto now = Clock::now();
    if (now >= start_ && now < start_ + 200ms) {
      asio::steady_timer timer(ex_, start_ + 200ms);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return Outcome::success();
  }

 private:
  asio::any_io_executor ex_;
  Clock::time_point start_;
};

TEST(LoadDriver, OpenLoopKeepsSendingThroughATargetWideStall) {
  const auto stall_start = Clock::now() + 300ms;
  LoadDriver driver(constant_rate(1000, 1s),
                    [&](const TargetContext& ctx) { return std::make_unique<StallAllTarget>(ctx.executor, stall_start); });
  auto report = driver.run();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->counts.requests, 1000u);
  EXPECT_GT(report->latency.percentile(99), 100 * kMs) << render_text(*report);
  EXPECT_LT(report->latency.percentile(50), 20 * kMs);
}

TEST(LoadDriver, KnownTargetLatencyIsMeasured) {
  Observed seen;
  LoadDriver driver(constant_rate(500, 600ms), delay_targets(2ms, seen));
  auto report = driver.run();
  ASSERT_TRUE(report) << report.error().message;
  const Histogram& h = report->latency;
  EXPECT_EQ(report->counts.requests, 300u) << "offsets 0, 2, ... 598 ms are due in a 600 ms window";
  EXPECT_EQ(report->counts.errors, 0u);
  EXPECT_GE(h.min(), 2 * kMs) << "a timer never fires early";
  EXPECT_LT(h.percentile(50), 12 * kMs) << render_text(*report);
  EXPECT_NEAR(report->achieved_rate, 500, 100);
  EXPECT_NEAR(report->elapsed_s, 0.6, 0.2);
  ASSERT_EQ(report->runs.size(), 1u);
  EXPECT_EQ(report->runs[0].mode, "constant");
  EXPECT_EQ(report->runs[0].target, "fake://test");
  EXPECT_FALSE(report->runs[0].started_at.empty());
}

TEST(LoadDriver, DurationBoundWithWarmupCountsExactlyTheScheduledRequests) {
  Observed seen;
  auto options = constant_rate(1000, 500ms);
  options.warmup = 200ms;
  options.threads = 2;
  LoadDriver driver(options, delay_targets(100us, seen));
  auto report = driver.run();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->counts.warmup, 200u) << "requests due in the first 200 ms are warm-up";
  EXPECT_EQ(report->counts.requests, 500u) << "then exactly the 500 due in the window";
  EXPECT_EQ(report->latency.total_count(), 500u);
  EXPECT_EQ(seen.calls.load(), 700u);
  EXPECT_EQ(report->runs[0].threads, 2u);
}

TEST(LoadDriver, RequestBoundStopsAfterExactlyThatMany) {
  Observed seen;
  LoadOptions options;
  options.model = ConstantRate{2000};
  options.requests = 123;
  options.threads = 3;
  LoadDriver driver(options, delay_targets(200us, seen));
  const auto start = Clock::now();
  auto report = driver.run();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->counts.requests, 123u);
  EXPECT_EQ(seen.calls.load(), 123u);
  EXPECT_LT(Clock::now() - start, 1s) << "123 requests at 2000/s take about 62 ms";
}

TEST(LoadDriver, PoissonRunIsReproducibleFromItsSeed) {
  Observed seen;
  LoadOptions options;
  options.model = PoissonRate{2000};
  options.duration = 400ms;
  options.threads = 2;
  options.seed = 77;
  auto a = LoadDriver(options, delay_targets(100us, seen)).run();
  auto b = LoadDriver(options, delay_targets(100us, seen)).run();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->counts.requests, b->counts.requests) << "the arrivals due in the window depend on the seed only";
  EXPECT_NEAR(static_cast<double>(a->counts.requests), 800, 3 * std::sqrt(800.0));
  options.seed = 78;
  auto c = LoadDriver(options, delay_targets(100us, seen)).run();
  ASSERT_TRUE(c);
  EXPECT_NE(c->counts.requests, a->counts.requests);
}

TEST(LoadDriver, ClosedLoopKeepsConcurrencyRequestsOutstanding) {
  Observed seen;
  LoadOptions options;
  options.model = ClosedLoop{4};
  options.duration = 500ms;
  options.threads = 2;
  LoadDriver driver(options, delay_targets(2ms, seen));
  auto report = driver.run();
  ASSERT_TRUE(report);
  EXPECT_LE(seen.max_running.load(), 4);
  EXPECT_EQ(seen.max_running.load(), 4);
  // 4 workers, each ~2 ms per request: ~1000 requests in 500 ms, fewer on a loaded machine.
  EXPECT_GT(report->counts.requests, 200u);
  EXPECT_LE(report->counts.requests, 1004u);
  EXPECT_GE(report->latency.min(), 2 * kMs);
  EXPECT_EQ(report->runs[0].mode, "closed");
  EXPECT_EQ(report->runs[0].concurrency, 4u);
  EXPECT_NE(render_text(*report).find("closed loop: service time"), std::string::npos);
}

// A target that never answers: the cap bounds what is outstanding, the engine's timeout ends
// each request, and what could never be sent in the window is counted as unsent.
TEST(LoadDriver, InFlightCapBoundsADeadTargetAndCountsUnsentRequests) {
  Observed seen;
  auto options = constant_rate(1000, 500ms);
  options.max_in_flight = 10;
  options.timeout = 300ms;
  LoadDriver driver(options, delay_targets(1h, seen));
  auto report = driver.run();
  ASSERT_TRUE(report);
  EXPECT_EQ(seen.max_running.load(), 10);
  EXPECT_EQ(report->counts.ok, 0u);
  EXPECT_EQ(report->errors.at("timeout"), 20u) << "10 sent at once, timed out at ~300 ms, 10 more sent then";
  EXPECT_EQ(report->counts.unsent, 480u);
  EXPECT_EQ(report->counts.requests + report->counts.unsent, 500u);
  EXPECT_NE(render_text(*report).find("never sent"), std::string::npos);
}

// Errors are counted by kind, HRESULTs by code; exceptions from a target count as errors too.
class PatternTarget : public LoadTarget {
 public:
  asio::awaitable<Outcome> request() override {
    const int i = n_++;
    if (i % 10 == 1) co_return Outcome::hresult_error(0xC004F042);
    if (i % 10 == 2) co_return Outcome::failure(OutcomeKind::refused);
    if (i % 10 == 3) throw boost::system::system_error(boost::system::errc::make_error_code(boost::system::errc::connection_reset));
    if (i % 10 == 4) throw std::runtime_error("bug in a target");
    co_return Outcome::success();
  }

 private:
  int n_ = 0;
};

TEST(LoadDriver, ErrorsAreCountedByKind) {
  LoadOptions options;
  options.model = ConstantRate{5000};
  options.requests = 100;
  LoadDriver driver(options, [](const TargetContext&) { return std::make_unique<PatternTarget>(); });
  auto report = driver.run();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->counts.requests, 100u);
  EXPECT_EQ(report->counts.ok, 60u);
  EXPECT_EQ(report->errors.at("hresult:0xC004F042"), 10u);
  EXPECT_EQ(report->errors.at("refused"), 10u);
  EXPECT_EQ(report->errors.at("reset"), 10u);
  EXPECT_EQ(report->errors.at("other"), 10u);
  EXPECT_EQ(report->latency.total_count(), 60u) << "only successes are latencies";
}

TEST(LoadDriver, IntervalsCoverTheWindowAndAddUpToTheTotals) {
  Observed seen;
  auto options = constant_rate(1000, 1s);
  options.interval = 250ms;
  LoadDriver driver(options, delay_targets(1ms, seen));
  auto report = driver.run();
  ASSERT_TRUE(report);
  ASSERT_GE(report->intervals.size(), 4u);
  ASSERT_LE(report->intervals.size(), 5u) << "the last completions may spill into a fifth interval";
  Histogram sum;
  std::uint64_t ok = 0;
  for (std::size_t i = 0; i < report->intervals.size(); ++i) {
    EXPECT_EQ(report->intervals[i].index, i);
    EXPECT_DOUBLE_EQ(report->intervals[i].length_s, 0.25);
    ok += report->intervals[i].ok;
    ASSERT_TRUE(sum.merge(report->intervals[i].latency));
  }
  EXPECT_EQ(ok, report->counts.ok);
  EXPECT_EQ(sum, report->latency);
  EXPECT_GT(report->intervals[1].ok, 200u);
  EXPECT_TRUE(report_from_json(report_to_json(*report))) << "a real run's report is valid JSON of itself";
}

TEST(LoadDriver, StopEndsALongRunEarly) {
  Observed seen;
  LoadDriver driver(constant_rate(500, 30s), delay_targets(1ms, seen));
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    driver.stop();
  });
  const auto start = Clock::now();
  auto report = driver.run();
  stopper.join();
  ASSERT_TRUE(report);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_GT(report->counts.requests, 20u);
  EXPECT_EQ(report->counts.unsent, 0u) << "a stopped run does not invent unsent requests";
}

TEST(LoadDriver, ProgressIsReportedWhileRunning) {
  Observed seen;
  LoadDriver driver(constant_rate(1000, 500ms), delay_targets(1ms, seen));
  std::vector<Progress> lines;
  auto report = driver.run([&](const Progress& p) { lines.push_back(p); }, 100ms);
  ASSERT_TRUE(report);
  ASSERT_GE(lines.size(), 2u);
  for (std::size_t i = 1; i < lines.size(); ++i) EXPECT_GE(lines[i].sent, lines[i - 1].sent);
  EXPECT_GT(lines.back().sent, 0u);
  EXPECT_GT(lines.back().recent_rate, 0.0);
  EXPECT_EQ(lines.back().planned, 500ms);
  EXPECT_FALSE(format_progress(lines.back()).empty());
}

TEST(LoadDriver, InvalidOptionsAreRejected) {
  Observed seen;
  auto bad = [&](LoadOptions o) {
    auto r = LoadDriver(o, delay_targets(1ms, seen)).run();
    return r ? std::optional<Errc>{} : std::optional<Errc>{r.error().code};
  };
  LoadOptions no_bound;
  EXPECT_EQ(bad(no_bound), Errc::bad_argument);
  auto zero_threads = constant_rate(10, 100ms);
  zero_threads.threads = 0;
  EXPECT_EQ(bad(zero_threads), Errc::bad_argument);
  auto no_timeout = constant_rate(10, 100ms);
  no_timeout.timeout = 0s;
  EXPECT_EQ(bad(no_timeout), Errc::bad_argument);
  auto zero_rate = constant_rate(0, 100ms);
  EXPECT_EQ(bad(zero_rate), Errc::bad_argument);
  auto no_target = LoadDriver(constant_rate(10, 100ms), [](const TargetContext&) { return nullptr; }).run();
  ASSERT_FALSE(no_target);
  EXPECT_EQ(no_target.error().code, Errc::bad_argument);
  EXPECT_EQ(seen.calls.load(), 0u);
}

}  // namespace
}  // namespace kmslab::bench
