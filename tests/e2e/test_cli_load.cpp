// `kmslab load` end to end: the built CLI against an in-test simulator on loopback ephemeral
// ports. Bounded runs give exact counts in the JSON report, the interval log has one line per
// interval, two runs merge with `kmslab merge`, errors give exit 1, usage errors exit 2.
#include "cli_process.hpp"
#include "eventually.hpp"
#include "probe_site.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {
namespace e2e_cli_load {

using kmslab::test::ProbeSite;
using kmslab::test::run_cli;
using namespace std::chrono_literals;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / fmt::format("kmslab-load-{}-{}", ::getpid(), name)).string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CliLoad, KmsRunWritesAnExactJsonReport) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.start();
  const auto r = run_cli({"load", "--target", fmt::format("kms://127.0.0.1:{}", port), "--rate", "1000",
                          "--requests", "150", "--protocol", "6", "--seed", "9", "--json", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("counts").at("requests"), 150);
  EXPECT_EQ(j.at("counts").at("ok"), 150);
  EXPECT_EQ(j.at("counts").at("errors"), 0);
  EXPECT_TRUE(j.at("errors").empty());
  EXPECT_EQ(j.at("histogram").at("total"), 150);
  EXPECT_GT(j.at("latency_ns").at("p99").get<double>(), 0);
  EXPECT_EQ(j.at("runs").at(0).at("target"), fmt::format("kms://127.0.0.1:{}", port));
  EXPECT_EQ(j.at("runs").at(0).at("seed"), 9);
  EXPECT_EQ(site.host(0).counters().activations.load(), 150u);
  EXPECT_NE(r.err.find("ok: 0 of 150 failed"), std::string::npos) << r.err;
}

TEST(CliLoad, TableShowsEveryPercentileAndTheRate) {
  ProbeSite site;
  site.add_sntp(0s);
  site.start();
  const auto r = run_cli({"load", "-t", "sntp://" + site.sntp_server(), "-c", "2", "-n", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"p50", "p90", "p99", "p99.9", "p99.99", "max"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word << " in\n" << r.out;
  EXPECT_NE(r.out.find("/s"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "no progress line when stderr is not a terminal";
}

TEST(CliLoad, DnsRunsMergeExactlyAndLogIntervals) {
  ProbeSite site;
  site.set_zone({ProbeSite::srv(0, 100, 1688, "kms1.corp.example"), ProbeSite::a("kms1")});
  site.start();
  const auto a = temp_path("a.json"), b = temp_path("b.json"), log = temp_path("intervals.jsonl");
  const auto target = "dns://" + site.dns_server();
  auto ra = run_cli({"load", "--target", target, "--domain", "corp.example", "--rate", "400", "--duration", "1.2s",
                     "--json", a, "--interval-log", log});
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  EXPECT_NE(ra.out.find("p99.99"), std::string::npos) << "--json FILE still prints the table";
  auto rb = run_cli({"load", "--target", target, "--domain", "corp.example", "--rate", "200", "--requests", "100",
                     "--poisson", "--seed", "3", "--json", b});
  ASSERT_EQ(rb.exit_code, 0) << rb.err;

  const auto ja = nlohmann::json::parse(slurp(a));
  const auto jb = nlohmann::json::parse(slurp(b));
  const auto na = ja.at("counts").at("ok").get<std::uint64_t>();
  EXPECT_NEAR(static_cast<double>(na), 480, 5);  // 400/s for 1.2 s
  EXPECT_EQ(jb.at("counts").at("ok"), 100);

  std::istringstream lines(slurp(log));
  std::uint64_t logged = 0;
  int intervals = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto iv = nlohmann::json::parse(line);
    logged += iv.at("ok").get<std::uint64_t>();
    ++intervals;
  }
  EXPECT_EQ(logged, na) << "every measured request is in exactly one interval";
  EXPECT_GE(intervals, 2);

  auto merged = run_cli({"merge", a, b, "--json"});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  const auto jm = nlohmann::json::parse(merged.out);
  EXPECT_EQ(jm.at("counts").at("ok").get<std::uint64_t>(), na + 100);
  EXPECT_EQ(jm.at("histogram").at("total").get<std::uint64_t>(), na + 100);
  EXPECT_EQ(jm.at("runs").size(), 2u);
  for (const auto& f : {a, b, log}) std::remove(f.c_str());
}

TEST(CliLoad, ErrorsExitOneUnlessAllowed) {
  const auto port = ProbeSite::refused_port();
  const auto target = fmt::format("kms://127.0.0.1:{}", port);
  auto strict = run_cli({"load", "--target", target, "--rate", "200", "--requests", "20", "--json", "-"});
  EXPECT_EQ(strict.exit_code, 1) << strict.err;
  const auto j = nlohmann::json::parse(strict.out);
  EXPECT_EQ(j.at("errors").at("refused"), 20);
  EXPECT_NE(strict.err.find("FAILED: 20 of 20"), std::string::npos) << strict.err;
  auto allowed = run_cli({"load", "--target", target, "--rate", "200", "--requests", "20", "--max-error-rate", "1"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_NE(allowed.out.find("refused"), std::string::npos) << allowed.out;
}

TEST(CliLoad, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const Case cases[] = {
      {{"load"}, "--target"},
      {{"load", "--target", "http://127.0.0.1"}, "unknown scheme"},
      {{"load", "--target", "kms://127.0.0.1:0"}, "not in 1..65535"},
      {{"load", "--target", "kms://127.0.0.1", "--rate", "10", "--concurrency", "2"}, "exclude each other"},
      {{"load", "--target", "kms://127.0.0.1", "--duration", "forever"}, "--duration"},
      {{"load", "--target", "dns://127.0.0.1"}, "--domain"},
      {{"load", "--target", "kms://127.0.0.1", "--product", "Nothing 1.0"}, "--product"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.says << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
}

TEST(CliLoad, NoBoundMeansTheDefaultDurationAndSaysSo) {
  ProbeSite site;
  site.add_sntp(0s);
  site.start();
  // Interrupted by SIGINT well before the 10 s default: the report covers what was done. The note
  // is printed once the signals are taken, so signalling after it is safe.
  kmslab::test::CliProcess p({"load", "--target", "sntp://" + site.sntp_server(), "--rate", "100"});
  ASSERT_TRUE(p.wait_for_stderr("running for 10 s", 20s));
  p.signal(SIGINT);
  const auto r = p.wait(20s);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("running for 10 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("INTERRUPTED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99"), std::string::npos) << r.out;
}

// SIGTERM mid-run: the JSON report is complete and valid for what was done, says it was
// interrupted (so 0.05 s of a 30 s run can never pass for a whole run), the exit code is 130, and
// `kmslab merge` keeps the mark.
TEST(CliLoad, SigtermWritesAnInterruptedReportAndExits130) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.start();
  const std::string json = temp_path("interrupted.json");
  std::remove(json.c_str());
  kmslab::test::CliProcess p({"load", "--target", fmt::format("kms://127.0.0.1:{}", port), "--rate", "200",
                              "--duration", "30s", "--json", json});
  // Activations reach the host: the run is under way (and its signals taken, before any traffic).
  ASSERT_TRUE(kmslab::test::eventually([&] { return site.host(0).counters().activations.load() >= 5; }, 20s));
  p.signal(SIGTERM);
  const auto r = p.wait(20s);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  const auto j = nlohmann::json::parse(slurp(json));
  EXPECT_TRUE(j.at("interrupted").get<bool>()) << j.dump();
  EXPECT_GE(j.at("counts").at("ok").get<std::uint64_t>(), 5u);
  EXPECT_EQ(j.at("counts").at("requests"), j.at("counts").at("ok").get<std::uint64_t>() +
                                               j.at("counts").at("errors").get<std::uint64_t>());
  EXPECT_EQ(j.at("histogram").at("total"), j.at("counts").at("ok"));
  EXPECT_NE(r.out.find("INTERRUPTED"), std::string::npos) << r.out;

  // A merge holding an interrupted run is partial too: marked, and exit 130.
  const auto merged = run_cli({"merge", json, "--json"});
  ASSERT_EQ(merged.exit_code, 130) << merged.err;
  EXPECT_TRUE(nlohmann::json::parse(merged.out).at("interrupted").get<bool>()) << merged.out;
  std::remove(json.c_str());
}

}  // namespace e2e_cli_load
}  // namespace
