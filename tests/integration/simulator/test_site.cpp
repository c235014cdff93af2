// A whole simulated site from examples/corp.yaml: SRV records carry the hosts' bound ports, and
// the published hosts activate real requests.
#include "dns_test_util.hpp"
#include "kms_test_client.hpp"
#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/simulator/site.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

namespace kmslab::simulator {
namespace {

namespace dns = kmslab::protocol::dns;

class SiteTest : public ::testing::Test {
 protected:
  void start(SimulatorConfig config) {
    site_ = std::make_unique<Site>(io_, std::move(config));
    auto started = site_->start();
    ASSERT_TRUE(started) << started.error();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (site_) site_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<dns::SrvData> srv(const std::string& name) {
    auto query = dns::make_query(0x4242, *dns::Name::parse(name), dns::Type::srv);
    auto bytes = dns::encode(query).value();
    auto reply = test::udp_exchange(site_->dns()->udp_endpoint().port(), bytes);
    EXPECT_TRUE(reply);
    std::vector<dns::SrvData> out;
    if (!reply) return out;
    auto message = dns::decode(*reply).value();
    for (const auto& rr : message.answers)
      if (const auto* s = std::get_if<dns::SrvData>(&rr.data)) out.push_back(*s);
    return out;
  }

  net::asio::io_context io_;
  net::asio::executor_work_guard<net::asio::io_context::executor_type> work_ = net::asio::make_work_guard(io_);
  std::unique_ptr<Site> site_;
  std::thread thread_;
};

TEST_F(SiteTest, CorpExamplePublishesBoundPortsAndActivates) {
  auto config = load_simulator_config(std::string(KMSLAB_SOURCE_DIR) + "/examples/corp.yaml");
  ASSERT_TRUE(config) << config.error().format();
  start(*config);
  auto records = srv("_vlmcs._tcp.corp.example");
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    auto* host = site_->kms_host(r.priority == 0 ? "kms1" : "kms2");
    ASSERT_NE(host, nullptr);
    EXPECT_EQ(r.port, host->endpoints().at(0).port()) << "the SRV record carries the bound port";
  }
  for (const char* name : {"kms1", "kms2"}) {
    auto result = test::activate(site_->kms_host(name)->endpoints().at(0), test::make_test_request(protocol::kKmsV6));
    EXPECT_EQ(result.hresult, 0u) << name;
    ASSERT_TRUE(result.verified) << result.error;
  }
  // kms2 counts distinct clients, prefilled with 30: our client is the 31st.
  auto again = test::activate(site_->kms_host("kms2")->endpoints().at(0), test::make_test_request(protocol::kKmsV5));
  ASSERT_TRUE(again.verified);
  EXPECT_EQ(again.verified->response.current_count, 31u);
  EXPECT_EQ(site_->kms_host("kms1")->counters().activations.load(), 1u);
}

TEST_F(SiteTest, RawRecordsAndPortOfHost) {
  auto config = load_simulator_config_text(R"(
dns:
  zones:
    - origin: lab.test
      records:
        - {name: _vlmcs._tcp, type: SRV, priority: 5, weight: 0, port: h1, target: h1.lab.test.}
        - {name: _vlmcs._tcp, type: SRV, priority: 9, weight: 0, port: 1688, target: gone.lab.test.}
        - {name: h1, type: A, address: 127.0.0.1}
kms_hosts:
  - name: h1
sntp: {enabled: false}
)",
                                           "inline.yaml");
  ASSERT_TRUE(config) << config.error().format();
  start(*config);
  auto records = srv("_vlmcs._tcp.lab.test");
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    if (r.priority == 5) EXPECT_EQ(r.port, site_->kms_host("h1")->endpoints().at(0).port());
    else EXPECT_EQ(r.port, 1688);
  }
  EXPECT_EQ(site_->sntp(), nullptr);
}

TEST_F(SiteTest, ActivationLogHasOneJsonLinePerActivation) {
  const std::string log = ::testing::TempDir() + "/activations.jsonl";
  std::remove(log.c_str());
  auto config = load_simulator_config_text("kms_hosts:\n  - name: h1\n", "inline.yaml");
  ASSERT_TRUE(config);
  config->activation_log = log;
  start(*config);
  auto ep = site_->kms_host("h1")->endpoints().at(0);
  EXPECT_EQ(test::activate(ep, test::make_test_request(protocol::kKmsV4)).hresult, 0u);
  EXPECT_EQ(test::activate(ep, test::make_test_request(protocol::kKmsV6, "Windows 10 Professional", std::chrono::hours(6))).hresult,
            0xC004F06Cu);
  std::ifstream in(log);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  auto a = nlohmann::json::parse(first);
  auto b = nlohmann::json::parse(second);
  EXPECT_EQ(a["result"], "activated");
  EXPECT_EQ(a["protocol"], "4.0");
  EXPECT_EQ(a["product"], "Windows 10 Professional");
  EXPECT_EQ(a["cmid"], "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(a["workstation"], "test-client.example.test");
  EXPECT_TRUE(a.contains("duration_us"));
  EXPECT_EQ(b["hresult"], "0xC004F06C");
  EXPECT_EQ(b["result"], "refused");
}

TEST_F(SiteTest, StartFailsClearlyWhenAPortIsTaken) {
  net::asio::io_context other;
  net::tcp::acceptor busy(other, net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), 0));
  const auto port = busy.local_endpoint().port();
  auto config = load_simulator_config_text(
      "kms_hosts:\n  - name: h1\n    listen: 127.0.0.1:" + std::to_string(port) + "\n", "inline.yaml");
  ASSERT_TRUE(config);
  Site site(io_, *config);
  auto started = site.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().find("h1"), std::string::npos) << started.error();
  EXPECT_NE(started.error().find("cannot listen"), std::string::npos) << started.error();
}

}  // namespace
}  // namespace kmslab::simulator
