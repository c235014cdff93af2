// `kmslab load` option logic (plan_load) and the exit decision (judge), without running anything.
#include "kmslab/bench/load_plan.hpp"

#include <gtest/gtest.h>

namespace kmslab::bench {
namespace {

using namespace std::chrono_literals;

LoadArgs args(std::string target = "kms://127.0.0.1:1688") {
  LoadArgs a;
  a.target = std::move(target);
  return a;
}

TEST(LoadDuration, ParsesUnitsAndRefusesGarbage) {
  EXPECT_EQ(parse_load_duration("10s"), std::chrono::nanoseconds(10s));
  EXPECT_EQ(parse_load_duration("10"), std::chrono::nanoseconds(10s));
  EXPECT_EQ(parse_load_duration("500ms"), std::chrono::nanoseconds(500ms));
  EXPECT_EQ(parse_load_duration("1.5s"), std::chrono::nanoseconds(1500ms));
  EXPECT_EQ(parse_load_duration("250us"), std::chrono::nanoseconds(250us));
  EXPECT_EQ(parse_load_duration("2m"), std::chrono::nanoseconds(120s));
  EXPECT_EQ(parse_load_duration("0s"), std::chrono::nanoseconds(0));
  for (const char* bad : {"", "s", "-1s", "10 s", "10x", "1.2.3s", "8d", "200h", "nan"})
    EXPECT_FALSE(parse_load_duration(bad)) << bad;
}

TEST(LoadPlan, DefaultsAreBoundedAndSaySo) {
  auto plan = plan_load(args());
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->options.model, LoadModel(ConstantRate{kDefaultRate}));
  EXPECT_EQ(plan->options.duration, std::chrono::nanoseconds(kDefaultDuration));
  EXPECT_EQ(plan->options.requests, 0u);
  EXPECT_EQ(plan->options.timeout, std::chrono::nanoseconds(2s));
  EXPECT_EQ(plan->options.target_name, "kms://127.0.0.1:1688");
  ASSERT_EQ(plan->notes.size(), 2u);
  EXPECT_NE(plan->notes[0].find("open loop"), std::string::npos);
  EXPECT_NE(plan->notes[1].find("running for 10 s"), std::string::npos);
  EXPECT_EQ(plan->max_error_rate, 0);
  EXPECT_EQ(plan->settings.timeout, std::chrono::nanoseconds(2s));
}

TEST(LoadPlan, RequestsAloneBoundTheRunWithoutADefaultDuration) {
  auto a = args();
  a.rate = 5000;
  a.requests = 200;
  auto plan = plan_load(a);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->options.duration.count(), 0);
  EXPECT_EQ(plan->options.requests, 200u);
  EXPECT_TRUE(plan->notes.empty());
}

TEST(LoadPlan, ModelsAndTargetSettings) {
  auto a = args();
  a.rate = 250;
  a.poisson = true;
  a.duration = "3s";
  a.warmup = "500ms";
  a.threads = 2;
  a.timeout = "750ms";
  a.protocol = 5;
  a.product = "Office Professional Plus 2019";
  a.keepalive = true;
  a.seed = 42;
  a.max_in_flight = 64;
  a.max_error_rate = 0.01;
  a.interval_log = true;
  auto plan = plan_load(a);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->options.model, LoadModel(PoissonRate{250}));
  EXPECT_EQ(plan->options.duration, std::chrono::nanoseconds(3s));
  EXPECT_EQ(plan->options.warmup, std::chrono::nanoseconds(500ms));
  EXPECT_EQ(plan->options.threads, 2u);
  EXPECT_EQ(plan->options.seed, 42u);
  EXPECT_EQ(plan->options.max_in_flight, 64u);
  EXPECT_EQ(plan->options.interval, std::chrono::nanoseconds(1s));
  EXPECT_EQ(plan->settings.protocol, std::optional<std::uint16_t>(5));
  EXPECT_EQ(plan->settings.product, "Office Professional Plus 2019");
  EXPECT_TRUE(plan->settings.keepalive);
  EXPECT_EQ(plan->settings.timeout, std::chrono::nanoseconds(750ms));
  EXPECT_DOUBLE_EQ(plan->max_error_rate, 0.01);

  auto closed = args("dns://127.0.0.1:5353");
  closed.concurrency = 16;
  closed.requests = 1000;
  closed.domain = "corp.example";
  auto plan2 = plan_load(closed);
  ASSERT_TRUE(plan2) << plan2.error().message;
  EXPECT_EQ(plan2->options.model, LoadModel(ClosedLoop{16}));
  EXPECT_EQ(plan2->settings.domain, "corp.example");
}

TEST(LoadPlan, EachUsageErrorNamesItsOption) {
  struct Case {
    std::function<void(LoadArgs&)> set;
    const char* says;
  };
  const Case cases[] = {
      {[](LoadArgs& a) { a.target = "kms//127.0.0.1"; }, "no scheme"},
      {[](LoadArgs& a) { a.target = "ftp://127.0.0.1"; }, "unknown scheme"},
      {[](LoadArgs& a) { a.target = "kms://127.0.0.1:70000"; }, "not in 1..65535"},
      {[](LoadArgs& a) { a.rate = 10; a.concurrency = 2; }, "exclude each other"},
      {[](LoadArgs& a) { a.poisson = true; }, "--poisson needs --rate"},
      {[](LoadArgs& a) { a.rate = 0; }, "--rate"},
      {[](LoadArgs& a) { a.rate = 1e9; }, "--rate"},
      {[](LoadArgs& a) { a.concurrency = 0; }, "--concurrency"},
      {[](LoadArgs& a) { a.duration = "ten"; }, "--duration 'ten'"},
      {[](LoadArgs& a) { a.duration = "0s"; }, "--duration must be > 0"},
      {[](LoadArgs& a) { a.warmup = "-1s"; }, "--warmup"},
      {[](LoadArgs& a) { a.timeout = "0ms"; }, "--timeout must be > 0"},
      {[](LoadArgs& a) { a.timeout = "soon"; }, "--timeout 'soon'"},
      {[](LoadArgs& a) { a.threads = 0; }, "--threads"},
      {[](LoadArgs& a) { a.max_in_flight = 0; }, "--max-in-flight"},
      {[](LoadArgs& a) { a.max_error_rate = 1.5; }, "--max-error-rate"},
      {[](LoadArgs& a) { a.max_error_rate = -0.1; }, "--max-error-rate"},
      {[](LoadArgs& a) { a.protocol = 3; }, "--protocol must be 4, 5 or 6"},
      {[](LoadArgs& a) { a.target = "dns://127.0.0.1"; a.keepalive = true; a.domain = "x.example"; }, "--keepalive"},
      {[](LoadArgs& a) { a.target = "dns://127.0.0.1"; }, "--domain"},
  };
  for (const auto& c : cases) {
    auto a = args();
    c.set(a);
    auto plan = plan_load(a);
    ASSERT_FALSE(plan) << c.says;
    EXPECT_EQ(plan.error().code, Errc::bad_argument);
    EXPECT_NE(plan.error().message.find(c.says), std::string::npos) << plan.error().message;
  }
}

LoadReport report(std::uint64_t ok, std::uint64_t errors, std::uint64_t unsent) {
  LoadReport r;
  r.counts.ok = ok;
  r.counts.errors = errors;
  r.counts.requests = ok + errors;
  r.counts.unsent = unsent;
  return r;
}

TEST(Judge, AnyFailureFailsByDefaultAndTheRateAllowsSome) {
  EXPECT_TRUE(judge(report(200, 0, 0), 0).passed);
  auto one_error = judge(report(199, 1, 0), 0);
  EXPECT_FALSE(one_error.passed);
  EXPECT_EQ(one_error.failed, 1u);
  EXPECT_EQ(one_error.attempted, 200u);
  EXPECT_NE(one_error.summary.find("FAILED: 1 of 200"), std::string::npos);
  EXPECT_TRUE(judge(report(199, 1, 0), 0.005).passed);
  EXPECT_FALSE(judge(report(198, 2, 0), 0.005).passed);
  // Requests the generator never sent count as failures: the target did not keep up.
  auto unsent = judge(report(100, 0, 100), 0.25);
  EXPECT_FALSE(unsent.passed);
  EXPECT_DOUBLE_EQ(unsent.failed_fraction, 0.5);
  EXPECT_TRUE(judge(report(0, 10, 0), 1.0).passed);
  // Nothing measured is never a pass.
  EXPECT_FALSE(judge(report(0, 0, 0), 1.0).passed);
}

}  // namespace
}  // namespace kmslab::bench
