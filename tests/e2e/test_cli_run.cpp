// `kmslab run` end to end: the built CLI runs scenarios, prints the table, writes JUnit and JSON,
// and exits 0 / 1 / 2; SIGINT still writes the reports, marking unfinished runs not run.
#include "cli_process.hpp"
#include "eventually.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

namespace kmslab::test {
namespace {

namespace fs = std::filesystem;

std::string source(const std::string& rel) { return std::string(KMSLAB_SOURCE_DIR) + "/" + rel; }

class RunCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("kmslab-run-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return path(name);
  }
  static std::string read(const std::string& file) {
    std::ifstream in(file);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  fs::path dir_;
};

constexpr const char* kSite = R"(simulator:
  dns: {zones: [{origin: corp.example}]}
  kms_hosts: [{name: kms1, hostname: kms1.corp.example, publish: [corp.example]}]
  sntp: {enabled: false}
)";

TEST_F(RunCli, BaselinesPassWithTableJUnitAndJson) {
  const auto r = run_cli({"run", source("scenarios/baseline"), "--jobs", "2", "--junit", path("j.xml"), "--json",
                          path("r.json"), "--seed", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("SCENARIO"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("baseline.v4"), std::string::npos);
  EXPECT_NE(r.out.find("3 run(s): 3 passed, 0 failed, 0 error(s), 0 not run"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed 5"), std::string::npos);
  EXPECT_EQ(r.err.find("\r"), std::string::npos) << "no progress line when stderr is not a terminal";
  const auto xml = read(path("j.xml"));
  EXPECT_NE(xml.find("<testsuites name=\"kmslab scenarios\" tests=\"3\" failures=\"0\""), std::string::npos) << xml;
  const auto json = nlohmann::json::parse(read(path("r.json")));
  EXPECT_EQ(json["totals"]["passed"], 3);
  EXPECT_EQ(json["seed"], 5);
}

TEST_F(RunCli, FailingScenarioExitsOne) {
  write("wrong.yaml", std::string("name: wrong\ncause: baseline\ndescription: expects a finding that is not there\n") +
                          kSite + "expect: {findings: [tcp.refused]}\n");
  const auto r = run_cli({"run", dir_.string(), "--junit", path("j.xml")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL"), std::string::npos);
  EXPECT_NE(r.out.find("finding tcp.refused: expected, not reported"), std::string::npos) << r.out;
  EXPECT_NE(read(path("j.xml")).find("<failure message=\"finding tcp.refused: expected, not reported"),
            std::string::npos);
}

TEST_F(RunCli, ScenarioErrorsExitTwoWithLocations) {
  write("bad.yaml", std::string("name: bad\ncause: baseline\n") + kSite + "expect: {findngs: []}\n");
  const auto r = run_cli({"run", dir_.string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("bad.yaml:7:10: expect.findngs: unknown key 'findngs' (did you mean 'findings'?)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing was run"), std::string::npos);
  EXPECT_EQ(run_cli({"run", source("scenarios/baseline"), "--filter", "no-such-*"}).exit_code, 2);
  EXPECT_EQ(run_cli({"run", path("missing")}).exit_code, 2);
  EXPECT_EQ(run_cli({"run", source("scenarios/baseline"), "--jobs", "0"}).exit_code, 2);
}

TEST_F(RunCli, ListPrintsWithoutRunning) {
  const auto r = run_cli({"run", source("scenarios/baseline"), "--list"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("baseline.v5"), std::string::npos);
  EXPECT_EQ(r.out.find("SCENARIO"), std::string::npos);
}

TEST_F(RunCli, SigintWritesReportsAndMarksTheRestNotRun) {
  // The first scenario waits 10 s in a step; SIGINT arrives while it runs (the progress line on
  // stderr says the suite has started: the handler is in place before it is printed).
  for (const char* name : {"a-slow", "b-next"})
    write(std::string(name) + ".yaml", std::string("name: ") + name + "\ncause: baseline\n" + kSite +
                                           "timeout: 30s\nsteps:\n  - name: wait\n    sleep: 10s\n    expect: {exit: 0}\n");
  CliProcess p({"run", dir_.string(), "--junit", path("j.xml"), "--json", path("r.json")});
  ASSERT_TRUE(p.wait_for_stderr("scenario(s)", std::chrono::seconds(20))) << "the run did not start";
  p.signal(SIGINT);
  const auto r = p.wait(std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 130) << r.out << r.err;
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("INTERRUPTED"), std::string::npos) << r.out;
  const auto json = nlohmann::json::parse(read(path("r.json")));
  EXPECT_TRUE(json["interrupted"].get<bool>());
  EXPECT_EQ(json["totals"]["not_run"], 2);
  EXPECT_EQ(json["exit_code"], 130);
  const auto xml = read(path("j.xml"));
  EXPECT_NE(xml.find("<skipped message=\"not run (interrupted)\"/>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<failure"), std::string::npos) << xml;
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << "no temporary report left";
}

// Interrupted while the probe waits for the host's answer (held 20 s by a delay fault): the
// teardown of the simulator cuts that exchange, and what the probe then sees (the connection
// reset, DNS gone) is an artefact of the interrupt, not a result: the scenario is not run, never
// failed, and none of those findings is reported.
TEST_F(RunCli, SigtermMidProbeIsNotRunWithoutTheTeardownsFindings) {
  const std::string activations = path("activations.jsonl");
  write("cut.yaml", "name: cut\ncause: baseline\n"
                    "timeout: 60s\n"
                    "simulator:\n"
                    "  activation_log: " + activations + "\n"
                    "  dns: {zones: [{origin: corp.example}]}\n"
                    "  kms_hosts: [{name: kms1, hostname: kms1.corp.example, publish: [corp.example]}]\n"
                    "  sntp: {enabled: false}\n"
                    "faults:\n"
                    "  - {target: kms, action: delay, match: {stage: response}, params: {delay_ms: 20000}}\n"
                    "probe: {request_timeout: 40s}\n"
                    "expect: {exit: 0}\n");
  CliProcess p({"run", dir_.string(), "--junit", path("j.xml"), "--json", path("r.json")});
  // The host logs the activation before the delayed answer leaves: the probe is then mid-exchange.
  ASSERT_TRUE(eventually([&] { return read(activations).find('\n') != std::string::npos; }, std::chrono::seconds(20)))
      << "the probe never reached the host";
  p.signal(SIGTERM);
  const auto r = p.wait(std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 130) << r.out << r.err;
  const auto json = nlohmann::json::parse(read(path("r.json")));
  EXPECT_TRUE(json["interrupted"].get<bool>());
  ASSERT_EQ(json["scenarios"].size(), 1u);
  const auto& cut = json["scenarios"][0];
  EXPECT_EQ(cut["status"], "not_run") << cut.dump(2);
  EXPECT_EQ(cut["error"], "not run (interrupted)");
  EXPECT_TRUE(cut["steps"].empty()) << "the cut probe's findings were reported: " << cut["steps"].dump(2);
  const auto xml = read(path("j.xml"));
  EXPECT_NE(xml.find("<skipped message=\"not run (interrupted)\"/>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<failure"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("dns.servfail"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("tcp.refused"), std::string::npos) << xml;
}

}  // namespace
}  // namespace kmslab::test
