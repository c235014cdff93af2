// watch.yaml: what a valid file becomes, and a located error for each kind of mistake.
#include <gtest/gtest.h>

#include "kmslab/monitor/watch_config.hpp"

namespace {

using namespace kmslab::monitor;
using namespace std::chrono_literals;

const char* kValid = R"(listen: 127.0.0.1:0
concurrency: 2
seed: 7
buckets: [0.01, 0.1, 1]
modules:
  corp_srv:
    prober: srv
    timeout: 10s
    dns: [127.0.0.1:5353]
    dns_timeout: 500ms
    product: Windows 10 Enterprise
    ntp: 127.0.0.1:1123
    budgets: {tcp.connect: 200ms, kms.activate: 1s}
  direct:
    prober: kms
    connect_timeout: 1s
targets:
  - {module: corp_srv, target: corp.example, interval: 30s, jitter: 5s}
  - {name: kms1, module: direct, target: "127.0.0.1:1688", interval: 1m}
)";

TEST(WatchConfig, ReadsModulesTargetsAndDefaults) {
  auto c = load_watch_config_text(kValid, "watch.yaml");
  ASSERT_TRUE(c) << c.error().format();
  EXPECT_EQ(c->listen, "127.0.0.1:0");
  EXPECT_EQ(c->concurrency, 2u);
  EXPECT_EQ(c->seed, 7u);
  EXPECT_EQ(c->buckets, (std::vector<double>{0.01, 0.1, 1}));
  ASSERT_EQ(c->modules.size(), 2u);
  const auto& srv = c->modules.at("corp_srv");
  EXPECT_EQ(srv.prober, Prober::srv);
  EXPECT_EQ(srv.timeout, 10s);
  EXPECT_EQ(srv.probe.dns_servers, (std::vector<std::string>{"127.0.0.1:5353"}));
  EXPECT_EQ(srv.probe.dns_timeout, 500ms);
  EXPECT_EQ(srv.probe.ntp, "127.0.0.1:1123");
  EXPECT_EQ(srv.probe.budgets.at(kmslab::client::Phase::tcp_connect), kmslab::client::Micros(200'000));
  EXPECT_EQ(c->modules.at("direct").prober, Prober::kms);
  EXPECT_EQ(c->modules.at("direct").probe.kms_client.connect_timeout, 1s);
  ASSERT_EQ(c->targets.size(), 2u);
  EXPECT_EQ(c->targets[0].name, "corp.example") << "the name defaults to the target";
  EXPECT_EQ(c->targets[0].interval, 30s);
  EXPECT_EQ(c->targets[0].jitter, 5s);
  EXPECT_EQ(c->targets[1].name, "kms1");
  EXPECT_EQ(c->targets[1].interval, 60s);
}

TEST(WatchConfig, ProbeConfigForPutsTheTargetWhereTheProberWantsIt) {
  auto c = load_watch_config_text(kValid, "watch.yaml");
  ASSERT_TRUE(c);
  auto srv = probe_config_for(c->modules.at("corp_srv"), "lab.example", 99);
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->domains, (std::vector<std::string>{"lab.example"}));
  EXPECT_TRUE(srv->kms.empty());
  EXPECT_EQ(srv->seed, 99u);
  auto kms = probe_config_for(c->modules.at("direct"), "10.0.0.5:1688", 1);
  ASSERT_TRUE(kms);
  EXPECT_EQ(kms->kms, "10.0.0.5:1688");
  EXPECT_TRUE(kms->domains.empty());
  auto bad = probe_config_for(c->modules.at("direct"), "host:notaport", 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, kmslab::protocol::Errc::bad_value);
}

struct BadConfig {
  const char* what;
  std::string text;
  int line;
  const char* message_part;
};

TEST(WatchConfig, DuplicateKeyNamesBothLines) {
  auto r = load_watch_config_text(std::string(kValid) + "concurrency: 4\n", "watch.yaml");
  ASSERT_FALSE(r) << "the second concurrency was accepted";
  EXPECT_EQ(r.error().format(), "watch.yaml:20:1: concurrency: duplicate key 'concurrency' (first at line 2)");
}

TEST(WatchConfig, EveryMistakeIsLocated) {
  const std::string modules = "modules:\n  m: {prober: srv}\n";
  const std::vector<BadConfig> cases{
      {"unknown top-level key", "modules:\n  m: {}\ntargetz: []\n", 3, "did you mean 'targets'"},
      {"unknown module key", "modules:\n  m:\n    prober: srv\n    budget: {}\n", 4, "did you mean 'budgets'"},
      {"bad prober", "modules:\n  m: {prober: http}\n", 2, "srv"},
      {"unknown module", modules + "targets:\n  - {module: mm, target: corp.example}\n", 4, "did you mean 'm'"},
      {"interval too short", modules + "targets:\n  - {module: m, target: a.example, interval: 10ms}\n", 4, "interval"},
      {"jitter not below interval", modules + "targets:\n  - {module: m, target: a.example, interval: 1s, jitter: 1s}\n", 4,
       "jitter"},
      {"duplicate target", modules + "targets:\n  - {module: m, target: a.example}\n  - {module: m, target: a.example}\n",
       5, "twice"},
      {"bad budget phase", "modules:\n  m:\n    budgets: {tcp.conect: 1s}\n", 3, "not a phase"},
      {"unknown product", "modules:\n  m: {product: Windows 3.1}\n", 2, "matches no product"},
      {"bad protocol", "modules:\n  m: {protocol: 7}\n", 2, "4..6"},
      {"bad kms target", "modules:\n  m: {prober: kms}\ntargets:\n  - {module: m, target: \"h:99999\"}\n", 4, "host[:port]"},
      {"no modules", "modules: {}\n", 1, "at least one module"},
      {"buckets not increasing", "buckets: [1, 0.5]\n" + modules, 1, "increase"},
      {"concurrency out of range", "concurrency: 0\n" + modules, 1, "concurrency"},
      {"not YAML", "modules: [\n", 0, ""},
  };
  for (const auto& c : cases) {
    auto r = load_watch_config_text(c.text, "watch.yaml");
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().file, "watch.yaml") << c.what;
    if (c.line > 0) {
      EXPECT_EQ(r.error().line, c.line) << c.what << ": " << r.error().format();
    }
    EXPECT_NE(r.error().format().find(c.message_part), std::string::npos) << c.what << ": " << r.error().format();
  }
}

TEST(WatchConfig, MissingFileIsAnError) {
  auto r = load_watch_config("/nonexistent/watch.yaml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().format().find("/nonexistent/watch.yaml"), std::string::npos);
}

}  // namespace
