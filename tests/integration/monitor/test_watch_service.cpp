// WatchService over real HTTP on loopback with a fake probe: /metrics, /probe, errors, reloads.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "kmslab/monitor/exposition.hpp"
#include "kmslab/monitor/watch_service.hpp"
#include "watch_test_support.hpp"

namespace {

using namespace kmslab::monitor;
using namespace kmslab::monitor::test;

const char* kConfig = R"(listen: 127.0.0.1:0
modules:
  corp: {prober: srv, timeout: 2s}
  direct: {prober: kms}
targets:
  - {module: corp, target: corp.example, interval: 100ms}
)";

class WatchServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = ::testing::TempDir() + "/watch-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
    write(kConfig);
    fake_.delay["slow.example"] = 2000ms;  // before the loop thread starts reading it
    auto config = load_watch_config(file_);
    ASSERT_TRUE(config) << config.error().format();
    WatchServiceOptions options;
    options.config_file = file_;
    options.version = "9.9.9";
    options.probe = fake_.function();
    service_ = std::make_unique<WatchService>(io_.get_executor(), *config, options);
    auto started = service_->start();
    ASSERT_TRUE(started) << started.error();
    endpoint_ = *started;
    thread_ = std::thread([this] { io_.run_for(30s); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] {
        service_->stop();
        io_.stop();
      });
      thread_.join();
    }
    service_.reset();
  }
  void write(const std::string& text) { std::ofstream(file_) << text; }
  // Polls /metrics until `needle` shows up (bounded).
  std::string wait_for(const std::string& needle) {
    std::string body;
    for (int i = 0; i < 50; ++i) {
      body = http_get(endpoint_, "/metrics").body;
      if (body.find(needle) != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
    return body;
  }

  asio::io_context io_;
  FakeProbe fake_;
  std::string file_;
  std::unique_ptr<WatchService> service_;
  kmslab::net::tcp::endpoint endpoint_;
  std::thread thread_;
};

TEST_F(WatchServiceTest, MetricsServesTheScheduledTargets) {
  const auto body = wait_for("kmslab_probe_success{target=\"corp.example\",module=\"corp\"} 1");
  EXPECT_NE(body.find("kmslab_probe_success{target=\"corp.example\",module=\"corp\"} 1"), std::string::npos) << body;
  EXPECT_NE(body.find("kmslab_build_info{version=\"9.9.9\"} 1"), std::string::npos);
  const auto reply = http_get(endpoint_, "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, kExpositionContentType);
}

TEST_F(WatchServiceTest, ProbeAnswersOneRunForTheGivenModuleAndTarget) {
  const auto reply = http_get(endpoint_, "/probe?module=direct&target=127.0.0.1%3A1688");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("kmslab_probe_success{target=\"127.0.0.1:1688\",module=\"direct\"} 1"), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("kmslab_probes_total{target=\"127.0.0.1:1688\",module=\"direct\",result=\"success\"} 1"),
            std::string::npos);
  EXPECT_EQ(reply.body.find("corp.example\",module=\"corp\""), std::string::npos) << "only this run's series";
  EXPECT_EQ(reply.body.find("kmslab_watch_config_last_reload"), std::string::npos) << "no watch-level state";
  const auto failing = http_get(endpoint_, "/probe?module=corp&target=missing.example");
  ASSERT_EQ(failing.status, 200);
  EXPECT_NE(failing.body.find("code=\"dns.srv_missing\"} 1"), std::string::npos) << failing.body;
}

TEST_F(WatchServiceTest, ProbeErrorsAreBadRequestsThatSayWhy) {
  auto missing = http_get(endpoint_, "/probe?target=corp.example");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("module"), std::string::npos);
  auto unknown = http_get(endpoint_, "/probe?module=nope&target=corp.example");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("unknown module 'nope'"), std::string::npos);
  auto bad_target = http_get(endpoint_, "/probe?module=direct&target=h%3A99999");
  EXPECT_EQ(bad_target.status, 400);
  EXPECT_NE(bad_target.body.find("host[:port]"), std::string::npos) << bad_target.body;
  EXPECT_EQ(http_get(endpoint_, "/nothing").status, 404);
  EXPECT_EQ(http_get(endpoint_, "/healthz").status, 200);
}

TEST_F(WatchServiceTest, ProbeDoesNotBlockMetrics) {
  std::thread slow([this] { http_get(endpoint_, "/probe?module=corp&target=slow.example"); });
  std::this_thread::sleep_for(200ms);
  const auto started = std::chrono::steady_clock::now();
  const auto reply = http_get(endpoint_, "/metrics");
  const auto took = std::chrono::steady_clock::now() - started;
  slow.join();
  EXPECT_EQ(reply.status, 200);
  EXPECT_LT(took, 1500ms) << "a /probe in flight must not hold the loop";
}

TEST_F(WatchServiceTest, BadReloadKeepsTheOldConfigAndGoodReloadReplacesIt) {
  wait_for("target=\"corp.example\"");
  write("modules:\n  corp: {prober: srv}\ntargets:\n  - {module: crop, target: lab.example}\n");
  auto bad = on_loop(io_, [this] { return service_->reload(); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().line, 4);
  EXPECT_NE(bad.error().format().find("did you mean 'corp'"), std::string::npos);
  EXPECT_EQ(on_loop(io_, [this] { return service_->config().targets.front().target; }), "corp.example");
  auto body = wait_for("kmslab_watch_config_last_reload_successful 0");
  EXPECT_NE(body.find("kmslab_watch_config_last_reload_successful 0"), std::string::npos);

  write("modules:\n  corp: {prober: srv}\ntargets:\n  - {module: corp, target: lab.example, interval: 100ms}\n");
  auto good = on_loop(io_, [this] { return service_->reload(); });
  ASSERT_TRUE(good) << good.error().format();
  body = wait_for("target=\"lab.example\"");
  EXPECT_NE(body.find("kmslab_probe_success{target=\"lab.example\",module=\"corp\"} 1"), std::string::npos) << body;
  EXPECT_EQ(body.find("target=\"corp.example\""), std::string::npos) << "removed target's series are gone";
  EXPECT_NE(body.find("kmslab_watch_config_last_reload_successful 1"), std::string::npos);
}

}  // namespace
