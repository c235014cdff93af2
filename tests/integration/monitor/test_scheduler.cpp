// The scheduler on a real io_context with a fake probe: intervals, a slow target beside a fast
// one, the concurrency bound, the module deadline, and a restart that retires the old loops.
// Timing bounds are generous: the machine is shared.
#include <gtest/gtest.h>

#include "watch_test_support.hpp"

namespace {

using namespace kmslab::monitor;
using namespace kmslab::monitor::test;

WatchConfig config_with(std::vector<WatchTarget> targets, std::size_t concurrency = 4,
                        std::chrono::milliseconds timeout = 5000ms) {
  WatchConfig c;
  c.concurrency = concurrency;
  c.modules["m"].name = "m";
  c.modules["m"].timeout = timeout;
  c.targets = std::move(targets);
  return c;
}

WatchTarget target(std::string domain, std::chrono::milliseconds interval, std::chrono::milliseconds jitter = 0ms) {
  return WatchTarget{domain, "m", domain, interval, jitter};
}

TEST(Scheduler, EachTargetRunsOnItsOwnInterval) {
  asio::io_context io;
  WatchMetrics metrics(kDefaultBuckets, "t");
  FakeProbe fake;
  Scheduler scheduler(io.get_executor(), metrics, fake.function());
  scheduler.start(config_with({target("a.example", 100ms), target("b.example", 300ms, 50ms)}));
  io.run_for(1200ms);
  scheduler.stop();
  EXPECT_GE(fake.calls["a.example"], 6);
  EXPECT_LE(fake.calls["a.example"], 14);
  EXPECT_GE(fake.calls["b.example"], 2);
  EXPECT_LE(fake.calls["b.example"], 6);
  EXPECT_EQ(scheduler.runs(), static_cast<std::uint64_t>(fake.calls["a.example"] + fake.calls["b.example"]));
  EXPECT_NE(metrics.render().find("kmslab_probe_success{target=\"a.example\",module=\"m\"} 1"), std::string::npos);
}

TEST(Scheduler, ASlowTargetNeverDelaysAFastOne) {
  asio::io_context io;
  WatchMetrics metrics(kDefaultBuckets, "t");
  FakeProbe fake;
  fake.delay["slow.example"] = 3000ms;
  Scheduler scheduler(io.get_executor(), metrics, fake.function());
  scheduler.start(config_with({target("slow.example", 100ms), target("fast.example", 100ms)}, 2));
  io.run_for(1000ms);
  scheduler.stop();
  EXPECT_EQ(fake.calls["slow.example"], 1) << "still in its first probe";
  EXPECT_GE(fake.calls["fast.example"], 5);
}

TEST(Scheduler, NeverRunsMoreProbesThanTheConcurrencyBound) {
  asio::io_context io;
  WatchMetrics metrics(kDefaultBuckets, "t");
  FakeProbe fake;
  std::vector<WatchTarget> targets;
  for (int i = 0; i < 5; ++i) {
    const auto name = "t" + std::to_string(i) + ".example";
    fake.delay[name] = 150ms;
    targets.push_back(target(name, 100ms));
  }
  Scheduler scheduler(io.get_executor(), metrics, fake.function());
  scheduler.start(config_with(targets, 2));
  io.run_for(1200ms);
  scheduler.stop();
  EXPECT_EQ(fake.max_in_flight, 2);
  for (const auto& t : targets) EXPECT_GE(fake.calls[t.target], 1) << t.name << " starved";
}

TEST(Scheduler, AProbePastTheModuleDeadlineCountsAsATimeout) {
  asio::io_context io;
  WatchMetrics metrics(kDefaultBuckets, "t");
  FakeProbe fake;
  fake.delay["hang.example"] = 10000ms;
  Scheduler scheduler(io.get_executor(), metrics, fake.function());
  scheduler.start(config_with({target("hang.example", 100ms)}, 1, 200ms));
  io.run_for(1000ms);
  scheduler.stop();
  EXPECT_GE(fake.calls["hang.example"], 2) << "the deadline freed the slot for the next run";
  const auto page = metrics.render();
  EXPECT_EQ(page.find("result=\"timeout\"} 0"), std::string::npos) << page;
  EXPECT_NE(page.find("kmslab_probe_success{target=\"hang.example\",module=\"m\"} 0"), std::string::npos) << page;
}

TEST(Scheduler, RestartRetiresTheOldTargets) {
  asio::io_context io;
  WatchMetrics metrics(kDefaultBuckets, "t");
  FakeProbe fake;
  Scheduler scheduler(io.get_executor(), metrics, fake.function());
  scheduler.start(config_with({target("old.example", 100ms)}));
  io.run_for(350ms);
  const int old_calls = fake.calls["old.example"];
  EXPECT_GE(old_calls, 1);
  scheduler.start(config_with({target("new.example", 100ms)}));
  io.run_for(500ms);
  scheduler.stop();
  EXPECT_EQ(fake.calls["old.example"], old_calls);
  EXPECT_GE(fake.calls["new.example"], 2);
}

TEST(Scheduler, SameSeedSameProbeSeeds) {
  std::vector<std::uint64_t> seeds[2];
  for (int round = 0; round < 2; ++round) {
    asio::io_context io;
    WatchMetrics metrics(kDefaultBuckets, "t");
    Scheduler scheduler(io.get_executor(), metrics, [&](kmslab::client::ProbeConfig c) -> asio::awaitable<kmslab::client::ProbeRun> {
      seeds[round].push_back(c.seed);
      co_return canned_run(true);
    });
    scheduler.start(config_with({target("a.example", 100ms)}));
    io.run_for(350ms);
    scheduler.stop();
  }
  ASSERT_GE(std::min(seeds[0].size(), seeds[1].size()), 2u);
  for (std::size_t i = 0; i < std::min(seeds[0].size(), seeds[1].size()); ++i) EXPECT_EQ(seeds[0][i], seeds[1][i]);
  EXPECT_NE(seeds[0][0], seeds[0][1]) << "each run gets its own seed";
}

}  // namespace
