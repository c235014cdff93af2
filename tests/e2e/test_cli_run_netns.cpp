// `kmslab run` on a scenario with isolation: netns (scenarios/tcp/filtered-nftables.yaml): as root
// with nft, it runs in its own network namespace behind a real drop rule and passes; elsewhere, or
// with KMSLAB_NO_NETNS set, it is SKIP with the reason printed, exit 0, and 1 with --fail-on-skip.
#include "cli_process.hpp"

#include "kmslab/net/netns.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kmslab::test {
namespace {

namespace fs = std::filesystem;

const std::string kScenario = std::string(KMSLAB_SOURCE_DIR) + "/scenarios/tcp/filtered-nftables.yaml";

class RunNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("kmslab-netns-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static nlohmann::json read_json(const std::string& file) {
    std::ifstream in(file);
    return nlohmann::json::parse(in);
  }
  fs::path dir_;
};

std::string host_tables(const std::string& nft) {
  std::string out;
  if (FILE* p = ::popen((nft + " list tables 2>&1").c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    ::pclose(p);
  }
  return out;
}

TEST_F(RunNetns, NftablesScenarioPassesBehindARealDropRule) {
  const auto support = net::netns_support();
  if (!support.usable()) GTEST_SKIP() << "needs root and nft: " << support.reason;
  const auto r = run_cli({"run", kScenario, "--fail-on-skip", "--json", path("r.json"), "--seed", "7"}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("1 run(s): 1 passed, 0 failed, 0 error(s), 0 not run"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("skipped"), std::string::npos) << r.out;
  const auto json = read_json(path("r.json"));
  const auto& run = json["scenarios"][0];
  EXPECT_EQ(run["name"], "tcp.filtered-nftables");
  EXPECT_EQ(run["status"], "passed");
  ASSERT_EQ(run["steps"].size(), 1u);
  const auto& report = run["steps"][0]["report"];
  ASSERT_TRUE(report.is_object()) << run.dump(2);
  EXPECT_NE(report.dump().find("tcp.filtered"), std::string::npos) << report.dump(2);
  EXPECT_NE(report.dump().find("timed_out"), std::string::npos) << "the connect timed out, not refused";
  EXPECT_EQ(host_tables(support.nft).find("kmslab"), std::string::npos) << "the host's ruleset was not touched";
}

TEST_F(RunNetns, MutantOfTheNamespacedScenarioIsKilled) {
  const auto support = net::netns_support();
  if (!support.usable()) GTEST_SKIP() << "needs root and nft: " << support.reason;
  const auto r = run_cli({"run", kScenario, "--mutate", "--fail-on-skip", "--json", path("r.json")},
                         std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto json = read_json(path("r.json"));
  ASSERT_EQ(json["scenarios"].size(), 2u);
  EXPECT_TRUE(json["scenarios"][1]["mutant"].get<bool>());
  EXPECT_EQ(json["scenarios"][1]["status"], "passed") << "the mutated expectation failed inside the namespace too";
}

TEST_F(RunNetns, SkippedWithItsReasonWhereNamespacesAreUnavailable) {
  ::setenv(net::kDisableNetnsEnv, "1", 1);  // the CLI child inherits it
  const auto r = run_cli({"run", kScenario, "--junit", path("j.xml"), "--json", path("r.json")});
  EXPECT_EQ(r.exit_code, 0) << "a skip is not a failure by default\n" << r.out << r.err;
  EXPECT_NE(r.out.find("SKIP"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 skipped (not run on this machine, not passed):"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("needs isolation: netns, but disabled by KMSLAB_NO_NETNS=1"), std::string::npos) << r.out;
  const auto json = read_json(path("r.json"));
  EXPECT_EQ(json["scenarios"][0]["status"], "skipped");
  EXPECT_EQ(json["totals"]["skipped"], 1);
  EXPECT_EQ(json["totals"]["passed"], 0);
  std::ifstream xml(path("j.xml"));
  const std::string junit{std::istreambuf_iterator<char>(xml), {}};
  EXPECT_NE(junit.find("<skipped message=\"needs isolation: netns, but disabled by KMSLAB_NO_NETNS=1"),
            std::string::npos)
      << junit;

  const auto strict = run_cli({"run", kScenario, "--fail-on-skip"});
  EXPECT_EQ(strict.exit_code, 1) << strict.out << strict.err;
  ::unsetenv(net::kDisableNetnsEnv);
}

TEST_F(RunNetns, ListMarksTheScenarioAndTheChildCommandIsHidden) {
  const auto list = run_cli({"run", kScenario, "--list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("tcp.filtered-nftables"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("[isolation: netns]"), std::string::npos) << list.out;
  const auto help = run_cli({"--help"});
  EXPECT_EQ(help.out.find("__scenario-in-netns"), std::string::npos) << help.out;
  // Run by hand on the host, the child refuses before it touches anything.
  const auto child = run_cli({"__scenario-in-netns", "--file", kScenario, "--name", "tcp.filtered-nftables", "--seed", "1"});
  EXPECT_EQ(child.exit_code, 2);
  EXPECT_NE(child.err.find("not inside a network namespace kmslab created"), std::string::npos) << child.err;
}

}  // namespace
}  // namespace kmslab::test
