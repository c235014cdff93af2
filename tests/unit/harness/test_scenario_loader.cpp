// Scenario loading: the model read from YAML, and every class of mistake reported at
// file:line:column with the key path and, for a typo, the nearest valid key or value.
#include "kmslab/harness/scenario_loader.hpp"

#include <gtest/gtest.h>

#include "hostile_yaml.hpp"

#include <filesystem>
#include <fstream>

namespace kmslab::harness {
namespace {

constexpr const char* kSite = R"(simulator:
  dns:
    zones:
      - origin: corp.example
  kms_hosts:
    - name: kms1
      publish: [corp.example]
    - name: kms2
      publish: [{domain: corp.example, priority: 10}]
)";

std::string with_site(std::string_view rest) { return std::string("name: t\ncause: 1b\n") + kSite + std::string(rest); }

config::ConfigResult<Scenario> load(const std::string& text) { return load_scenario_text(text, "s.yaml"); }

// Asserts an error at line:column whose message contains `needle`.
void expect_error(const std::string& text, int line, int column, std::string_view needle) {
  auto s = load(text);
  ASSERT_FALSE(s) << "loaded, expected an error containing: " << needle;
  EXPECT_EQ(s.error().file, "s.yaml");
  EXPECT_EQ(s.error().line, line) << s.error().format();
  EXPECT_EQ(s.error().column, column) << s.error().format();
  EXPECT_NE(s.error().format().find(needle), std::string::npos) << s.error().format();
}

TEST(ScenarioLoader, ReadsAFullScenario) {
  auto s = load(with_site(R"(description: primary refused, secondary works
tags: [failover, tcp]
seed: 7
timeout: 5s
probe:
  domains: corp.example
  protocol: 5
  budgets: {tcp.connect: 250ms}
  connect_timeout: 300ms
  ntp: true
expect:
  findings: [tcp.refused, {code: failover.used, severity: warning}]
  absent: [dns.srv_missing]
  verdict: degraded
  hresult: 0
  exit: 0
  phases:
    tcp.connect: {min: 0ms, max: 2s, outcome: failed}
    kms.activate: {occurrence: 0, max: 1500}
  total: {max: 5s}
)"));
  ASSERT_TRUE(s) << s.error().format();
  EXPECT_EQ(s->name, "t");
  EXPECT_EQ(s->cause, "1b");
  EXPECT_EQ(s->tags, (std::vector<std::string>{"failover", "tcp"}));
  EXPECT_EQ(s->seed, 7u);
  EXPECT_EQ(s->timeout, std::chrono::seconds(5));
  ASSERT_EQ(s->simulator.kms_hosts.size(), 2u);
  ASSERT_EQ(s->steps.size(), 1u);
  const auto& step = s->steps[0];
  EXPECT_EQ(step.probe.domains, std::vector<std::string>{"corp.example"});
  EXPECT_EQ(step.probe.protocol, 5);
  EXPECT_TRUE(step.probe.ntp);
  EXPECT_EQ(step.probe.connect_timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(step.probe.budgets.at(client::Phase::tcp_connect), std::chrono::milliseconds(250));
  const auto& e = step.expect;
  ASSERT_EQ(e.findings.size(), 2u);
  EXPECT_EQ(e.findings[0].code, client::FindingCode::tcp_refused);
  EXPECT_FALSE(e.findings[0].severity);
  EXPECT_EQ(e.findings[1].severity, client::Severity::warning);
  EXPECT_EQ(e.absent, std::vector<client::FindingCode>{client::FindingCode::dns_srv_missing});
  EXPECT_EQ(e.verdict, client::Verdict::degraded);
  EXPECT_EQ(e.windows_code, 0u);
  EXPECT_EQ(e.exit_code, 0);
  ASSERT_EQ(e.phases.size(), 2u);
  EXPECT_EQ(e.phases[0].phase, client::Phase::tcp_connect);
  EXPECT_EQ(e.phases[0].max, std::chrono::seconds(2));
  EXPECT_EQ(e.phases[0].outcome, client::PhaseOutcome::failed);
  EXPECT_EQ(e.phases[1].max, std::chrono::milliseconds(1500)) << "a bare number is milliseconds";
  EXPECT_EQ(e.total_max, std::chrono::seconds(5));
}

TEST(ScenarioLoader, NameDefaultsToTheFileStem) {
  auto s = load_scenario_text(std::string("cause: baseline\n") + kSite + "expect: {findings: []}\n", "dir/v6-healthy.yaml");
  ASSERT_TRUE(s) << s.error().format();
  EXPECT_EQ(s->name, "v6-healthy");
  EXPECT_TRUE(s->steps[0].expect.findings.empty());
  EXPECT_TRUE(s->steps[0].expect.exact_findings);
}

TEST(ScenarioLoader, StepsInheritAndOverrideTheProbe) {
  auto s = load(with_site(R"(probe: {protocol: 4, connect_timeout: 300ms}
steps:
  - name: primary up
    expect: {findings: []}
  - name: primary refused
    sleep: 20ms
    probe: {protocol: 6}
    expect: {findings: [tcp.refused, failover.used]}
)"));
  ASSERT_TRUE(s) << s.error().format();
  ASSERT_EQ(s->steps.size(), 2u);
  EXPECT_EQ(s->steps[0].name, "primary up");
  EXPECT_EQ(s->steps[0].probe.protocol, 4);
  EXPECT_EQ(s->steps[1].probe.protocol, 6);
  EXPECT_EQ(s->steps[1].probe.connect_timeout, std::chrono::milliseconds(300)) << "inherited";
  EXPECT_EQ(s->steps[1].sleep, std::chrono::milliseconds(20));
}

TEST(ScenarioLoader, UnknownTopLevelKeySuggestsTheNearest) {
  expect_error(with_site("expect: {findings: []}\nprobee: {}\n"), 13, 1, "unknown key 'probee' (did you mean 'probe'?)");
}

TEST(ScenarioLoader, UnknownKeyInsideTheSimulatorIsLocated) {
  expect_error("name: t\ncause: 1a\nsimulator:\n  kms_hosts:\n    - name: kms1\n      protocol: [4]\nexpect: {exit: 0}\n", 6, 7,
               "did you mean 'protocols'?");
}

TEST(ScenarioLoader, UnknownExpectKeyAndFindingCode) {
  expect_error(with_site("expect:\n  finding: [tcp.refused]\n"), 13, 3, "did you mean 'findings'?");
  expect_error(with_site("expect:\n  findings: [tcp.refsued]\n"), 13, 14, "did you mean 'tcp.refused'?");
  expect_error(with_site("expect:\n  phases: {tcp.conect: {max: 1s}}\n"), 13, 24, "did you mean 'tcp.connect'?");
}

TEST(ScenarioLoader, WrongTypesAreLocated) {
  expect_error(with_site("probe: {dns_tries: many}\nexpect: {exit: 1}\n"), 12, 20, "expected an integer");
  expect_error(with_site("expect: {exit: 1, exact: maybe}\n"), 12, 26, "expected true or false");
  expect_error(with_site("expect: {hresult: C004F074}\n"), 12, 19, "expected an HRESULT");
  expect_error(with_site("probe: {connect_timeout: soon}\nexpect: {exit: 1}\n"), 12, 26, "expected a duration");
}

TEST(ScenarioLoader, ImpossibleValuesAreErrors) {
  expect_error(with_site("expect:\n  phases: {tcp.connect: {min: 2s, max: 1s}}\n"), 13, 25, "min is greater than max");
  expect_error(with_site("expect: {findings: [tcp.refused], absent: [tcp.refused]}\n"), 12, 43,
               "both expected and listed as absent");
  expect_error(with_site("expect: {verdict: healthy, exit: 1}\n"), 12, 34, "never exits 1");
  expect_error(with_site("expect: {verdict: failed, hresult: 0}\n"), 12, 36, "contradicts hresult");
  expect_error(with_site("expect: {exit: 3}\n"), 12, 16, "0..1");
  expect_error(with_site("probe: {connect_timeout: 0ms}\nexpect: {exit: 1}\n"), 12, 26, "above 0");
  expect_error(with_site("timeout: 1h\nexpect: {exit: 1}\n"), 12, 10, "scenario timeout");
  expect_error(with_site("expect: {}\n"), 12, 9, "needs at least one of");
}

TEST(ScenarioLoader, CauseIsCheckedWithSuggestion) {
  expect_error(std::string("name: t\ncause: protocl\n") + kSite + "expect: {exit: 1}\n", 2, 8, "did you mean 'protocol'?");
  expect_error(std::string("name: t\n") + kSite + "expect: {exit: 1}\n", 1, 1, "missing required key 'cause'");
}

TEST(ScenarioLoader, BadNameIsRejected) {
  expect_error(std::string("name: Has Spaces\ncause: 1a\n") + kSite + "expect: {exit: 1}\n", 1, 7, "a-z 0-9");
}

TEST(ScenarioLoader, ProbeHostReferencesMustExist) {
  expect_error(with_site("probe: {kms: kms3}\nexpect: {exit: 1}\n"), 12, 14, "did you mean 'kms1'?");
  auto literal = load(with_site("probe: {kms: '127.0.0.1:1'}\nexpect: {exit: 1}\n"));
  EXPECT_TRUE(literal) << literal.error().format();
}

TEST(ScenarioLoader, StepsAndTopLevelExpectDoNotMix) {
  expect_error(with_site("expect: {exit: 0}\nsteps:\n  - expect: {exit: 0}\n"), 12, 9, "in each step");
  expect_error(with_site("steps: []\n"), 12, 8, "at least one step");
}

// A step's faults.add and the scenario's faults go through the same first pass as every YAML input:
// the bomb is refused before any fault's params are converted (six levels: cheap even when expanded).
TEST(ScenarioLoader, AliasBombInAStepsFaultsIsRefusedBeforeExpansion) {
  const std::string bomb = with_site(
      "steps:\n  - faults:\n      add:\n        - name: f\n          target: kms\n          host: kms1\n"
      "          action: delay\n          params:\n" +
      test::alias_bomb(6, 9, "            ") + "    expect: {findings: []}\n");
  auto s = load(bomb);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("aliases expand to more than"), std::string::npos) << s.error().format();
  EXPECT_EQ(s.error().path, "steps[0].faults.add[0].params.l6[0]") << s.error().format();

  const std::string top = with_site("faults:\n  - name: f\n    target: kms\n    host: kms1\n    action: delay\n"
                                    "    params:\n" + test::alias_bomb(6, 9, "      ") + "expect: {findings: []}\n");
  auto t = load(top);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("aliases expand to more than"), std::string::npos) << t.error().format();
}

TEST(ScenarioLoader, DuplicateKeyNamesBothLines) {
  auto s = load(with_site("seed: 1\nexpect: {findings: []}\nseed: 2\n"));
  ASSERT_FALSE(s) << "the second seed was accepted";
  EXPECT_EQ(s.error().path, "seed");
  EXPECT_NE(s.error().format().find("duplicate key 'seed' (first at line 12)"), std::string::npos) << s.error().format();
  EXPECT_EQ(s.error().line, 14);
}

TEST(ScenarioLoader, YamlSyntaxErrorIsLocated) {
  auto s = load(with_site("expect: {exit: 0\n"));
  ASSERT_FALSE(s);
  EXPECT_GT(s.error().line, 0);
  EXPECT_NE(s.error().message.find("YAML syntax error"), std::string::npos);
}

class ScenarioFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("kmslab-scenarios-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "dns");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::filesystem::path dir_;
};

TEST_F(ScenarioFilesTest, FindsYamlRecursivelySorted) {
  write("b.yaml", std::string("cause: baseline\n") + kSite + "expect: {exit: 0}\n");
  write("dns/a.yml", std::string("cause: 1a\n") + kSite + "expect: {exit: 1}\n");
  write("notes.txt", "not a scenario");
  auto suite = load_scenarios({dir_.string()});
  ASSERT_TRUE(suite.errors.empty()) << suite.errors.front().format();
  ASSERT_EQ(suite.scenarios.size(), 2u);
  EXPECT_EQ(suite.scenarios[0].name, "b");
  EXPECT_EQ(suite.scenarios[1].name, "a");
  EXPECT_EQ(suite.scenarios[1].cause, "1a");
}

TEST_F(ScenarioFilesTest, CollectsEveryErrorAndDuplicateNames) {
  write("one.yaml", std::string("name: same\ncause: baseline\n") + kSite + "expect: {exit: 0}\n");
  write("two.yaml", std::string("name: same\ncause: baseline\n") + kSite + "expect: {exit: 0}\n");
  write("bad.yaml", std::string("cause: nope\n") + kSite + "expect: {exit: 0}\n");
  auto suite = load_scenarios({dir_.string(), (dir_ / "missing").string()});
  EXPECT_EQ(suite.scenarios.size(), 1u);
  ASSERT_EQ(suite.errors.size(), 3u);
  std::string all;
  for (const auto& e : suite.errors) all += e.format() + "\n";
  EXPECT_NE(all.find("no such file or directory"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown cause 'nope'"), std::string::npos) << all;
  EXPECT_NE(all.find("also used by"), std::string::npos) << all;
}

TEST_F(ScenarioFilesTest, OversizedFileIsAnError) {
  std::string big = std::string("cause: baseline\n") + kSite + "expect: {exit: 0}\n";
  big += "description: '" + std::string(kMaxScenarioFileBytes, 'x') + "'\n";
  write("big.yaml", big);
  auto s = load_scenario_file((dir_ / "big.yaml").string());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("byte limit"), std::string::npos) << s.error().format();
}

TEST_F(ScenarioFilesTest, EmptyDirectoryIsAnError) {
  auto files = find_scenario_files({(dir_ / "dns").string()});
  EXPECT_TRUE(files.files.empty());
  ASSERT_EQ(files.errors.size(), 1u);
  EXPECT_NE(files.errors[0].message.find("no scenario files"), std::string::npos);
}

}  // namespace
}  // namespace kmslab::harness
