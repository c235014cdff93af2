// What each action does to a plan, without sockets: DNS exchanges, SNTP reply plans, KMS stage
// plans, corrupted KMS responses (against the captured requests), and KmsConnection with faults.
#include "kmslab/protocol/dns_text.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "kmslab/protocol/rpc_stub.hpp"
#include "kmslab/protocol/sntp.hpp"
#include "kmslab/simulator/fault_engine.hpp"
#include "kmslab/simulator/kms_connection.hpp"
#include "vectors.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

namespace p = kmslab::protocol;
namespace rpc = kmslab::protocol::rpc;
namespace sntp = kmslab::protocol::sntp;
using nlohmann::json;
using namespace std::chrono_literals;

std::vector<FaultHit> hits_for(FaultEngine& engine, const char* fault, FaultTarget target,
                               KmsStage stage = KmsStage::accept) {
  engine.clear();
  EXPECT_TRUE(engine.add_json(json::parse(fault))) << fault;
  if (target == FaultTarget::dns) return engine.evaluate_dns("_vlmcs._tcp.lab.test.", "SRV");
  if (target == FaultTarget::sntp) return engine.evaluate_sntp();
  return engine.evaluate_kms("kms1", stage);
}

class DnsActions : public ::testing::Test {
 protected:
  DnsExchange exchange(DnsTransport transport = DnsTransport::udp) {
    DnsExchange ex;
    ex.transport = transport;
    ex.query = dns::make_query(7, *dns::Name::parse("_vlmcs._tcp.lab.test."), dns::Type::srv);
    ex.response = dns::make_response(ex.query);
    ex.response.header.aa = true;
    ex.response.answers.push_back(dns::ResourceRecord::make(
        *dns::Name::parse("_vlmcs._tcp.lab.test."), 300,
        dns::SrvData{0, 100, 1688, *dns::Name::parse("kms1.lab.test.")}));
    ex.response.additional.push_back(
        dns::ResourceRecord::make(*dns::Name::parse("kms1.lab.test."), 300, dns::AData{{127, 0, 0, 1}}));
    return ex;
  }
  DnsExchange apply(const char* action, const char* params = "{}", DnsTransport transport = DnsTransport::udp) {
    auto ex = exchange(transport);
    const auto fault = fmt::format(R"({{"target": "dns", "action": "{}", "params": {}}})", action, params);
    apply_dns_faults(hits_for(engine_, fault.c_str(), FaultTarget::dns), ex);
    return ex;
  }
  FaultEngine engine_;
};

TEST_F(DnsActions, RcodesEmptyTheAnswer) {
  for (auto [action, rcode] : {std::pair{"nxdomain", dns::Rcode::nxdomain}, std::pair{"nodata", dns::Rcode::noerror},
                               std::pair{"servfail", dns::Rcode::servfail}, std::pair{"refused", dns::Rcode::refused}}) {
    auto ex = apply(action);
    EXPECT_EQ(ex.response.rcode(), rcode) << action;
    EXPECT_TRUE(ex.response.answers.empty()) << action;
    EXPECT_TRUE(ex.response.additional.empty()) << action;
    EXPECT_EQ(ex.action, DnsAction::reply);
  }
}

TEST_F(DnsActions, DropDelayTruncateClose) {
  EXPECT_EQ(apply("drop").action, DnsAction::drop);
  EXPECT_EQ(apply("delay", R"({"delay_ms": 40})").delay, 40ms);
  auto udp = apply("truncate");
  EXPECT_TRUE(udp.response.header.tc);
  EXPECT_TRUE(udp.response.answers.empty());
  auto tcp = apply("truncate", "{}", DnsTransport::tcp);
  EXPECT_FALSE(tcp.response.header.tc) << "TCP answers are never truncated";
  EXPECT_EQ(tcp.response.answers.size(), 1u);
  EXPECT_EQ(apply("tcp_closed", "{}", DnsTransport::tcp).action, DnsAction::close);
  EXPECT_EQ(apply("tcp_closed", "{}", DnsTransport::udp).action, DnsAction::reply);
}

TEST_F(DnsActions, RewriteStripTtlMalformed) {
  auto ex = apply("rewrite_srv", R"({"target": "elsewhere.lab.test.", "port": 9})");
  const auto& srv = std::get<dns::SrvData>(ex.response.answers.at(0).data);
  EXPECT_EQ(srv.port, 9);
  EXPECT_EQ(srv.target.to_string(), "elsewhere.lab.test.");
  EXPECT_TRUE(apply("strip_additional").response.additional.empty());
  auto ttl = apply("ttl", R"({"ttl_s": 5})");
  EXPECT_EQ(ttl.response.answers.at(0).ttl, 5u);
  EXPECT_EQ(ttl.response.additional.at(0).ttl, 5u);
  auto bad = apply("malformed");
  ASSERT_TRUE(bad.raw_response);
  auto decoded = dns::decode(*bad.raw_response);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, p::Errc::truncated);
  auto header = dns::decode_header(*bad.raw_response);
  ASSERT_TRUE(header);
  EXPECT_FALSE(header->tc);
  EXPECT_EQ(header->id, 7);
}

TEST_F(DnsActions, AFaultAfterADropDoesNotRun) {
  engine_.clear();
  ASSERT_TRUE(engine_.add_json(json::parse(R"({"target": "dns", "action": "drop"})")));
  ASSERT_TRUE(engine_.add_json(json::parse(R"({"target": "dns", "action": "servfail"})")));
  auto ex = exchange();
  apply_dns_faults(engine_.evaluate_dns("x.", "A"), ex);
  EXPECT_EQ(ex.action, DnsAction::drop);
  EXPECT_EQ(ex.response.answers.size(), 1u);
}

class SntpActions : public ::testing::Test {
 protected:
  SntpReplyPlan apply(const char* fault) {
    const auto now = std::chrono::system_clock::now();
    auto request = sntp::encode(sntp::make_client_request(sntp::to_ntp(now))).value();
    auto plan = plan_sntp_reply(SntpConfig{}, request, now).value();
    receive_ = plan.reply.receive;
    apply_sntp_faults(hits_for(engine_, fault, FaultTarget::sntp), plan);
    return plan;
  }
  FaultEngine engine_;
  sntp::Timestamp receive_;
};

TEST_F(SntpActions, EachActionEditsThePlan) {
  auto skew = apply(R"({"target": "sntp", "action": "skew", "params": {"offset_ms": 5000}})");
  EXPECT_EQ(skew.reply.receive.raw() - receive_.raw(), 5ull << 32);
  EXPECT_EQ(skew.reply.transmit, skew.reply.receive);
  EXPECT_FALSE(skew.restamp_transmit);
  auto behind = apply(R"({"target": "sntp", "action": "skew", "params": {"offset_ms": -1500}})");
  EXPECT_EQ(receive_.raw() - behind.reply.receive.raw(), (1ull << 32) + (1ull << 31));
  EXPECT_TRUE(apply(R"({"target": "sntp", "action": "drop"})").drop);
  EXPECT_EQ(apply(R"({"target": "sntp", "action": "delay", "params": {"delay_ms": 25}})").delay, 25ms);
  auto kod = apply(R"({"target": "sntp", "action": "kiss_of_death", "params": {"code": "DENY"}})");
  EXPECT_EQ(kod.reply.stratum, 0);
  EXPECT_EQ(sntp::code_from_reference_id(kod.reply.reference_id), "DENY");
  auto s16 = apply(R"({"target": "sntp", "action": "stratum_16"})");
  EXPECT_EQ(s16.reply.stratum, 16);
  EXPECT_EQ(s16.reply.leap, sntp::LeapIndicator::alarm);
}

TEST(KmsActions, PlansPerStage) {
  FaultEngine engine;
  auto plan = [&](const char* fault, KmsStage stage) {
    return plan_kms_stage(stage, hits_for(engine, fault, FaultTarget::kms, stage));
  };
  EXPECT_TRUE(plan(R"({"target": "kms", "action": "reset"})", KmsStage::accept).reset);
  EXPECT_TRUE(plan(R"({"target": "kms", "action": "reset", "match": {"stage": "bind"}})", KmsStage::bind)
                  .write.reset_after_reply);
  EXPECT_EQ(plan(R"({"target": "kms", "action": "reset", "match": {"stage": "response"}, "params": {"after_bytes": 7}})",
                 KmsStage::response).write.reset_after_bytes, 7u);
  EXPECT_TRUE(plan(R"({"target": "kms", "action": "silence", "match": {"stage": "request"}})", KmsStage::request).silence);
  EXPECT_EQ(plan(R"({"target": "kms", "action": "delay", "match": {"stage": "bind"}, "params": {"delay_ms": 9}})",
                 KmsStage::bind).delay, 9ms);
  EXPECT_EQ(plan(R"({"target": "kms", "action": "trickle", "params": {"bytes": 3, "interval_ms": 4}})", KmsStage::response)
                .write.trickle, (KmsTrickleParams{3, 4}));
  EXPECT_EQ(plan(R"({"target": "kms", "action": "truncate", "params": {"bytes": 20}})", KmsStage::response)
                .write.truncate_bytes, 20u);
  EXPECT_EQ(plan(R"({"target": "kms", "action": "corrupt_mac"})", KmsStage::response).pdu.corrupt, KmsCorruption::mac);
  EXPECT_EQ(plan(R"({"target": "kms", "action": "rpc_fault", "params": {"status": "0x1C010003"}})", KmsStage::request)
                .pdu.rpc_fault_status, 0x1C010003u);
  EXPECT_EQ(plan(R"({"target": "kms", "action": "bind_nak", "params": {"reason": 4}})", KmsStage::bind)
                .pdu.bind_nak_reason, 4);
  EXPECT_EQ(plan(R"({"target": "kms", "action": "hresult", "params": {"hresult": "0xC004F042"}})", KmsStage::request)
                .pdu.hresult, 0xC004F042u);
  EXPECT_EQ(plan(R"({"target": "kms", "action": "clock_skew", "params": {"skew_s": 18000}})", KmsStage::request)
                .pdu.overrides.clock_skew, std::chrono::seconds(18000));
  EXPECT_EQ(plan(R"({"target": "kms", "action": "count", "params": {"count": 4}})", KmsStage::request)
                .pdu.overrides.count, 4u);
  auto products = plan(R"({"target": "kms", "action": "products", "params": {"products": ["office"]}})", KmsStage::request);
  ASSERT_TRUE(products.pdu.overrides.served);
  EXPECT_FALSE(products.pdu.overrides.served->empty());
}

// ---- KMS responses damaged on purpose ----

template <class Edit>
KmsPduFaults faults(Edit edit) {
  KmsPduFaults f;
  edit(f);
  return f;
}

const auto kCaptureTime = p::from_filetime(134400863300000000ull);

p::ClientRequest client_request_from_capture(const p::Bytes& pdu) {
  auto request = rpc::decode_request(pdu).value();
  auto payload = rpc::decode_request_stub(request.stub, rpc::NdrSyntax::ndr32).value();
  auto host = p::parse_request(payload).value();
  return p::ClientRequest{payload, host.request.version, host.wire_iv, host.request};
}

class KmsFaultConnection : public ::testing::Test {
 protected:
  KmsFaultConnection() : clock_(kCaptureTime) {
    KmsHostSpec spec;
    spec.name = "kms1";
    policy_ = std::make_unique<KmsHostPolicy>(spec, clock_, 7);
  }
  void connect(const std::string& v) {
    connection_ = std::make_unique<KmsConnection>(*policy_, rng_, KmsConnectionOptions{});
    ASSERT_EQ(connection_->on_pdu(test::load_vector(v + "_bind_request.hex")).pdus.size(), 1u);
    ASSERT_EQ(connection_->on_pdu(test::load_vector(v + "_alter_context_request.hex")).pdus.size(), 1u);
  }
  // The request answered with `faults`; returns the stub.
  rpc::ResponseStub ask(const std::string& v, const KmsPduFaults& faults, KmsEvent* event = nullptr) {
    connect(v);
    auto out = connection_->on_pdu(test::load_vector(v + "_request.hex"), faults);
    EXPECT_EQ(out.pdus.size(), 1u);
    if (event) *event = out.event;
    auto response = rpc::decode_response(out.pdus.at(0)).value();
    return rpc::decode_response_stub(response.stub, rpc::NdrSyntax::ndr32).value();
  }
  p::Result<p::VerifiedResponse> verify(const std::string& v, const rpc::ResponseStub& stub) {
    return p::verify_response(*stub.payload, client_request_from_capture(test::load_vector(v + "_request.hex")));
  }

  ManualClock clock_;
  p::SeededRandom rng_{99};
  std::unique_ptr<KmsHostPolicy> policy_;
  std::unique_ptr<KmsConnection> connection_;
};

TEST_F(KmsFaultConnection, CorruptedHashAndMacFailExactlyTheirCheck) {
  struct Case {
    std::string version;
    KmsCorruption what;
    const char* check;  // words of the client's error
  };
  for (const auto& c : {Case{"v4", KmsCorruption::hash, "v4 MAC"}, Case{"v4", KmsCorruption::mac, "v4 MAC"},
                        Case{"v5", KmsCorruption::hash, "hash"}, Case{"v5", KmsCorruption::mac, "hash"},
                        Case{"v6", KmsCorruption::hash, "hash"}, Case{"v6", KmsCorruption::mac, "HMAC"}}) {
    SCOPED_TRACE(c.version + " " + std::string(to_string(c.what)));
    auto clean = ask(c.version, {});
    ASSERT_TRUE(verify(c.version, clean)) << "control: the undamaged answer verifies";
    auto stub = ask(c.version, faults([&](KmsPduFaults& f) { f.corrupt = c.what; }));
    ASSERT_TRUE(stub.payload);
    EXPECT_EQ(stub.hresult, 0u);
    auto verified = verify(c.version, stub);
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().code, p::Errc::bad_integrity);
    EXPECT_NE(verified.error().detail.find(c.check), std::string::npos) << verified.error().message();
    // Everything before the checked field still decodes (same size, readable base response).
    EXPECT_EQ(stub.payload->size(), clean.payload->size());
    EXPECT_TRUE(p::decode_response(*stub.payload));
  }
}

TEST_F(KmsFaultConnection, InjectedHresultFaultBindNakAndOverrides) {
  KmsEvent event;
  auto refused = ask("v6", faults([](KmsPduFaults& f) { f.hresult = 0xC004F042; }), &event);
  EXPECT_FALSE(refused.payload);
  EXPECT_EQ(refused.hresult, 0xC004F042u);
  EXPECT_EQ(event.hresult, 0xC004F042u);

  connect("v6");
  auto out = connection_->on_pdu(test::load_vector("v6_request.hex"), faults([](KmsPduFaults& f) { f.rpc_fault_status = 0x1C010002; }));
  ASSERT_EQ(out.pdus.size(), 1u);
  auto fault = rpc::decode_fault(out.pdus[0]);
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->status, 0x1C010002u);
  EXPECT_EQ(out.event.kind, KmsEvent::Kind::rpc_fault);

  connection_ = std::make_unique<KmsConnection>(*policy_, rng_, KmsConnectionOptions{});
  auto nak = connection_->on_pdu(test::load_vector("v6_bind_request.hex"), faults([](KmsPduFaults& f) { f.bind_nak_reason = 2; }));
  ASSERT_EQ(nak.pdus.size(), 1u);
  EXPECT_TRUE(nak.close);
  auto decoded = rpc::decode_bind_nak(nak.pdus[0]);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->reject_reason, 2);
  EXPECT_EQ(decoded->header.call_id, rpc::decode_bind(test::load_vector("v6_bind_request.hex"))->header.call_id);

  auto counted = ask("v6", faults([](KmsPduFaults& f) { f.overrides.count = 3; }));
  EXPECT_EQ(verify("v6", counted)->response.current_count, 3u);
  auto skewed = ask("v6", faults([](KmsPduFaults& f) { f.overrides.clock_skew = std::chrono::hours(-5); }));
  EXPECT_EQ(skewed.hresult, kHresultTimeSkew);
  auto none = ask("v6", faults([](KmsPduFaults& f) { f.overrides.served = std::set<p::Guid>{}; }));
  EXPECT_EQ(none.hresult, kHresultProductNotServed);
  auto plain = ask("v6", {});
  EXPECT_EQ(plain.hresult, 0u) << "overrides last one decision only";
}

}  // namespace
}  // namespace kmslab::simulator
