// The real executor: catalog scenarios run end to end (embedded simulator on ephemeral loopback
// ports + the probe), mutants of them are killed, and a scenario is bounded by its timeout and by
// interruption.
#include "kmslab/harness/runner.hpp"
#include "kmslab/harness/scenario_loader.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace kmslab::harness {
namespace {

std::string catalog(const std::string& rel) { return std::string(KMSLAB_SOURCE_DIR) + "/scenarios/" + rel; }

std::vector<Scenario> load(const std::vector<std::string>& files) {
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(catalog(f));
  auto suite = load_scenarios(paths);
  for (const auto& e : suite.errors) ADD_FAILURE() << e.format();
  return suite.scenarios;
}

std::string explain(const SuiteResult& suite) {
  std::string out;
  for (const auto& r : suite.results) {
    if (r.status == Status::passed) continue;
    out += r.display_name() + ": " + std::string(to_string(r.status)) + " " + r.error + "\n";
    for (const auto& s : r.steps) {
      for (const auto& f : s.failures) out += "  - " + f + "\n";
      out += s.report_text;
    }
  }
  return out;
}

TEST(RunScenarios, CatalogSampleAndItsMutants) {
  const auto scenarios = load({"baseline/v6-healthy.yaml", "baseline/v4-healthy.yaml", "dns/srv-missing.yaml",
                               "key-type/product-not-served.yaml", "key-type/count-too-low.yaml",
                               "clock/host-skew.yaml"});
  ASSERT_EQ(scenarios.size(), 6u);
  RunOptions options;
  options.jobs = 2;
  options.mutate = true;
  const auto suite = run_suite(scenarios, options, run_scenario);
  ASSERT_EQ(suite.results.size(), 12u);
  EXPECT_EQ(suite.count(Status::passed), 12u) << explain(suite);
  for (const auto& r : suite.results) {
    ASSERT_FALSE(r.steps.empty()) << r.display_name();
    EXPECT_FALSE(r.steps[0].report_text.empty()) << "the probe's report is kept for system-out";
    EXPECT_TRUE(r.steps[0].report_json.is_object());
  }
}

Scenario sleeper(std::chrono::milliseconds timeout) {
  auto s = load_scenario_text(R"(name: sleeper
cause: baseline
simulator:
  dns: {zones: [{origin: corp.example}]}
  kms_hosts: [{name: kms1, publish: [corp.example]}]
  sntp: {enabled: false}
steps:
  - name: wait
    sleep: 10s
    expect: {exit: 0}
)",
                              "sleeper.yaml");
  EXPECT_TRUE(s) << s.error().format();
  s->timeout = timeout;
  return *s;
}

TEST(RunScenarios, TimeoutBoundsAScenario) {
  const auto begin = std::chrono::steady_clock::now();
  const auto r = run_scenario(sleeper(std::chrono::milliseconds(300)), RunContext{});
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(r.status, Status::error);
  EXPECT_NE(r.error.find("timed out after 300 ms in step 'wait'"), std::string::npos) << r.error;
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(RunScenarios, InterruptionEndsARunningScenario) {
  std::atomic<bool> stop{false};
  std::thread signal([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  });
  RunContext ctx;
  ctx.stop = &stop;
  const auto begin = std::chrono::steady_clock::now();
  const auto r = run_scenario(sleeper(std::chrono::seconds(60)), ctx);
  signal.join();
  EXPECT_EQ(r.status, Status::not_run);
  EXPECT_EQ(r.error, "not run (interrupted)");
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
}

TEST(RunScenarios, SiteStartFailureIsAnError) {
  auto s = load_scenario_text(R"(name: bad-listen
cause: baseline
simulator:
  dns: {zones: [{origin: corp.example}]}
  kms_hosts: [{name: kms1, listen: "192.0.2.1:0", publish: [corp.example]}]
  sntp: {enabled: false}
expect: {exit: 0}
)",
                              "bad-listen.yaml");
  ASSERT_TRUE(s) << s.error().format();
  const auto r = run_scenario(*s, RunContext{});
  EXPECT_EQ(r.status, Status::error);
  EXPECT_NE(r.error.find("the simulator did not start"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace kmslab::harness
