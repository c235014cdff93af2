// The suite runner with stand-in executors: plan order kept under parallel jobs, filters, seeds,
// repeats, mutants, exceptions and interruption.
#include "kmslab/harness/expectations.hpp"
#include "kmslab/harness/runner.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

namespace kmslab::harness {
namespace {

Scenario scenario(std::string name, std::string cause, std::vector<client::FindingCode> findings = {}) {
  Scenario s;
  s.name = std::move(name);
  s.cause = std::move(cause);
  s.file = s.name + ".yaml";
  Step step;
  step.name = "probe";
  for (auto c : findings) step.expect.findings.push_back({c, std::nullopt});
  s.steps.push_back(step);
  return s;
}

// Checks each step's expectation against a diagnosis reporting exactly `reported`.
ScenarioExecutor fake(std::vector<client::FindingCode> reported) {
  return [reported](const Scenario& s, const RunContext&) {
    client::Diagnosis d;
    for (auto c : reported) {
      client::Finding f;
      f.code = c;
      d.findings.push_back(f);
    }
    ScenarioResult r;
    r.status = Status::passed;
    for (const auto& step : s.steps) {
      const auto check = check_expectation(step.expect, d, Micros{0});
      StepResult sr;
      sr.name = step.name;
      sr.passed = check.passed;
      sr.failures = check.failures;
      if (!check.passed) r.status = Status::failed;
      r.steps.push_back(sr);
    }
    return r;
  };
}

TEST(Runner, KeepsPlanOrderUnderParallelJobs) {
  std::vector<Scenario> scenarios;
  for (int i = 0; i < 8; ++i) scenarios.push_back(scenario("s" + std::to_string(i), "1a"));
  std::mutex mutex;
  std::set<std::thread::id> threads;
  RunOptions options;
  options.jobs = 3;
  std::size_t finished = 0;
  options.on_finish = [&](const ScenarioResult&, std::size_t done, std::size_t total) {
    EXPECT_EQ(total, 8u);
    finished = std::max(finished, done);
  };
  const auto suite = run_suite(scenarios, options, [&](const Scenario& s, const RunContext&) {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    // Later scenarios finish first.
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * (8 - (s.name[1] - '0'))));
    ScenarioResult r;
    r.status = Status::passed;
    return r;
  });
  ASSERT_EQ(suite.results.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(suite.results[static_cast<std::size_t>(i)].name, "s" + std::to_string(i));
  EXPECT_EQ(suite.count(Status::passed), 8u);
  EXPECT_EQ(finished, 8u);
  EXPECT_LE(threads.size(), 3u);
  EXPECT_EQ(suite_exit_code(suite), 0);
  EXPECT_GE(suite.results[0].duration, std::chrono::milliseconds(16));
}

TEST(Runner, FilterMatchesNameCauseOrTag) {
  std::vector<Scenario> scenarios{scenario("dns.nxdomain", "1a"), scenario("tcp.refused", "1b"),
                                  scenario("slow.bind", "slow")};
  scenarios[2].tags = {"rpc"};
  auto names = [&](const std::string& filter) {
    RunOptions options;
    options.filter = filter;
    std::vector<std::string> out;
    for (const auto& r : run_suite(scenarios, options, fake({})).results) out.push_back(r.name);
    return out;
  };
  EXPECT_EQ(names("dns.*"), std::vector<std::string>{"dns.nxdomain"});
  EXPECT_EQ(names("1b"), std::vector<std::string>{"tcp.refused"});
  EXPECT_EQ(names("rpc"), std::vector<std::string>{"slow.bind"});
  EXPECT_EQ(names("").size(), 3u);
  EXPECT_TRUE(names("nothing*").empty());
}

TEST(Runner, SeedsDeriveFromSuiteSeedNameAndRepeat) {
  std::vector<Scenario> scenarios{scenario("a", "1a"), scenario("b", "1a")};
  scenarios[1].seed = 1234;
  RunOptions options;
  options.seed = 7;
  options.repeat = 3;
  std::mutex mutex;
  std::vector<std::uint64_t> seen;
  const auto suite = run_suite(scenarios, options, [&](const Scenario&, const RunContext& ctx) {
    std::lock_guard lock(mutex);
    seen.push_back(ctx.seed);
    ScenarioResult r;
    r.status = Status::passed;
    return r;
  });
  ASSERT_EQ(suite.results.size(), 6u);
  EXPECT_EQ(suite.results[0].seed, derive_seed(7, "a", 0));
  EXPECT_EQ(suite.results[3].seed, 1234u) << "a scenario's own seed wins";
  EXPECT_EQ(suite.results[4].display_name(), "b#2");
  std::set<std::uint64_t> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), 6u) << "every repeat has its own seed";
  EXPECT_NE(derive_seed(7, "a", 0), derive_seed(8, "a", 0));
  EXPECT_EQ(derive_seed(7, "a", 1), derive_seed(7, "a", 1));
}

TEST(Runner, MutantsMustFail) {
  using client::FindingCode;
  std::vector<Scenario> scenarios{scenario("good", "1b", {FindingCode::tcp_refused})};
  RunOptions options;
  options.mutate = true;
  // The executor reports what the scenario expects: the original passes and the mutant is killed.
  auto suite = run_suite(scenarios, options, fake({FindingCode::tcp_refused}));
  ASSERT_EQ(suite.results.size(), 2u);
  EXPECT_EQ(suite.results[0].status, Status::passed);
  EXPECT_TRUE(suite.results[1].mutant);
  EXPECT_EQ(suite.results[1].status, Status::passed) << "killed mutant";
  EXPECT_NE(suite.results[1].mutation.find("[tcp.refused] -> ["), std::string::npos) << suite.results[1].mutation;
  EXPECT_EQ(suite.results[1].display_name(), "good [mutant]");

  // A vacuous expectation (nothing checked beyond "some finding may appear") survives mutation.
  auto vacuous = scenario("vacuous", "1b");
  vacuous.steps[0].expect.exact_findings = false;
  // An executor that ignores expectations entirely: every run passes, so the mutant survives.
  suite = run_suite({vacuous}, options, [](const Scenario&, const RunContext&) {
    ScenarioResult r;
    r.status = Status::passed;
    StepResult s;
    s.passed = true;
    r.steps.push_back(s);
    return r;
  });
  EXPECT_EQ(suite.results[1].status, Status::failed) << "survived mutant fails the run";
  EXPECT_EQ(suite_exit_code(suite), 1);
}

TEST(Runner, ExceptionBecomesAnErrorRun) {
  const auto suite = run_suite({scenario("boom", "1a")}, RunOptions{}, [](const Scenario&, const RunContext&) -> ScenarioResult {
    throw std::runtime_error("kaput");
  });
  ASSERT_EQ(suite.results.size(), 1u);
  EXPECT_EQ(suite.results[0].status, Status::error);
  EXPECT_NE(suite.results[0].error.find("kaput"), std::string::npos);
}

TEST(Runner, InterruptionMarksTheRestNotRun) {
  std::vector<Scenario> scenarios;
  for (int i = 0; i < 6; ++i) scenarios.push_back(scenario("s" + std::to_string(i), "1a"));
  std::atomic<bool> stop{false};
  RunOptions options;
  options.jobs = 1;
  options.stop = &stop;
  const auto suite = run_suite(scenarios, options, [&](const Scenario& s, const RunContext& ctx) {
    EXPECT_EQ(ctx.stop, &stop);
    ScenarioResult r;
    r.status = Status::passed;
    if (s.name == "s1") stop = true;  // the signal arrives while s1 runs; s1 still completes
    return r;
  });
  ASSERT_EQ(suite.results.size(), 6u);
  EXPECT_TRUE(suite.interrupted);
  EXPECT_EQ(suite.results[0].status, Status::passed);
  EXPECT_EQ(suite.results[1].status, Status::passed);
  for (std::size_t i = 2; i < 6; ++i) {
    EXPECT_EQ(suite.results[i].status, Status::not_run);
    EXPECT_EQ(suite.results[i].error, "not run (interrupted)");
  }
  EXPECT_EQ(suite_exit_code(suite), kExitInterrupted);
}

}  // namespace
}  // namespace kmslab::harness
