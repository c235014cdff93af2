// The fault engine without sockets: matching, order, probability and seeds, limits, counters,
// listener states.
#include "kmslab/simulator/fault_engine.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

FaultSpec spec(const char* text) { return parse_fault_json(json::parse(text)).value(); }

std::vector<std::string> names(const std::vector<FaultHit>& hits) {
  std::vector<std::string> out;
  for (const auto& h : hits) out.push_back(h.name);
  return out;
}

TEST(DnsNameGlob, MatchesCaseInsensitivelyWithStarsAndQuestionMarks) {
  EXPECT_TRUE(dns_name_matches("*", "anything.example."));
  EXPECT_TRUE(dns_name_matches("_vlmcs._tcp.*", "_VLMCS._tcp.corp.example."));
  EXPECT_TRUE(dns_name_matches("kms?.corp.example", "kms1.corp.example."));
  EXPECT_TRUE(dns_name_matches("*.corp.example.", "a.b.corp.example"));
  EXPECT_FALSE(dns_name_matches("*.corp.example", "corp.example."));
  EXPECT_FALSE(dns_name_matches("kms?.corp.example", "kms10.corp.example."));
  EXPECT_FALSE(dns_name_matches("_vlmcs._tcp.lab", "_vlmcs._tcp.corp."));
  EXPECT_TRUE(dns_name_matches("*a*b*c*", "xxaxxbxxcxx"));
}

TEST(FaultEngine, MatchesTargetHostStageAndDnsQuery) {
  FaultEngine engine;
  engine.set_kms_hosts({"kms1", "kms2"});
  ASSERT_TRUE(engine.add(spec(R"({"name": "a", "target": "kms", "host": "kms1", "action": "silence"})")));
  ASSERT_TRUE(engine.add(spec(R"({"name": "b", "target": "kms", "action": "corrupt_hash"})")));
  ASSERT_TRUE(engine.add(spec(R"({"name": "c", "target": "dns", "match": {"name": "_vlmcs._tcp.*", "type": "SRV"},
                                   "action": "servfail"})")));
  ASSERT_TRUE(engine.add(spec(R"({"name": "d", "target": "sntp", "action": "drop"})")));
  EXPECT_EQ(names(engine.evaluate_kms("kms1", KmsStage::accept)), std::vector<std::string>{"a"});
  EXPECT_TRUE(engine.evaluate_kms("kms2", KmsStage::accept).empty());
  EXPECT_EQ(names(engine.evaluate_kms("kms2", KmsStage::response)), std::vector<std::string>{"b"});
  EXPECT_EQ(names(engine.evaluate_dns("_vlmcs._tcp.corp.example.", "SRV")), std::vector<std::string>{"c"});
  EXPECT_TRUE(engine.evaluate_dns("_vlmcs._tcp.corp.example.", "A").empty());
  EXPECT_TRUE(engine.evaluate_dns("kms1.corp.example.", "SRV").empty());
  EXPECT_EQ(names(engine.evaluate_sntp()), std::vector<std::string>{"d"});
}

TEST(FaultEngine, HitsComeInTheOrderFaultsWereAdded) {
  FaultEngine engine;
  ASSERT_TRUE(engine.add(spec(R"({"name": "first", "target": "kms", "action": "delay", "params": {"delay_ms": 5}})")));
  ASSERT_TRUE(engine.add(spec(R"({"name": "second", "target": "kms", "action": "truncate"})")));
  auto hits = engine.evaluate_kms("kms1", KmsStage::response);
  EXPECT_EQ(names(hits), (std::vector<std::string>{"first", "second"}));
  auto plan = plan_kms_stage(KmsStage::response, hits);
  EXPECT_EQ(plan.delay, 5ms);
  EXPECT_TRUE(plan.write.truncate_half);
  EXPECT_EQ(plan.applied, (std::vector<std::string>{"first", "second"}));
}

TEST(FaultEngine, NamesDuplicatesAndUnknownHosts) {
  FaultEngine engine;
  engine.set_kms_hosts({"kms1"});
  auto a = engine.add(spec(R"({"target": "sntp", "action": "drop"})"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->spec.name, "drop-1");
  ASSERT_TRUE(engine.add(spec(R"({"name": "x", "target": "sntp", "action": "drop"})")));
  auto dup = engine.add(spec(R"({"name": "x", "target": "sntp", "action": "drop"})"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().field, "name");
  auto host = engine.add(spec(R"({"target": "kms", "host": "kms7", "action": "silence"})"));
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().field, "host");
  EXPECT_NE(host.error().message.find("kms1"), std::string::npos);
  EXPECT_TRUE(engine.remove("x"));
  EXPECT_FALSE(engine.remove("x"));
  EXPECT_EQ(engine.clear(), 1u);
  EXPECT_EQ(engine.size(), 0u);
}

// The sequence of hit/miss decisions for `n` evaluations of one fault.
std::string pattern(FaultEngine& engine, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += engine.evaluate_sntp().empty() ? '.' : 'X';
  return out;
}

TEST(FaultEngine, ProbabilityIsDeterministicPerSeed) {
  const char* text = R"({"name": "p", "target": "sntp", "action": "drop", "probability": 0.3, "seed": 42})";
  FaultEngine a, b;
  ASSERT_TRUE(a.add(spec(text)));
  ASSERT_TRUE(b.add(spec(text)));
  const auto pa = pattern(a, 400);
  EXPECT_EQ(pa, pattern(b, 400)) << "same seed, same decisions";
  const auto hits = std::count(pa.begin(), pa.end(), 'X');
  EXPECT_GT(hits, 80);  // 120 expected; generous bounds
  EXPECT_LT(hits, 160);
  FaultEngine c;
  ASSERT_TRUE(c.add(spec(R"({"name": "p", "target": "sntp", "action": "drop", "probability": 0.3, "seed": 43})")));
  EXPECT_NE(pa, pattern(c, 400)) << "another seed, other decisions";
  auto status = a.find("p");
  EXPECT_EQ(status->matched, 400u);
  EXPECT_EQ(status->applied, static_cast<std::uint64_t>(hits));
}

TEST(FaultEngine, OtherFaultsDoNotDisturbAFaultsSequence) {
  FaultEngine a, b;
  ASSERT_TRUE(a.add(spec(R"({"name": "p", "target": "sntp", "action": "drop", "probability": 0.5})")));
  ASSERT_TRUE(b.add(spec(R"({"name": "q", "target": "sntp", "action": "delay", "params": {"delay_ms": 1},
                              "probability": 0.7})")));
  ASSERT_TRUE(b.add(spec(R"({"name": "p", "target": "sntp", "action": "drop", "probability": 0.5})")));
  std::string pa, pb;
  for (int i = 0; i < 200; ++i) {
    pa += a.evaluate_sntp().empty() ? '.' : 'X';
    const auto hits = names(b.evaluate_sntp());
    pb += std::find(hits.begin(), hits.end(), "p") == hits.end() ? '.' : 'X';
  }
  EXPECT_EQ(pa, pb) << "without a seed the fault's RNG comes from the engine seed and its name";
}

TEST(FaultEngine, JitterIsDrawnFromTheFaultsSeed) {
  auto delays = [](std::uint64_t seed) {
    FaultEngine engine(seed);
    EXPECT_TRUE(engine.add(spec(R"({"name": "j", "target": "dns", "action": "delay",
                                    "params": {"delay_ms": 10, "jitter_ms": 20}})")));
    std::vector<std::int64_t> out;
    for (int i = 0; i < 50; ++i) {
      DnsExchange ex;
      apply_dns_faults(engine.evaluate_dns("a.example.", "A"), ex);
      EXPECT_GE(ex.delay, 10ms);
      EXPECT_LE(ex.delay, 30ms);
      out.push_back(ex.delay.count());
    }
    return out;
  };
  EXPECT_EQ(delays(1), delays(1));
  EXPECT_NE(delays(1), delays(2));
}

TEST(FaultEngine, LimitFirstStopsAfterNHits) {
  FaultEngine engine;
  ASSERT_TRUE(engine.add(spec(R"({"name": "l", "target": "sntp", "action": "drop", "limit_first": 3})")));
  EXPECT_EQ(pattern(engine, 6), "XXX...");
  auto s = engine.find("l");
  EXPECT_FALSE(s->active);
  EXPECT_EQ(s->applied, 3u);
  EXPECT_EQ(s->matched, 3u);
}

TEST(FaultEngine, LimitForExpiresOnTheInjectedClock) {
  auto now = std::chrono::steady_clock::time_point{};
  FaultEngine engine(1, [&now] { return now; });
  ASSERT_TRUE(engine.add(spec(R"({"name": "t", "target": "sntp", "action": "drop", "limit_for": 500})")));
  EXPECT_EQ(pattern(engine, 2), "XX");
  now += 499ms;
  EXPECT_EQ(pattern(engine, 1), "X");
  now += 1ms;
  EXPECT_EQ(pattern(engine, 2), "..");
  EXPECT_FALSE(engine.find("t")->active);
}

TEST(FaultEngine, ListenerStatesFollowFaultsThenManualState) {
  FaultEngine engine;
  engine.set_kms_hosts({"kms1", "kms2"});
  std::vector<std::pair<std::string, ListenerState>> seen;
  engine.set_listener_observer([&](const std::string& host, ListenerState s) { seen.emplace_back(host, s); });
  ASSERT_TRUE(engine.add(spec(R"({"name": "f", "target": "kms", "host": "kms1", "action": "filtered"})")));
  EXPECT_EQ(engine.listener_state("kms1"), ListenerState::filtered);
  EXPECT_EQ(engine.listener_state("kms2"), ListenerState::open);
  ASSERT_TRUE(engine.set_listener_state("kms1", ListenerState::refused));
  EXPECT_EQ(engine.listener_state("kms1"), ListenerState::filtered) << "a fault wins over the manual state";
  ASSERT_TRUE(engine.add(spec(R"({"name": "r", "target": "kms", "action": "refused"})")));
  EXPECT_EQ(engine.listener_state("kms2"), ListenerState::refused) << "no host: every host";
  EXPECT_TRUE(engine.remove("r"));
  EXPECT_TRUE(engine.remove("f"));
  EXPECT_EQ(engine.listener_state("kms1"), ListenerState::refused) << "back to the manual state";
  EXPECT_TRUE(engine.evaluate_kms("kms1", KmsStage::listener).empty()) << "listener faults never hit connections";
  engine.reset();
  EXPECT_EQ(engine.listener_state("kms1"), ListenerState::open);
  const std::vector<std::pair<std::string, ListenerState>> expected = {
      {"kms1", ListenerState::filtered}, {"kms1", ListenerState::refused}, {"kms2", ListenerState::refused},
      {"kms1", ListenerState::filtered}, {"kms2", ListenerState::open},    {"kms1", ListenerState::refused},
      {"kms1", ListenerState::open}};
  EXPECT_EQ(seen, expected);
  EXPECT_FALSE(engine.set_listener_state("nope", ListenerState::open));
}

TEST(FaultEngine, CountersJsonListsFaultsAndListeners) {
  FaultEngine engine;
  engine.set_kms_hosts({"kms1"});
  ASSERT_TRUE(engine.add(spec(R"({"name": "d", "target": "sntp", "action": "drop"})")));
  (void)engine.evaluate_sntp();
  auto j = engine.counters_json();
  ASSERT_EQ(j["faults"].size(), 1u);
  EXPECT_EQ(j["faults"][0]["name"], "d");
  EXPECT_EQ(j["faults"][0]["applied"], 1);
  EXPECT_EQ(j["listeners"]["kms1"], "open");
}

}  // namespace
}  // namespace kmslab::simulator

namespace kmslab::simulator {
namespace {

// The nftables mode of `filtered` installs a real firewall rule, so outside a namespace kmslab
// made (this test process) the engine refuses it up front instead of touching the host.
TEST(FaultEngineNftables, FilteredModeParamsParseAndRoundTrip) {
  const auto* action = find_action(FaultTarget::kms, "filtered");
  ASSERT_NE(action, nullptr);
  auto p = action->parse(json{{"mode", "nftables"}}, "filtered");
  ASSERT_TRUE(p);
  EXPECT_EQ(std::get<KmsFilteredParams>(*p).mode, KmsFilterMode::nftables);
  EXPECT_EQ(action->params_to_json(*p), (json{{"mode", "nftables"}}));
  auto d = action->parse(json::object(), "filtered");
  ASSERT_TRUE(d);
  EXPECT_EQ(std::get<KmsFilteredParams>(*d).mode, KmsFilterMode::backlog);
  EXPECT_EQ(action->params_to_json(*d), json::object());
  auto bad = action->parse(json{{"mode", "iptables"}}, "filtered");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "params.mode");
  EXPECT_NE(bad.error().message.find("'backlog'"), std::string::npos) << bad.error().message;
  auto unknown = action->parse(json{{"mdoe", "nftables"}}, "filtered");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("mode"), std::string::npos) << "nearest name suggested";
}

TEST(FaultEngineNftables, RefusedOutsideAKmslabNamespace) {
  FaultEngine engine(1);
  engine.set_kms_hosts({"kms1"});
  auto added = engine.add(spec(R"({"target": "kms", "host": "kms1", "action": "filtered", "params": {"mode": "nftables"}})"));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().field, "params.mode");
  EXPECT_NE(added.error().message.find("private network namespace"), std::string::npos) << added.error().message;
  EXPECT_EQ(engine.size(), 0u);
  EXPECT_EQ(engine.listener_state("kms1"), ListenerState::open);
  auto manual = engine.set_listener_state("kms1", ListenerState::filtered_nftables);
  ASSERT_FALSE(manual);
  EXPECT_EQ(engine.listener_state("kms1"), ListenerState::open);
  // The backlog mode needs nothing and still works.
  EXPECT_TRUE(engine.add(spec(R"({"target": "kms", "host": "kms1", "action": "filtered", "params": {"mode": "backlog"}})")));
  EXPECT_EQ(engine.listener_state("kms1"), ListenerState::filtered);
}

TEST(FaultEngineNftables, StateNamesRoundTrip) {
  EXPECT_EQ(to_string(ListenerState::filtered_nftables), "filtered_nftables");
  EXPECT_EQ(parse_listener_state("filtered_nftables"), ListenerState::filtered_nftables);
}

}  // namespace
}  // namespace kmslab::simulator
