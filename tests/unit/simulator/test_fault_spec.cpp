// FaultSpec parsing: every action's params (valid and invalid), field-naming errors, suggestions,
// the canonical JSON round trip, YAML with located errors, and the registry's completeness.
#include "kmslab/simulator/fault.hpp"
#include "kmslab/simulator/fault_actions.hpp"
#include "kmslab/simulator/sim_config.hpp"

#include <gtest/gtest.h>

#include <set>

namespace kmslab::simulator {
namespace {

using nlohmann::json;

FaultResult<FaultSpec> parse(const char* text) { return parse_fault_json(json::parse(text)); }

FaultError error_of(const char* text) {
  auto r = parse(text);
  EXPECT_FALSE(r) << "accepted: " << text;
  return r ? FaultError{} : r.error();
}

TEST(FaultSpec, ParsesAFullDnsFault) {
  auto s = parse(R"({"name": "slow-srv", "target": "dns", "match": {"name": "_vlmcs._tcp.*", "type": "srv"},
                     "action": "delay", "params": {"delay_ms": 50, "jitter_ms": 10},
                     "probability": 0.5, "seed": 7, "limit_first": 3, "limit_for": "2s"})");
  ASSERT_TRUE(s) << s.error().format();
  EXPECT_EQ(s->name, "slow-srv");
  EXPECT_EQ(s->target, FaultTarget::dns);
  EXPECT_EQ(s->dns.name, "_vlmcs._tcp.*");
  EXPECT_EQ(s->dns.type, "SRV");
  EXPECT_EQ(s->params, json({{"delay_ms", 50}, {"jitter_ms", 10}}));
  EXPECT_DOUBLE_EQ(s->probability, 0.5);
  EXPECT_EQ(s->seed, 7u);
  EXPECT_EQ(s->limit_first, 3u);
  EXPECT_EQ(s->limit_for, std::chrono::milliseconds(2000));
}

TEST(FaultSpec, KmsStageDefaultsToTheActionsFirstStage) {
  EXPECT_EQ(parse(R"({"target": "kms", "action": "corrupt_hash"})")->stage, KmsStage::response);
  EXPECT_EQ(parse(R"({"target": "kms", "action": "silence"})")->stage, KmsStage::accept);
  EXPECT_EQ(parse(R"({"target": "kms", "action": "bind_nak"})")->stage, KmsStage::bind);
  EXPECT_EQ(parse(R"({"target": "kms", "action": "filtered"})")->stage, KmsStage::listener);
  EXPECT_EQ(parse(R"({"target": "kms", "action": "reset", "match": {"stage": "bind"}})")->stage, KmsStage::bind);
}

TEST(FaultSpec, BindStageFaultsActOncePerExchangeUnlessPdusAreNamed) {
  EXPECT_EQ(parse(R"({"target": "kms", "action": "delay", "match": {"stage": "bind"}, "params": {"delay_ms": 5}})")->bind_pdus,
            BindPdus::exchange);
  auto each = parse(R"({"target": "kms", "action": "delay", "match": {"stage": "bind", "pdu": "bind | alter_context"}, "params": {"delay_ms": 5}})");
  ASSERT_TRUE(each) << each.error().format();
  EXPECT_EQ(each->bind_pdus, BindPdus::both);
  EXPECT_EQ(to_json(*each)["match"]["pdu"], "bind | alter_context");
  EXPECT_EQ(parse_fault_json(to_json(*each)).value(), *each);
  EXPECT_EQ(parse(R"({"target": "kms", "action": "bind_nak", "match": {"pdu": "alter_context"}})")->bind_pdus,
            BindPdus::alter_context);
  EXPECT_EQ(error_of(R"({"target": "kms", "action": "delay", "match": {"stage": "request", "pdu": "bind"}, "params": {"delay_ms": 5}})").field,
            "match.pdu");
  const auto bad = error_of(R"({"target": "kms", "action": "delay", "match": {"stage": "bind", "pdu": "bind | request"}, "params": {"delay_ms": 5}})");
  EXPECT_EQ(bad.field, "match.pdu");
  EXPECT_NE(bad.message.find("alter_context"), std::string::npos) << bad.message;
}

TEST(FaultSpec, RoundTripsThroughCanonicalJson) {
  for (const char* text : {
           R"({"target": "dns", "action": "rewrite_srv", "params": {"port": 9}, "limit_for": 1500})",
           R"({"name": "h", "target": "kms", "host": "kms1", "action": "hresult", "params": {"hresult": "0xC004F042"}})",
           R"({"target": "kms", "action": "rpc_fault", "params": {"status": 469827595}, "seed": 18446744073709551615})",
           R"({"target": "kms", "action": "products", "params": {"products": ["office", "any"]}})",
           R"({"target": "sntp", "action": "kiss_of_death", "params": {"code": "DENY"}, "probability": 0.25})",
           R"({"target": "sntp", "action": "skew", "params": {"offset_ms": -3600000}})",
       }) {
    auto s = parse(text);
    ASSERT_TRUE(s) << text << ": " << s.error().format();
    auto again = parse_fault_json(to_json(*s));
    ASSERT_TRUE(again) << again.error().format();
    EXPECT_EQ(*again, *s) << to_json(*s).dump();
  }
  // Hex statuses are written back as hex text.
  EXPECT_EQ(to_json(*parse(R"({"target": "kms", "action": "rpc_fault", "params": {"status": 469827595}})"))["params"],
            json({{"status", "0x1C01000B"}}));
}

TEST(FaultSpec, EveryActionParsesItsParamsAndRejectsBadOnes) {
  struct Case {
    const char* fault;
    const char* field;  // "" = valid
  };
  const Case cases[] = {
      {R"({"target": "dns", "action": "nxdomain"})", ""},
      {R"({"target": "dns", "action": "nxdomain", "params": {"x": 1}})", "params.x"},
      {R"({"target": "dns", "action": "nodata"})", ""},
      {R"({"target": "dns", "action": "servfail"})", ""},
      {R"({"target": "dns", "action": "refused"})", ""},
      {R"({"target": "dns", "action": "drop"})", ""},
      {R"({"target": "dns", "action": "delay", "params": {"delay_ms": 20}})", ""},
      {R"({"target": "dns", "action": "delay"})", "params.delay_ms"},
      {R"({"target": "dns", "action": "delay", "params": {"delay_ms": -5}})", "params.delay_ms"},
      {R"({"target": "dns", "action": "delay", "params": {"delay_ms": "20"}})", "params.delay_ms"},
      {R"({"target": "dns", "action": "delay", "params": {"delay_ms": 1.5}})", "params.delay_ms"},
      {R"({"target": "dns", "action": "delay", "params": {"delay_ms": 9999999}})", "params.delay_ms"},
      {R"({"target": "dns", "action": "delay", "params": {"delay_ms": 1, "jiter_ms": 2}})", "params.jiter_ms"},
      {R"({"target": "dns", "action": "truncate"})", ""},
      {R"({"target": "dns", "action": "tcp_closed"})", ""},
      {R"({"target": "dns", "action": "rewrite_srv", "params": {"target": "other.lab.test."}})", ""},
      {R"({"target": "dns", "action": "rewrite_srv", "params": {"port": 70000}})", "params.port"},
      {R"({"target": "dns", "action": "rewrite_srv", "params": {}})", "params"},
      {R"({"target": "dns", "action": "rewrite_srv", "params": {"target": "a..b"}})", "params.target"},
      {R"({"target": "dns", "action": "strip_additional"})", ""},
      {R"({"target": "dns", "action": "malformed"})", ""},
      {R"({"target": "dns", "action": "ttl", "params": {"ttl_s": 0}})", ""},
      {R"({"target": "dns", "action": "ttl", "params": {"ttl_s": 4294967295}})", "params.ttl_s"},
      {R"({"target": "kms", "action": "refused"})", ""},
      {R"({"target": "kms", "action": "refused", "probability": 0.5})", "probability"},
      {R"({"target": "kms", "action": "filtered", "limit_first": 2})", "limit_first"},
      {R"({"target": "kms", "action": "silence", "match": {"stage": "request"}})", ""},
      {R"({"target": "kms", "action": "silence", "match": {"stage": "response"}})", "match.stage"},
      {R"({"target": "kms", "action": "reset", "match": {"stage": "response"}, "params": {"after_bytes": 10}})", ""},
      {R"({"target": "kms", "action": "reset", "params": {"after_bytes": -1}})", "params.after_bytes"},
      {R"({"target": "kms", "action": "delay", "match": {"stage": "bind"}, "params": {"delay_ms": 5}})", ""},
      {R"({"target": "kms", "action": "delay", "match": {"stage": "nowhere"}, "params": {"delay_ms": 5}})", "match.stage"},
      {R"({"target": "kms", "action": "trickle", "params": {"bytes": 4, "interval_ms": 2}})", ""},
      {R"({"target": "kms", "action": "trickle", "params": {"bytes": 0}})", "params.bytes"},
      {R"({"target": "kms", "action": "truncate", "params": {"bytes": 40}})", ""},
      {R"({"target": "kms", "action": "truncate", "params": {"bytes": true}})", "params.bytes"},
      {R"({"target": "kms", "action": "corrupt_hash"})", ""},
      {R"({"target": "kms", "action": "corrupt_mac"})", ""},
      {R"({"target": "kms", "action": "rpc_fault", "params": {"status": "0x1C010003"}})", ""},
      {R"({"target": "kms", "action": "rpc_fault", "params": {"status": "0xZZ"}})", "params.status"},
      {R"({"target": "kms", "action": "bind_nak", "params": {"reason": 2}})", ""},
      {R"({"target": "kms", "action": "bind_nak", "params": {"reason": 65536}})", "params.reason"},
      {R"({"target": "kms", "action": "hresult", "params": {"hresult": "0xC004F06C"}})", ""},
      {R"({"target": "kms", "action": "hresult", "params": {"hresult": 0}})", "params.hresult"},
      {R"({"target": "kms", "action": "hresult"})", "params.hresult"},
      {R"({"target": "kms", "action": "clock_skew", "params": {"skew_s": -18000}})", ""},
      {R"({"target": "kms", "action": "clock_skew", "params": {"skew_s": "5h"}})", "params.skew_s"},
      {R"({"target": "kms", "action": "count", "params": {"count": 3}})", ""},
      {R"({"target": "kms", "action": "count", "params": {"count": -3}})", "params.count"},
      {R"({"target": "kms", "action": "products", "params": {"products": []}})", ""},
      {R"({"target": "kms", "action": "products", "params": {"products": ["office", "no such product"]}})",
       "params.products[1]"},
      {R"({"target": "sntp", "action": "skew", "params": {"offset_ms": 5000}})", ""},
      {R"({"target": "sntp", "action": "skew"})", "params.offset_ms"},
      {R"({"target": "sntp", "action": "drop"})", ""},
      {R"({"target": "sntp", "action": "delay", "params": {"delay_ms": 30, "jitter_ms": 5}})", ""},
      {R"({"target": "sntp", "action": "kiss_of_death"})", ""},
      {R"({"target": "sntp", "action": "kiss_of_death", "params": {"code": "TOOLONG"}})", "params.code"},
      {R"({"target": "sntp", "action": "stratum_16"})", ""},
  };
  std::set<std::string> covered;
  for (const auto& c : cases) {
    auto r = parse(c.fault);
    const auto j = json::parse(c.fault);
    covered.insert(j.at("target").get<std::string>() + "/" + j.at("action").get<std::string>());
    if (std::string(c.field).empty()) {
      EXPECT_TRUE(r) << c.fault << ": " << (r ? "" : r.error().format());
    } else {
      ASSERT_FALSE(r) << "accepted: " << c.fault;
      EXPECT_EQ(r.error().field, c.field) << r.error().format();
      EXPECT_FALSE(r.error().message.empty());
    }
  }
  for (const auto& a : registered_actions())
    EXPECT_TRUE(covered.count(std::string(to_string(a.target)) + "/" + a.name)) << "no case for " << a.name;
}

TEST(FaultSpec, ErrorsNameTheFieldAndSuggest) {
  auto e = error_of(R"({"target": "dns", "action": "nxdomian"})");
  EXPECT_EQ(e.field, "action");
  EXPECT_NE(e.message.find("did you mean 'nxdomain'"), std::string::npos) << e.message;
  e = error_of(R"({"target": "dns", "action": "silence"})");
  EXPECT_NE(e.message.find("is a kms action"), std::string::npos) << e.message;
  e = error_of(R"({"target": "kmz", "action": "silence"})");
  EXPECT_EQ(e.field, "target");
  EXPECT_NE(e.message.find("did you mean 'kms'"), std::string::npos) << e.message;
  e = error_of(R"({"target": "kms", "action": "delay", "params": {"delay_ms": 1}, "probabilty": 1})");
  EXPECT_EQ(e.field, "probabilty");
  EXPECT_NE(e.message.find("did you mean 'probability'"), std::string::npos) << e.message;
  EXPECT_EQ(error_of(R"({"target": "kms", "action": "count", "params": {"count": 1}, "probability": 1.5})").field,
            "probability");
  EXPECT_EQ(error_of(R"({"target": "kms", "action": "count", "params": {"count": 1}, "limit_first": 0})").field,
            "limit_first");
  EXPECT_EQ(error_of(R"({"target": "kms", "action": "count", "params": {"count": 1}, "limit_for": "soon"})").field,
            "limit_for");
  EXPECT_EQ(error_of(R"({"target": "dns", "action": "drop", "host": "kms1"})").field, "host");
  EXPECT_EQ(error_of(R"({"target": "dns", "action": "drop", "match": {"type": "BOGUS"}})").field, "match.type");
  EXPECT_EQ(error_of(R"({"target": "sntp", "action": "drop", "match": {"stage": "bind"}})").field, "match.stage");
  EXPECT_EQ(error_of(R"({"name": "has space", "target": "sntp", "action": "drop"})").field, "name");
  EXPECT_EQ(error_of(R"({"target": "sntp"})").field, "action");
  EXPECT_EQ(error_of(R"([1, 2])").field, "");
}

TEST(FaultSpec, ReadsYamlWithLocatedErrors) {
  auto config = load_simulator_config_text(R"(
kms_hosts:
  - name: kms1
faults:
  - name: slow
    target: kms
    host: kms1
    match: {stage: response}
    action: delay
    params: {delay_ms: 20, jitter_ms: 5}
    probability: 0.5
    limit_for: 2s
)", "sim.yaml");
  ASSERT_TRUE(config) << config.error().format();
  ASSERT_EQ(config->faults.size(), 1u);
  EXPECT_EQ(config->faults[0].stage, KmsStage::response);
  EXPECT_EQ(config->faults[0].params, json({{"delay_ms", 20}, {"jitter_ms", 5}}));
  EXPECT_EQ(config->faults[0].limit_for, std::chrono::milliseconds(2000));

  auto bad = load_simulator_config_text(R"(
kms_hosts:
  - name: kms1
faults:
  - target: kms
    action: delay
    params:
      delay_ms: fast
)", "sim.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().line, 8) << bad.error().format();
  EXPECT_NE(bad.error().message.find("whole number"), std::string::npos) << bad.error().format();

  auto unknown_host = load_simulator_config_text(R"(
kms_hosts:
  - name: kms1
faults:
  - {target: kms, host: kms9, action: silence}
)", "sim.yaml");
  ASSERT_FALSE(unknown_host);
  EXPECT_NE(unknown_host.error().message.find("kms9"), std::string::npos);

  // A quoted number stays a string, so a param expecting a number rejects it.
  auto quoted = load_simulator_config_text("faults:\n  - {target: sntp, action: skew, params: {offset_ms: '5'}}\n",
                                           "sim.yaml");
  ASSERT_FALSE(quoted);
  EXPECT_NE(quoted.error().format().find("offset_ms"), std::string::npos) << quoted.error().format();
}

TEST(FaultSpec, ExampleConfigLoads) {
  auto config = load_simulator_config(std::string(KMSLAB_SOURCE_DIR) + "/examples/faults.yaml");
  ASSERT_TRUE(config) << config.error().format();
  ASSERT_EQ(config->faults.size(), 3u);
  EXPECT_EQ(config->faults[0].action, "filtered");
  EXPECT_EQ(config->faults[0].stage, KmsStage::listener);
  EXPECT_EQ(config->faults[1].dns.type, "SRV");
  EXPECT_EQ(config->faults[2].stage, KmsStage::response);
}

TEST(FaultRegistry, CoversEveryActionTheIssueNames) {
  const std::set<std::string> expected = {
      "dns/nxdomain", "dns/nodata", "dns/servfail", "dns/refused", "dns/drop", "dns/delay", "dns/truncate",
      "dns/tcp_closed", "dns/rewrite_srv", "dns/strip_additional", "dns/malformed", "dns/ttl",
      "kms/refused", "kms/filtered", "kms/silence", "kms/reset", "kms/delay", "kms/trickle", "kms/truncate",
      "kms/corrupt_hash", "kms/corrupt_mac", "kms/rpc_fault", "kms/bind_nak", "kms/hresult", "kms/clock_skew",
      "kms/count", "kms/products",
      "sntp/skew", "sntp/drop", "sntp/delay", "sntp/kiss_of_death", "sntp/stratum_16"};
  std::set<std::string> got;
  for (const auto& a : registered_actions()) {
    EXPECT_TRUE(got.insert(std::string(to_string(a.target)) + "/" + a.name).second) << "registered twice: " << a.name;
    EXPECT_TRUE(a.parse && a.params_to_json) << a.name;
    EXPECT_FALSE(a.summary.empty()) << a.name;
    switch (a.target) {
      case FaultTarget::dns: EXPECT_TRUE(a.on_dns) << a.name; break;
      case FaultTarget::sntp: EXPECT_TRUE(a.on_sntp) << a.name; break;
      case FaultTarget::kms:
        EXPECT_FALSE(a.stages.empty()) << a.name;
        EXPECT_TRUE(a.on_kms || a.listener_refused || a.listener_filtered) << a.name;
        break;
    }
  }
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace kmslab::simulator
