// End-to-end: `kmslab serve --control` driven with curl, as docs/control-api.md shows.
#include "cli_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace {
namespace e2e_serve_control {

using namespace std::chrono_literals;
using kmslab::test::CliProcess;

bool curl_available() { return std::system("command -v curl >/dev/null 2>&1") == 0; }

// Runs curl (bounded by --max-time) and returns "<status>\n<body>".
std::string curl(const std::string& args) {
  const std::string cmd = "curl -s --max-time 5 -w '\\n%{http_code}' " + args + " 2>&1";
  std::string out;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0 && out.size() < (1u << 20)) out.append(buf.data(), n);
  ::pclose(pipe);
  return out;
}

int status_of(const std::string& out) { return std::atoi(out.substr(out.rfind('\n') + 1).c_str()); }
nlohmann::json body_of(const std::string& out) {
  return nlohmann::json::parse(out.substr(0, out.rfind('\n')), nullptr, false);
}

TEST(CliServeControl, CurlAddsListsAndRemovesFaults) {
  if (!curl_available()) GTEST_SKIP() << "curl is not installed";
  const std::string config = ::testing::TempDir() + "/control-sim.yaml";
  std::ofstream(config) << "dns:\n  zones:\n    - origin: lab.test\nkms_hosts:\n  - name: kms1\n    publish: [lab.test]\n"
                           "faults:\n  - {name: slow, target: dns, action: delay, params: {delay_ms: 10}}\n";
  CliProcess serve({"serve", "--config", config, "--control", "127.0.0.1:0", "--drain-ms", "100"});
  auto line = serve.read_line(10s);
  ASSERT_TRUE(line) << "no ready line";
  auto ready = nlohmann::json::parse(*line);
  ASSERT_TRUE(ready.contains("control")) << *line;
  const std::string base = "http://" + ready["control"].get<std::string>();
  EXPECT_TRUE(ready["control"].get<std::string>().starts_with("127.0.0.1:"));

  auto list = curl(base + "/faults");
  ASSERT_EQ(status_of(list), 200) << list;
  EXPECT_EQ(body_of(list)["faults"][0]["name"], "slow") << "faults from the config are active";

  auto added = curl("-X POST -H 'Content-Type: application/json' -d '{\"name\":\"deny\",\"target\":\"kms\","
                    "\"action\":\"hresult\",\"params\":{\"hresult\":\"0xC004F042\"}}' " + base + "/faults");
  EXPECT_EQ(status_of(added), 201) << added;
  auto bad = curl("-X POST -d '{\"target\":\"kms\",\"action\":\"sielnce\"}' " + base + "/faults");
  EXPECT_EQ(status_of(bad), 400) << bad;
  EXPECT_NE(body_of(bad)["error"].get<std::string>().find("did you mean 'silence'"), std::string::npos) << bad;
  auto listener = curl("-X PUT -d '{\"state\":\"refused\"}' " + base + "/listeners/kms1");
  EXPECT_EQ(status_of(listener), 200) << listener;
  auto counters = curl(base + "/counters");
  EXPECT_EQ(status_of(counters), 200);
  EXPECT_EQ(body_of(counters)["listeners"]["kms1"], "refused") << counters;
  EXPECT_EQ(status_of(curl("-X DELETE " + base + "/faults/deny")), 200);
  EXPECT_EQ(status_of(curl("-X DELETE " + base + "/faults/deny")), 404);
  EXPECT_EQ(status_of(curl("-X POST " + base + "/reset")), 200);

  serve.signal(SIGTERM);
  auto result = serve.wait(10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST(CliServeControl, NonLoopbackControlNeedsAToken) {
  const std::string config = ::testing::TempDir() + "/control-sim2.yaml";
  std::ofstream(config) << "kms_hosts:\n  - name: kms1\n";
  auto result = kmslab::test::run_cli({"serve", "--config", config, "--control", "0.0.0.0:0"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("token"), std::string::npos) << result.err;
}

// The token rule at the command line: an option with no effect is an error, a weak token is
// refused before anything listens, and the token can come from a file or the environment.
TEST(CliServeControl, TokenOptionsWithoutControlOrTooWeakAreUsageErrors) {
  const std::string config = ::testing::TempDir() + "/control-sim3.yaml";
  std::ofstream(config) << "kms_hosts:\n  - name: kms1\n";
  auto ignored = kmslab::test::run_cli({"serve", "--config", config, "--control-token", "0123456789abcdef"});
  EXPECT_EQ(ignored.exit_code, 2);
  EXPECT_NE(ignored.err.find("--control-token has no effect without --control"), std::string::npos) << ignored.err;
  EXPECT_TRUE(ignored.out.empty()) << ignored.out;

  for (const std::string weak : {"x", " ", "short-token", "0123456789 abcdef"}) {
    auto refused = kmslab::test::run_cli({"serve", "--config", config, "--control", "0.0.0.0:0", "--control-token", weak});
    EXPECT_EQ(refused.exit_code, 2) << weak;
    EXPECT_NE(refused.err.find("at least 16 characters with no whitespace"), std::string::npos) << refused.err;
  }
  const std::string file = ::testing::TempDir() + "/control-token-empty";
  std::ofstream(file) << "\n";
  auto empty = kmslab::test::run_cli({"serve", "--config", config, "--control", "0.0.0.0:0", "--control-token-file", file});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find(file), std::string::npos) << empty.err;
}

TEST(CliServeControl, TokenFromAFileOrTheEnvironmentIsRequired) {
  if (!curl_available()) GTEST_SKIP() << "curl is not installed";
  const std::string config = ::testing::TempDir() + "/control-sim4.yaml";
  std::ofstream(config) << "kms_hosts:\n  - name: kms1\n";
  const std::string token = "f1le-token-0123456789";
  const std::string file = ::testing::TempDir() + "/control-token";
  std::ofstream(file) << token << "\n";  // the newline an editor adds is not part of the token
  {
    CliProcess serve({"serve", "--config", config, "--control", "127.0.0.1:0", "--control-token-file", file,
                      "--drain-ms", "100"});
    auto line = serve.read_line(10s);
    ASSERT_TRUE(line) << "no ready line";
    const std::string base = "http://" + nlohmann::json::parse(*line)["control"].get<std::string>();
    EXPECT_EQ(status_of(curl(base + "/healthz")), 401);
    EXPECT_EQ(status_of(curl("-H 'Authorization: Bearer " + token + "' " + base + "/healthz")), 200);
    EXPECT_EQ(status_of(curl("-H 'Authorization: bearer " + token + "' " + base + "/healthz")), 200)
        << "the scheme is case-insensitive";
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait(10s).exit_code, 0);
  }
  const std::string env_token = "env-token-0123456789";
  ::setenv("KMSLAB_CONTROL_TOKEN", env_token.c_str(), 1);
  CliProcess serve({"serve", "--config", config, "--control", "127.0.0.1:0", "--drain-ms", "100"});
  ::unsetenv("KMSLAB_CONTROL_TOKEN");
  auto line = serve.read_line(10s);
  ASSERT_TRUE(line) << "no ready line";
  const std::string base = "http://" + nlohmann::json::parse(*line)["control"].get<std::string>();
  EXPECT_EQ(status_of(curl(base + "/healthz")), 401);
  EXPECT_EQ(status_of(curl("-H 'Authorization: BEARER " + env_token + "' " + base + "/healthz")), 200);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(10s).exit_code, 0);
}

}  // namespace e2e_serve_control
}  // namespace
