// End-to-end: `kmslab watch` probing `kmslab serve`, scraped by a real Prometheus; a fault injected
// through the control API shows up in Prometheus' query API. Plus promtool's checks of the
// exposition (watch and serve) and of the shipped alert rules and their unit tests.
// Needs prometheus and promtool (Debian: apt-get install prometheus); skipped with the reason
// when they are missing. Loopback only, ephemeral ports, a temp dir, every wait bounded.
#include "cli_process.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace {
namespace e2e_watch_prometheus {

using namespace std::chrono_literals;
using kmslab::test::CliProcess;
namespace fs = std::filesystem;

const std::string kSource = KMSLAB_SOURCE_DIR;
const std::string kRules = kSource + "/deploy/prometheus/kms-alerts.yml";

bool have(const char* tool) { return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0; }

std::string which(const char* tool) {
  std::string out;
  FILE* pipe = ::popen((std::string("command -v ") + tool).c_str(), "r");
  if (!pipe) return out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe)) out += buf.data();
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// A command's exit code and output (stdout + stderr), bounded by `timeout` seconds.
std::pair<int, std::string> shell(const std::string& command, int timeout = 30) {
  const std::string cmd = "timeout " + std::to_string(timeout) + " " + command + " 2>&1";
  std::string out;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return {-1, out};
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0 && out.size() < (4u << 20)) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string curl(const std::string& args) { return shell("curl -s --max-time 5 " + args, 10).second; }

// A free loopback port (bound, read, released: Prometheus takes it a moment later).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct TempDir {
  fs::path path;
  TempDir() {
    static int made = 0;
    path = fs::path(::testing::TempDir()) /
           ("kmslab-watch-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(++made));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name, const std::string& text) const {
    const auto p = (path / name).string();
    std::ofstream(p) << text;
    return p;
  }
};

// The value of the single series a PromQL query returns, or nullopt.
std::optional<double> query_value(int port, const std::string& promql) {
  const auto out = curl("-G http://127.0.0.1:" + std::to_string(port) + "/api/v1/query --data-urlencode 'query=" + promql + "'");
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
  const auto& result = j["data"]["result"];
  if (!result.is_array() || result.size() != 1) return std::nullopt;
  return std::stod(result[0]["value"][1].get<std::string>());
}

// Polls until `promql` has the value `want` (bounded); returns the last value seen.
std::optional<double> wait_value(int port, const std::string& promql, double want, std::chrono::seconds limit) {
  std::optional<double> v;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    v = query_value(port, promql);
    if (v && *v == want) return v;
    std::this_thread::sleep_for(500ms);
  }
  return v;
}

TEST(CliWatch, BadConfigNamesFileAndLineAndExits2) {
  TempDir tmp;
  const auto path = tmp.file("bad-watch.yaml", "modules:\n  corp: {prober: srv}\ntargets:\n  - {module: crop, target: a.example}\n");
  auto result = kmslab::test::run_cli({"watch", "--config", path, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find(path + ":4:"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("did you mean 'corp'"), std::string::npos) << result.err;
}

TEST(CliWatch, ShippedExampleStartsAndStopsOnSigint) {
  CliProcess watch({"watch", "--config", kSource + "/examples/watch.yaml", "--listen", "127.0.0.1:0", "--drain-ms", "100"});
  auto line = watch.read_line(20s);
  ASSERT_TRUE(line) << "no ready line";
  const auto ready = nlohmann::json::parse(*line);
  EXPECT_EQ(ready["event"], "ready");
  EXPECT_EQ(ready["targets"], 2);
  EXPECT_TRUE(ready["listen"].get<std::string>().starts_with("127.0.0.1:"));
  watch.signal(SIGINT);
  const auto result = watch.wait(15s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

// The listener token rule, shared with the control API: a weak token is refused at start, a
// good one (from the file or KMSLAB_WATCH_TOKEN) is required on every request.
TEST(CliWatch, TokenFromAFileOrTheEnvironmentFollowsTheListenerRule) {
  TempDir tmp;
  const auto weak = tmp.file("weak.token", "short\n");
  auto refused = kmslab::test::run_cli({"watch", "--config", kSource + "/examples/watch.yaml", "--listen", "127.0.0.1:0",
                                        "--token-file", weak});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("at least 16 characters with no whitespace"), std::string::npos) << refused.err;
  if (!have("curl")) GTEST_SKIP() << "curl is not installed";
  const std::string token = "watch-token-0123456789";
  ::setenv("KMSLAB_WATCH_TOKEN", token.c_str(), 1);
  CliProcess watch({"watch", "--config", kSource + "/examples/watch.yaml", "--listen", "127.0.0.1:0", "--drain-ms", "100"});
  ::unsetenv("KMSLAB_WATCH_TOKEN");
  auto line = watch.read_line(20s);
  ASSERT_TRUE(line) << "no ready line";
  const auto at = "http://" + nlohmann::json::parse(*line)["listen"].get<std::string>() + "/healthz";
  EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' " + at), "401");
  EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' -H 'Authorization: bearer " + token + "' " + at), "200");
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(15s).exit_code, 0);
}

TEST(Promtool, AlertRulesPassCheckAndTheirUnitTests) {
  if (!have("promtool")) GTEST_SKIP() << "promtool is not installed (apt-get install prometheus)";
  auto [check_rc, check_out] = shell("promtool check rules " + kRules);
  EXPECT_EQ(check_rc, 0) << check_out;
  EXPECT_NE(check_out.find("SUCCESS: 8 rules found"), std::string::npos) << check_out;
  auto [test_rc, test_out] = shell("sh -c 'cd " + kSource + "/deploy/prometheus && promtool test rules kms-alerts.test.yml'");
  EXPECT_EQ(test_rc, 0) << test_out;
  EXPECT_NE(test_out.find("SUCCESS"), std::string::npos) << test_out;
}

TEST(WatchPrometheus, AnInjectedFaultChangesTheSeriesPrometheusScrapes) {
  if (!have("prometheus") || !have("promtool")) GTEST_SKIP() << "prometheus/promtool are not installed (apt-get install prometheus)";
  if (!have("curl")) GTEST_SKIP() << "curl is not installed";
  TempDir tmp;
  // The simulated site: DNS with the SRV record, one KMS host, the control API.
  const auto sim = tmp.file("sim.yaml",
                            "dns:\n  zones:\n    - origin: lab.test\nkms_hosts:\n  - name: kms1\n    publish: [lab.test]\n");
  CliProcess serve({"serve", "--config", sim, "--control", "127.0.0.1:0", "--drain-ms", "100"});
  auto serve_line = serve.read_line(20s);
  ASSERT_TRUE(serve_line) << "serve printed no ready line";
  const auto serve_ready = nlohmann::json::parse(*serve_line);
  const std::string dns = serve_ready["dns"], control = "http://" + serve_ready["control"].get<std::string>();

  // The watch, probing the site every 500 ms.
  const auto watch_config = tmp.file(
      "watch.yaml", "modules:\n  lab:\n    prober: srv\n    dns: [\"" + dns +
                        "\"]\n    dns_timeout: 1s\n    connect_timeout: 1s\n    timeout: 10s\n"
                        "targets:\n  - {name: lab, module: lab, target: lab.test, interval: 500ms}\n");
  CliProcess watch({"watch", "--config", watch_config, "--listen", "127.0.0.1:0"});
  auto watch_line = watch.read_line(20s);
  ASSERT_TRUE(watch_line) << "watch printed no ready line";
  const std::string watch_at = nlohmann::json::parse(*watch_line)["listen"];

  // promtool accepts both exposition pages.
  std::this_thread::sleep_for(1500ms);
  const auto watch_page = tmp.file("watch.prom", curl("http://" + watch_at + "/metrics"));
  EXPECT_NE(shell("cat " + watch_page).second.find("kmslab_probe_success{target=\"lab\""), std::string::npos);
  auto [watch_rc, watch_lint] = shell("sh -c 'promtool check metrics < " + watch_page + "'");
  EXPECT_EQ(watch_rc, 0) << watch_lint << "\n" << shell("cat " + watch_page).second;
  const auto serve_page = tmp.file("serve.prom", curl(control + "/metrics"));
  EXPECT_NE(shell("cat " + serve_page).second.find("kmslab_sim_kms_requests_total{host=\"kms1\"}"), std::string::npos);
  auto [serve_rc, serve_lint] = shell("sh -c 'promtool check metrics < " + serve_page + "'");
  EXPECT_EQ(serve_rc, 0) << serve_lint << "\n" << shell("cat " + serve_page).second;

  // Prometheus scraping the watch every second, with the shipped rules loaded.
  const int prom_port = free_port();
  const auto prom_config = tmp.file("prometheus.yml", "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                                      "rule_files:\n  - " + kRules +
                                                          "\nscrape_configs:\n  - job_name: kmslab-watch\n"
                                                          "    static_configs:\n      - targets: ['" + watch_at + "']\n");
  CliProcess prometheus({"--config.file=" + prom_config, "--storage.tsdb.path=" + (tmp.path / "tsdb").string(),
                         "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
                        which("prometheus"));

  const std::string success = "kmslab_probe_success{job=\"kmslab-watch\",target=\"lab\"}";
  const std::string reachable = "kmslab_kms_host_reachable{job=\"kmslab-watch\",target=\"lab\",source=\"srv\"}";
  auto healthy = wait_value(prom_port, success, 1, 60s);
  ASSERT_TRUE(healthy && *healthy == 1) << "Prometheus never saw a healthy probe";
  EXPECT_EQ(query_value(prom_port, reachable), 1.0);
  EXPECT_EQ(query_value(prom_port, "kmslab_dns_srv_records{domain=\"lab.test\"}"), 1.0);

  // The fault: kms1's listener refuses connections (RST), as a firewall reject would.
  const auto put = curl("-X PUT -d '{\"state\":\"refused\"}' " + control + "/listeners/kms1");
  ASSERT_NE(put.find("refused"), std::string::npos) << put;
  auto failed = wait_value(prom_port, success, 0, 60s);
  EXPECT_TRUE(failed && *failed == 0) << "probe success never went to 0 in Prometheus";
  auto unreachable = wait_value(prom_port, reachable, 0, 30s);
  EXPECT_TRUE(unreachable && *unreachable == 0);
  auto refused = wait_value(prom_port, "clamp_max(kmslab_findings_total{target=\"lab\",code=\"tcp.refused\"}, 1)", 1, 30s);
  EXPECT_TRUE(refused && *refused == 1) << "tcp.refused findings never counted";
  EXPECT_EQ(query_value(prom_port, "kmslab_probe_last_hresult{target=\"lab\"}"), 3221549172.0) << "0xC004F074";

  // A bad reload keeps the running config (the series keeps updating); SIGTERM ends everything.
  std::ofstream(watch_config) << "modules: [\n";
  watch.signal(SIGHUP);
  auto reload = wait_value(prom_port, "kmslab_watch_config_last_reload_successful", 0, 30s);
  EXPECT_TRUE(reload && *reload == 0);
  prometheus.signal(SIGTERM);
  watch.signal(SIGTERM);
  serve.signal(SIGTERM);
  const auto watch_result = watch.wait(15s);
  EXPECT_EQ(watch_result.exit_code, 0) << watch_result.err;
  EXPECT_NE(watch_result.err.find("reload failed, keeping the previous config"), std::string::npos) << watch_result.err;
  EXPECT_EQ(serve.wait(15s).exit_code, 0);
  prometheus.wait(15s);
}

}  // namespace e2e_watch_prometheus
}  // namespace
