// Reports: JUnit XML parsed back (well-formed, the attributes CI reporters read, hostile text
// escaped), JSON fields, the table, and atomic file writes.
#include "kmslab/harness/reports.hpp"

#include <gtest/gtest.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kmslab::harness {
namespace {

namespace pt = boost::property_tree;

StepResult step(bool passed, std::vector<std::string> failures = {}) {
  StepResult s;
  s.name = "probe";
  s.passed = passed;
  s.failures = std::move(failures);
  s.expected = "tcp.refused 0xC004F074 exit 1";
  s.actual = passed ? s.expected : "failed 0xC004F074 exit 1: dns.timeout(error)";
  s.report_text = "verdict: failed\n";
  s.report_json = {{"schema_version", 1}};
  s.duration = std::chrono::milliseconds(12);
  return s;
}

ScenarioResult run(std::string name, std::string cause, Status status) {
  ScenarioResult r;
  r.name = std::move(name);
  r.cause = std::move(cause);
  r.file = "scenarios/x/" + r.name + ".yaml";
  r.status = status;
  r.seed = 99;
  r.expected = "tcp.refused 0xC004F074 exit 1";
  r.duration = std::chrono::milliseconds(250);
  if (status == Status::passed) r.steps = {step(true)};
  if (status == Status::failed) r.steps = {step(false, {"finding tcp.refused: expected, not reported"})};
  if (status == Status::error) r.error = "the site did not start: bind failed";
  if (status == Status::not_run) r.error = "not run (interrupted)";
  return r;
}

SuiteResult suite() {
  SuiteResult s;
  s.seed = 42;
  s.jobs = 2;
  s.wall = std::chrono::milliseconds(1500);
  s.results = {run("baseline.v6", "baseline", Status::passed), run("tcp.refused", "1b", Status::failed),
               run("tcp.filtered", "1b", Status::error), run("dns.nxdomain", "1a", Status::not_run)};
  return s;
}

pt::ptree parse(const std::string& xml) {
  std::istringstream in(xml);
  pt::ptree tree;
  pt::read_xml(in, tree);  // throws on malformed XML
  return tree;
}

TEST(JUnit, ParsesBackWithTheAttributesReportersRead) {
  const std::string xml = render_junit(suite());
  pt::ptree tree;
  ASSERT_NO_THROW(tree = parse(xml)) << xml;
  const auto& root = tree.get_child("testsuites");
  EXPECT_EQ(root.get<int>("<xmlattr>.tests"), 4);
  EXPECT_EQ(root.get<int>("<xmlattr>.failures"), 1);
  EXPECT_EQ(root.get<int>("<xmlattr>.errors"), 1);
  EXPECT_EQ(root.get<int>("<xmlattr>.skipped"), 1);
  EXPECT_DOUBLE_EQ(root.get<double>("<xmlattr>.time"), 1.5);
  std::vector<std::string> suites;
  int cases = 0;
  for (const auto& [tag, ts] : root) {
    if (tag != "testsuite") continue;
    suites.push_back(ts.get<std::string>("<xmlattr>.name"));
    for (const auto& [ctag, tc] : ts) {
      if (ctag != "testcase") continue;
      ++cases;
      const auto name = tc.get<std::string>("<xmlattr>.name");
      EXPECT_EQ(tc.get<std::string>("<xmlattr>.classname"), ts.get<std::string>("<xmlattr>.name"));
      EXPECT_DOUBLE_EQ(tc.get<double>("<xmlattr>.time"), 0.25);
      if (name == "tcp.refused") {
        const auto& failure = tc.get_child("failure");
        EXPECT_EQ(failure.get<std::string>("<xmlattr>.message"), "finding tcp.refused: expected, not reported");
        const auto body = failure.get_value<std::string>();
        EXPECT_NE(body.find("expected: tcp.refused 0xC004F074 exit 1"), std::string::npos) << body;
        EXPECT_NE(body.find("actual:   failed 0xC004F074 exit 1: dns.timeout(error)"), std::string::npos) << body;
        EXPECT_NE(tc.get<std::string>("system-out").find("verdict: failed"), std::string::npos);
      }
      if (name == "tcp.filtered") {
        EXPECT_EQ(tc.get<std::string>("error.<xmlattr>.message"), "the site did not start: bind failed");
      }
      if (name == "dns.nxdomain") {
        EXPECT_EQ(tc.get<std::string>("skipped.<xmlattr>.message"), "not run (interrupted)");
      }
      if (name == "baseline.v6") {
        EXPECT_FALSE(tc.get_child_optional("failure"));
        EXPECT_FALSE(tc.get_child_optional("error"));
      }
    }
  }
  EXPECT_EQ(suites, (std::vector<std::string>{"kmslab.baseline", "kmslab.1b", "kmslab.1a"}));
  EXPECT_EQ(cases, 4);
}

TEST(JUnit, HostileTextIsEscapedAndStillParses) {
  auto s = suite();
  const std::string nasty = "a<b>&\"c\"'d' \x01\x1b[31m bad\xff\xfe utf8 \xe2\x82\xac ]]> line1\nline2";
  s.results[1].name = "tcp.refused";
  s.results[1].steps[0].failures = {nasty};
  s.results[1].steps[0].report_text = nasty;
  s.results[1].file = nasty;
  const std::string xml = render_junit(s);
  pt::ptree tree;
  ASSERT_NO_THROW(tree = parse(xml)) << xml;
  for (const auto& [tag, ts] : tree.get_child("testsuites")) {
    if (tag != "testsuite") continue;
    for (const auto& [ctag, tc] : ts) {
      if (ctag != "testcase" || tc.get<std::string>("<xmlattr>.name") != "tcp.refused") continue;
      const auto message = tc.get<std::string>("failure.<xmlattr>.message");
      EXPECT_NE(message.find("a<b>&\"c\"'d'"), std::string::npos) << message;
      EXPECT_NE(message.find("\xe2\x82\xac"), std::string::npos) << "valid UTF-8 survives";
      EXPECT_NE(message.find("line1\nline2"), std::string::npos) << "newlines survive in attributes";
      EXPECT_EQ(message.find('\x01'), std::string::npos);
      EXPECT_EQ(message.find('\xff'), std::string::npos);
    }
  }
}

TEST(JUnit, XmlEscape) {
  EXPECT_EQ(xml_escape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
  EXPECT_EQ(xml_escape("x\x02y"), "x\xEF\xBF\xBDy");
  EXPECT_EQ(xml_escape("\xC0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "overlong encodings are invalid";
  EXPECT_EQ(xml_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "surrogates are invalid";
  EXPECT_EQ(xml_escape("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

TEST(SuiteJson, CarriesEveryRun) {
  const auto j = suite_to_json(suite());
  EXPECT_EQ(j["schema"], "kmslab-suite");
  EXPECT_EQ(j["schema_version"], kSuiteSchemaVersion);
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["totals"]["runs"], 4);
  EXPECT_EQ(j["totals"]["passed"], 1);
  EXPECT_EQ(j["totals"]["not_run"], 1);
  EXPECT_EQ(j["exit_code"], 1);
  ASSERT_EQ(j["scenarios"].size(), 4u);
  const auto& failed = j["scenarios"][1];
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["seed"], 99);
  EXPECT_EQ(failed["steps"][0]["failures"][0], "finding tcp.refused: expected, not reported");
  EXPECT_EQ(failed["steps"][0]["report"]["schema_version"], 1);
  EXPECT_EQ(j["scenarios"][2]["error"], "the site did not start: bind failed");
}

TEST(Table, RowsSummaryAndFailures) {
  const auto text = render_table(suite());
  EXPECT_NE(text.find("SCENARIO"), std::string::npos);
  EXPECT_NE(text.find("baseline.v6"), std::string::npos);
  EXPECT_NE(text.find("NOT RUN"), std::string::npos);
  EXPECT_NE(text.find("4 run(s): 1 passed, 1 failed, 1 error(s), 1 not run"), std::string::npos) << text;
  EXPECT_NE(text.find("seed 42"), std::string::npos);
  EXPECT_NE(text.find("- finding tcp.refused: expected, not reported"), std::string::npos) << text;
  EXPECT_EQ(text.find("\033["), std::string::npos) << "no colour unless asked";
  EXPECT_NE(render_table(suite(), {true, true}).find("\033[32m"), std::string::npos);
}

TEST(SuiteExit, ZeroOnlyWhenEverythingPassed) {
  SuiteResult s;
  s.results = {run("a", "1a", Status::passed)};
  EXPECT_EQ(suite_exit_code(s), 0);
  s.results.push_back(run("b", "1a", Status::not_run));
  EXPECT_EQ(suite_exit_code(s), 1);
  s.results.pop_back();
  s.interrupted = true;
  EXPECT_EQ(suite_exit_code(s), kExitInterrupted);
  s.results.push_back(run("c", "1a", Status::failed));
  EXPECT_EQ(suite_exit_code(s), kExitInterrupted) << "interrupted wins over what ran before the signal";
}

TEST(AtomicWrite, ReplacesTheFileAndLeavesNoTemporary) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "kmslab-atomic";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto file = (dir / "out.xml").string();
  ASSERT_EQ(write_file_atomic(file, "first"), "");
  ASSERT_EQ(write_file_atomic(file, "second"), "");
  std::ifstream in(file);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "second");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1) << "no temporary left behind";
  const auto error = write_file_atomic((dir / "missing" / "x.json").string(), "x");
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kmslab::harness
