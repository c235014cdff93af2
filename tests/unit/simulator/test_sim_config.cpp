#include "kmslab/simulator/sim_config.hpp"

#include <gtest/gtest.h>

#include "hostile_yaml.hpp"

namespace kmslab::simulator {
namespace {

TEST(SimConfig, LoadsTheShippedExample) {
  auto c = load_simulator_config(std::string(KMSLAB_SOURCE_DIR) + "/examples/corp.yaml");
  ASSERT_TRUE(c) << c.error().format();
  ASSERT_EQ(c->kms_hosts.size(), 2u);
  EXPECT_EQ(c->kms_hosts[0].name, "kms1");
  EXPECT_EQ(c->kms_hosts[0].publish.at(0).domain, "corp.example");
  EXPECT_EQ(c->kms_hosts[1].publish.at(0).priority, 10);
  EXPECT_EQ(c->kms_hosts[1].count_mode, CountMode::distinct);
  EXPECT_EQ(c->kms_hosts[0].renewal_interval_min, 10080u);
  EXPECT_EQ(c->kms_hosts[0].time_tolerance, std::chrono::hours(4));
  EXPECT_TRUE(c->kms_hosts[0].products.empty()) << "'all' means every known product";
  EXPECT_EQ(c->seed, 42u);
}

TEST(SimConfig, Defaults) {
  auto c = load_simulator_config_text("kms_hosts:\n  - name: a\n", "t.yaml");
  ASSERT_TRUE(c) << c.error().format();
  const auto& h = c->kms_hosts.at(0);
  EXPECT_EQ(h.listen, std::vector<std::string>{"127.0.0.1:0"}) << "loopback unless named";
  EXPECT_EQ(h.activation_interval_min, 120u);
  EXPECT_EQ(h.count_mode, CountMode::policy_double);
  EXPECT_EQ(h.protocols, (std::vector<int>{4, 5, 6}));
  // Limits (docs/reliability.md).
  EXPECT_EQ(h.max_connections, 1024u);
  EXPECT_EQ(h.read_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(h.idle_timeout, std::chrono::milliseconds(30'000));
  EXPECT_EQ(h.max_pdu_size, 16u * 1024);
  EXPECT_EQ(h.max_fragments, 64u);
  EXPECT_EQ(c->dns.max_tcp_connections, 64u);
  EXPECT_EQ(c->dns.max_tcp_message, 16384u);
  EXPECT_EQ(c->dns.tcp_idle_timeout, std::chrono::milliseconds(5000));
}

TEST(SimConfig, EveryLimitIsConfigurable) {
  auto c = load_simulator_config_text(
      "dns: {max_tcp_connections: 5, max_tcp_message: 512, tcp_idle_timeout: 750ms}\n"
      "kms_hosts:\n  - {name: a, max_connections: 3, read_timeout: 2s, idle_timeout: 4s, max_pdu_size: 4096,"
      " max_fragments: 2}\n",
      "t.yaml");
  ASSERT_TRUE(c) << c.error().format();
  const auto& h = c->kms_hosts.at(0);
  EXPECT_EQ(h.max_connections, 3u);
  EXPECT_EQ(h.read_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(h.idle_timeout, std::chrono::milliseconds(4000));
  EXPECT_EQ(h.max_pdu_size, 4096u);
  EXPECT_EQ(h.max_fragments, 2u);
  EXPECT_EQ(c->dns.max_tcp_connections, 5u);
  EXPECT_EQ(c->dns.max_tcp_message, 512u);
  EXPECT_EQ(c->dns.tcp_idle_timeout, std::chrono::milliseconds(750));
}

struct BadCase {
  const char* yaml;
  int line;
  const char* path;
  const char* message_part;
};

TEST(SimConfig, ErrorsNameLineKeyAndFix) {
  const BadCase cases[] = {
      {"kms_host:\n  - name: a\n", 1, "kms_host", "did you mean 'kms_hosts'"},
      {"kms_hosts:\n  - name: a\n    cont: 5\n", 3, "kms_hosts[0].cont", "did you mean 'count'"},
      {"kms_hosts:\n  - name: a\n    count: lots\n", 3, "kms_hosts[0].count", "'auto', 'distinct' or a number"},
      {"kms_hosts:\n  - name: a\n  - name: a\n", 3, "kms_hosts[1].name", "duplicate"},
      {"kms_hosts:\n  - name: a\n    clock_skew: soon\n", 3, "kms_hosts[0].clock_skew", "duration"},
      {"kms_hosts:\n  - name: a\n    protocols: [4, 7]\n", 3, "kms_hosts[0].protocols[1]", "4..6"},
      {"kms_hosts:\n  - name: a\n    publish: [corp.example]\n", 3, "kms_hosts[0].publish", "not inside any zone"},
      {"dns:\n  zones:\n    - origin: x.test\n      records:\n        - {type: SRV, target: a, port: kms9}\n", 5,
       "dns.zones[0].records[0].port", "no KMS host named 'kms9'"},
      {"dns:\n  zones:\n    - origin: x.test\n      records:\n        - {type: A, address: 1.2.3.4, port: 5}\n", 5,
       "dns.zones[0].records[0].port", "does not apply"},
      {"dns:\n  zones:\n    - origin: x.test\n      records:\n        - {type: MX, target: a}\n", 5,
       "dns.zones[0].records[0].type", "unknown value 'MX'"},
      {"sntp:\n  stratum: 17\n", 2, "sntp.stratum", "0..16"},
      {"kms_hosts:\n  - name: a\n    max_pdu_size: 70000\n", 3, "kms_hosts[0].max_pdu_size", "16..65535"},
      {"kms_hosts:\n  - name: a\n    max_fragments: 0\n", 3, "kms_hosts[0].max_fragments", "1..4096"},
      {"dns:\n  max_tcp_message: 8\n", 2, "dns.max_tcp_message", "12..65535"},
      {"kms_hosts:\n  - name: a\n    listen: []\n", 3, "kms_hosts[0].listen", "at least one address"},
      {"kms_hosts:\n  - name: a\n    host_build: 1\n", 3, "kms_hosts[0].host_build", "unknown host build 1 (expected one of 17763, 14393"},
  };
  for (const auto& c : cases) {
    auto r = load_simulator_config_text(c.yaml, "bad.yaml");
    ASSERT_FALSE(r) << c.yaml;
    EXPECT_EQ(r.error().line, c.line) << r.error().format();
    EXPECT_EQ(r.error().path, c.path) << r.error().format();
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos) << r.error().format();
    EXPECT_EQ(r.error().file, "bad.yaml");
  }
}

// The shape: anchors nested nine levels deep inside a fault's params. Six levels (9^6 =
// 531,441 nodes once expanded) keep the test cheap even on code that expands them.
TEST(SimConfig, AliasBombInAFaultsParamsIsRefusedBeforeExpansion) {
  const std::string yaml = "kms_hosts:\n  - name: kms1\nfaults:\n  - name: f\n    target: kms\n    host: kms1\n"
                           "    action: delay\n    params:\n" +
                           test::alias_bomb(6, 9, "      ");
  auto r = load_simulator_config_text(yaml, "bomb.yaml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("aliases expand to more than"), std::string::npos) << r.error().format();
  EXPECT_EQ(r.error().path, "faults[0].params.l6[0]") << r.error().format();
}

TEST(SimConfig, DuplicateSeedNamesBothLines) {
  auto r = load_simulator_config_text("seed: 1\nkms_hosts:\n  - name: a\nseed: 2\n", "dup.yaml");
  ASSERT_FALSE(r) << "the second seed was accepted";
  EXPECT_EQ(r.error().format(), "dup.yaml:4:1: seed: duplicate key 'seed' (first at line 1)");
}

}  // namespace
}  // namespace kmslab::simulator

namespace kmslab::simulator {
namespace {

TEST(SimConfig, ProductsAreCheckedAgainstTheIdTable) {
  auto ok = load_simulator_config_text("kms_hosts:\n  - name: a\n    products: [office, Windows Server 2019, any]\n", "p.yaml");
  EXPECT_TRUE(ok) << ok.error().format();
  auto bad = load_simulator_config_text("kms_hosts:\n  - name: a\n    products: [office, Windows 95]\n", "p.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().path, "kms_hosts[0].products[1]");
  EXPECT_NE(bad.error().message.find("kmslab products"), std::string::npos) << bad.error().format();
}

}  // namespace
}  // namespace kmslab::simulator
