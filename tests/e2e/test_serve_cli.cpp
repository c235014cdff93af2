// End-to-end: `kmslab serve` as a user runs it.
#include "cli_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace {
namespace e2e_serve_cli {

using namespace std::chrono_literals;
using kmslab::test::CliProcess;
using kmslab::test::run_cli;

const std::string kCorp = std::string(KMSLAB_SOURCE_DIR) + "/examples/corp.yaml";

TEST(CliServe, PrintsEveryEndpointThenStopsCleanlyOnSigterm) {
  CliProcess serve({"serve", "--config", kCorp, "--drain-ms", "100"});
  auto line = serve.read_line(10s);
  ASSERT_TRUE(line) << "no ready line";
  auto ready = nlohmann::json::parse(*line);
  EXPECT_EQ(ready["event"], "ready");
  EXPECT_TRUE(ready["dns"].get<std::string>().starts_with("127.0.0.1:"));
  EXPECT_TRUE(ready["sntp"].get<std::string>().starts_with("127.0.0.1:"));
  EXPECT_EQ(ready["kms"]["kms1"].size(), 1u);
  EXPECT_EQ(ready["kms"]["kms2"].size(), 1u);
  serve.signal(SIGTERM);
  auto result = serve.wait(10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("\"event\":\"stopped\""), std::string::npos) << result.err;
}

TEST(CliServe, BadConfigNamesFileLineAndKeyAndExits2) {
  const std::string path = ::testing::TempDir() + "/bad-sim.yaml";
  std::ofstream(path) << "kms_hosts:\n  - name: kms1\n    prodcts: all\n";
  auto result = run_cli({"serve", "--config", path});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find(path + ":3:5: kms_hosts[0].prodcts: unknown key 'prodcts' (did you mean 'products'?)"),
            std::string::npos)
      << result.err;
}

// A name that is not UTF-8 used to reach the ready line and end in "internal error"; now the
// config is refused at the byte, located.
TEST(CliServe, NonUtf8ConfigIsALocatedErrorNotAnInternalOne) {
  const std::string path = ::testing::TempDir() + "/non-utf8-sim.yaml";
  std::ofstream(path) << "kms_hosts:\n  - name: kms\xFF\n    listen: 127.0.0.1:0\n";
  auto result = run_cli({"serve", "--config", path});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find(path + ":2:14: expected UTF-8 text, got the byte 0xff"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("internal error"), std::string::npos) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
}

TEST(CliServe, MissingConfigIsAUsageError) {
  auto result = run_cli({"serve", "--config", "/nonexistent/sim.yaml"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_FALSE(result.err.empty());
}

}  // namespace e2e_serve_cli
}  // namespace
