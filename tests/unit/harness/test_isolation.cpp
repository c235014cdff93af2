// `isolation: netns` without forking: how the loader decides it, the child's JSON result and its
// checks, how a skipped run is shown and counted, and the executor's choice of path.
#include "kmslab/harness/isolation.hpp"
#include "kmslab/harness/reports.hpp"
#include "kmslab/harness/scenario_loader.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace kmslab::harness {
namespace {

constexpr const char* kHead = R"(name: t
cause: 1b
simulator:
  dns: {zones: [{origin: corp.example}]}
  kms_hosts: [{name: kms1, publish: [corp.example]}]
expect: {findings: [tcp.filtered]}
)";

config::ConfigResult<Scenario> load_with_head(const std::string& rest) {
  return load_scenario_text(std::string(kHead) + rest, "s.yaml");
}

TEST(Isolation, DefaultIsNone) {
  auto s = load_with_head("faults: [{name: fw, target: kms, action: filtered}]\n");
  ASSERT_TRUE(s) << s.error().format();
  EXPECT_EQ(s->isolation, Isolation::none);
}

TEST(Isolation, NftablesModeImpliesNetns) {
  auto s = load_with_head("faults: [{name: fw, target: kms, action: filtered, params: {mode: nftables}}]\n");
  ASSERT_TRUE(s) << s.error().format();
  EXPECT_EQ(s->isolation, Isolation::netns);
  EXPECT_EQ(to_string(s->isolation), "netns");
}

TEST(Isolation, AStepAddingTheRuleAlsoNeedsIt) {
  auto s = load_scenario_text(R"(name: t
cause: 1b
simulator:
  dns: {zones: [{origin: corp.example}]}
  kms_hosts: [{name: kms1, publish: [corp.example]}]
steps:
  - {name: up, expect: {findings: []}}
  - name: firewalled
    faults: [{name: fw, target: kms, action: filtered, params: {mode: nftables}}]
    expect: {findings: [tcp.filtered]}
)",
                              "s.yaml");
  ASSERT_TRUE(s) << s.error().format();
  EXPECT_EQ(s->isolation, Isolation::netns);
}

TEST(Isolation, ExplicitNetnsAndItsErrors) {
  auto s = load_with_head("isolation: netns\n");
  ASSERT_TRUE(s) << s.error().format();
  EXPECT_EQ(s->isolation, Isolation::netns);

  auto contradiction = load_with_head("isolation: none\nfaults: [{name: fw, target: kms, action: filtered, params: {mode: nftables}}]\n");
  ASSERT_FALSE(contradiction);
  EXPECT_EQ(contradiction.error().line, 7) << contradiction.error().format();
  EXPECT_NE(contradiction.error().format().find("fault 'fw' (filtered, mode nftables) needs `isolation: netns`"),
            std::string::npos)
      << contradiction.error().format();

  auto unknown = load_with_head("isolation: docker\n");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().format().find("unknown isolation 'docker' (one of: none, netns)"), std::string::npos)
      << unknown.error().format();

  auto bad_mode = load_with_head("faults: [{name: fw, target: kms, action: filtered, params: {mode: iptables}}]\n");
  ASSERT_FALSE(bad_mode);
  EXPECT_NE(bad_mode.error().format().find("mode"), std::string::npos) << bad_mode.error().format();
}

ScenarioResult sample() {
  ScenarioResult r;
  r.status = Status::failed;
  r.error = "";
  StepResult s;
  s.name = "probe";
  s.passed = false;
  s.failures = {"finding tcp.filtered: expected, not reported"};
  s.expected = "tcp.filtered(error) failed 0xC004F074 exit 1";
  s.actual = "healthy 0x00000000 exit 0";
  s.report_text = "KMS activation probe\n";
  s.report_json = {{"schema", "kmslab-probe-report"}, {"findings", nlohmann::json::array()}};
  s.duration = std::chrono::microseconds(301234);
  r.steps = {s, s};
  r.steps[1].name = "second";
  r.steps[1].passed = true;
  return r;
}

TEST(IsolationJson, ResultRoundTrips) {
  const auto original = sample();
  const auto text = executor_result_to_json(original).dump();
  auto back = executor_result_from_json(nlohmann::json::parse(text));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->status, Status::failed);
  ASSERT_EQ(back->steps.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->steps[i].name, original.steps[i].name);
    EXPECT_EQ(back->steps[i].passed, original.steps[i].passed);
    EXPECT_EQ(back->steps[i].failures, original.steps[i].failures);
    EXPECT_EQ(back->steps[i].expected, original.steps[i].expected);
    EXPECT_EQ(back->steps[i].actual, original.steps[i].actual);
    EXPECT_EQ(back->steps[i].report_text, original.steps[i].report_text);
    EXPECT_EQ(back->steps[i].report_json, original.steps[i].report_json);
    EXPECT_EQ(back->steps[i].duration, original.steps[i].duration);
  }
  ScenarioResult skipped;
  skipped.status = Status::skipped;
  skipped.error = "no nft";
  auto s = executor_result_from_json(executor_result_to_json(skipped));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, Status::skipped);
  EXPECT_EQ(s->error, "no nft");
}

TEST(IsolationJson, WrongShapesAreOneSentenceErrors) {
  using nlohmann::json;
  EXPECT_FALSE(executor_result_from_json(json::parse("[1,2]")));
  EXPECT_FALSE(executor_result_from_json(json::value_t::discarded));
  auto unknown = executor_result_from_json({{"status", "great"}, {"error", ""}, {"steps", json::array()}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), "unknown status 'great'");
  auto missing = executor_result_from_json({{"status", "passed"}, {"error", ""}});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("malformed result"), std::string::npos) << missing.error();
  auto wrong = executor_result_to_json(sample());
  wrong["steps"][0]["passed"] = "yes";
  EXPECT_FALSE(executor_result_from_json(wrong));
}

TEST(IsolationChildArgs, CarryTheRunsIdentity) {
  EXPECT_EQ(isolated_child_args({"scenarios/tcp/f.yaml", "tcp.f", 42, 2, true}),
            (std::vector<std::string>{kNetnsChildCommand, "--file", "scenarios/tcp/f.yaml", "--name", "tcp.f",
                                      "--seed", "42", "--repeat", "2", "--mutant"}));
  EXPECT_EQ(isolated_child_args({"f.yaml", "n", 1, 0, false}).back(), "0");
}

TEST(IsolationChild, RefusesOutsideAKmslabNamespace) {
  EXPECT_EQ(run_isolated_child({std::string(KMSLAB_SOURCE_DIR) + "/scenarios/tcp/filtered-nftables.yaml",
                                "tcp.filtered-nftables", 1, 0, false}),
            2);
}

TEST(IsolationExecutor, SkipsWithTheReasonWhereNamespacesAreUnavailable) {
  ::setenv("KMSLAB_NO_NETNS", "1", 1);  // before the support check is first cached in this process
  auto s = load_with_head("isolation: netns\n");
  ASSERT_TRUE(s);
  std::atomic<bool> stop{false};
  const auto r = make_executor()(*s, RunContext{1, 0, false, &stop});
  EXPECT_EQ(r.status, Status::skipped);
  EXPECT_NE(r.error.find("needs isolation: netns, but disabled by KMSLAB_NO_NETNS=1"), std::string::npos) << r.error;
  EXPECT_TRUE(r.steps.empty()) << "nothing ran";
  ::unsetenv("KMSLAB_NO_NETNS");
}

SuiteResult suite_with_skip() {
  SuiteResult suite;
  suite.seed = 3;
  ScenarioResult a;
  a.name = "tcp.filtered";
  a.cause = "1b";
  a.status = Status::passed;
  ScenarioResult b;
  b.name = "tcp.filtered-nftables";
  b.cause = "1b";
  b.status = Status::skipped;
  b.error = "needs isolation: netns, but no CAP_NET_ADMIN";
  suite.results = {a, b};
  return suite;
}

TEST(SkippedRuns, ShownCountedAndNotFailuresUnlessAsked) {
  const auto suite = suite_with_skip();
  EXPECT_EQ(suite_exit_code(suite), 0);
  EXPECT_EQ(suite_exit_code(suite, true), 1) << "--fail-on-skip";
  const auto table = render_table(suite, {false, false});
  EXPECT_NE(table.find("SKIP"), std::string::npos) << table;
  EXPECT_NE(table.find("1 skipped (not run on this machine, not passed):\n"
                       "  SKIP tcp.filtered-nftables: needs isolation: netns, but no CAP_NET_ADMIN\n"),
            std::string::npos)
      << "the reason is printed even without details:\n"
      << table;
  const auto xml = render_junit(suite);
  EXPECT_NE(xml.find("skipped=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped message=\"needs isolation: netns, but no CAP_NET_ADMIN\"/>"), std::string::npos) << xml;
  const auto json = suite_to_json(suite);
  EXPECT_EQ(json["totals"]["skipped"], 1);
  EXPECT_EQ(json["totals"]["passed"], 1);
  EXPECT_EQ(json["scenarios"][1]["status"], "skipped");
  EXPECT_EQ(json["exit_code"], 0);
}

TEST(SkippedRuns, AFailureStillFailsTheSuite) {
  auto suite = suite_with_skip();
  suite.results[0].status = Status::failed;
  EXPECT_EQ(suite_exit_code(suite), 1);
}

}  // namespace
}  // namespace kmslab::harness
