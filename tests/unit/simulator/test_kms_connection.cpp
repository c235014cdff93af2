// The KMS host's protocol behaviour without sockets: captured vlmcs PDUs in, answers out, and the
// answers must pass the same client-side verification the captured vlmcsd answers pass.
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/kms_ids.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "kmslab/protocol/rpc_stub.hpp"
#include "kmslab/simulator/kms_connection.hpp"
#include "vectors.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

namespace p = kmslab::protocol;
namespace rpc = kmslab::protocol::rpc;
using test::load_vector;

// The captures were taken at 2026-11-25 13:18:43..57 UTC.
const auto kCaptureTime = p::from_filetime(134400863300000000ull);

// The KMS payload inside a captured request PDU, and the client-side context to verify an answer.
p::ClientRequest client_request_from_capture(const p::Bytes& pdu, rpc::NdrSyntax syntax) {
  auto request = rpc::decode_request(pdu).value();
  auto payload = rpc::decode_request_stub(request.stub, syntax).value();
  auto host = p::parse_request(payload).value();
  return p::ClientRequest{payload, host.request.version, host.wire_iv, host.request};
}

struct Answer {
  rpc::ResponseStub stub;
  KmsEvent event;
};

class KmsConnectionTest : public ::testing::Test {
 protected:
  KmsConnectionTest() : clock_(kCaptureTime) {}

  void make_host(KmsHostSpec spec = {}) {
    spec.name = "kms-test";
    policy_ = std::make_unique<KmsHostPolicy>(spec, clock_, 7);
    connection_ = std::make_unique<KmsConnection>(*policy_, rng_, KmsConnectionOptions{});
  }

  // Binds with the captured bind (and alter context when NDR32 was refused), like vlmcs.
  void bind(const std::string& version) {
    auto ack = connection_->on_pdu(load_vector(version + "_bind_request.hex"));
    ASSERT_EQ(ack.pdus.size(), 1u);
    ASSERT_FALSE(ack.close);
    auto alter = connection_->on_pdu(load_vector(version + "_alter_context_request.hex"));
    ASSERT_EQ(alter.pdus.size(), 1u);
  }

  Answer request(const p::Bytes& pdu, rpc::NdrSyntax syntax) {
    auto out = connection_->on_pdu(pdu);
    EXPECT_EQ(out.pdus.size(), 1u);
    EXPECT_FALSE(out.close);
    auto response = rpc::decode_response(out.pdus.at(0)).value();
    return {rpc::decode_response_stub(response.stub, syntax).value(), out.event};
  }

  ManualClock clock_;
  p::SeededRandom rng_{99};
  std::unique_ptr<KmsHostPolicy> policy_;
  std::unique_ptr<KmsConnection> connection_;
};

TEST_F(KmsConnectionTest, BindAckMatchesTheCapturedHostExceptAssocGroup) {
  make_host();
  for (const std::string v : {"v4", "v5", "v6"}) {
    auto out = connection_->on_pdu(load_vector(v + "_bind_request.hex"));
    ASSERT_EQ(out.pdus.size(), 1u);
    auto ours = rpc::decode_bind_ack(out.pdus[0]).value();
    auto theirs = rpc::decode_bind_ack(load_vector(v + "_bind_ack.hex")).value();
    EXPECT_EQ(ours.results, theirs.results) << v;
    EXPECT_EQ(ours.max_recv_frag, theirs.max_recv_frag);
    EXPECT_EQ(ours.header.flags, theirs.header.flags);
    EXPECT_EQ(out.event.kind, KmsEvent::Kind::bind);
  }
}

TEST_F(KmsConnectionTest, CapturedRequestsGetAnswersThatVerifyLikeVlmcsdAnswers) {
  make_host();
  for (const std::string v : {"v4", "v5", "v6"}) {
    SCOPED_TRACE(v);
    bind(v);
    const auto pdu = load_vector(v + "_request.hex");
    auto client = client_request_from_capture(pdu, rpc::NdrSyntax::ndr32);
    // Control: the captured vlmcsd answer verifies against the captured request.
    auto captured = rpc::decode_response(load_vector(v + "_response.hex")).value();
    auto captured_stub = rpc::decode_response_stub(captured.stub, rpc::NdrSyntax::ndr32).value();
    ASSERT_TRUE(p::verify_response(*captured_stub.payload, client));

    auto answer = request(pdu, rpc::NdrSyntax::ndr32);
    EXPECT_EQ(answer.stub.hresult, 0u) << answer.event.detail;
    ASSERT_TRUE(answer.stub.payload);
    EXPECT_EQ(answer.stub.payload->size(), captured_stub.payload->size()) << "same ePID length, same size";
    auto verified = p::verify_response(*answer.stub.payload, client);
    ASSERT_TRUE(verified) << verified.error().message();
    EXPECT_EQ(verified->response.current_count, 50u) << "2 x N-policy 25";
    EXPECT_EQ(verified->response.activation_interval_min, 120u);
    EXPECT_EQ(verified->response.renewal_interval_min, 10080u);
    EXPECT_EQ(verified->response.cmid.to_string(), "11111111-2222-3333-4444-555555555555");
    if (v == "v6") {
      EXPECT_FALSE(verified->response_iv_equals_request_iv) << "a real host picks a fresh IV";
    }
    EXPECT_EQ(answer.event.kind, KmsEvent::Kind::activation);
    ASSERT_TRUE(answer.event.request);
    EXPECT_EQ(answer.event.request->workstation, "ws-" + v + ".example.test");
  }
}

TEST_F(KmsConnectionTest, SecondRequestOnTheNdr64Context) {
  make_host();
  bind("v6");
  (void)request(load_vector("v6_request.hex"), rpc::NdrSyntax::ndr32);
  const auto pdu = load_vector("v6_ndr64_request.hex");
  auto answer = request(pdu, rpc::NdrSyntax::ndr64);
  ASSERT_TRUE(answer.stub.payload);
  EXPECT_TRUE(p::verify_response(*answer.stub.payload, client_request_from_capture(pdu, rpc::NdrSyntax::ndr64)));
  EXPECT_EQ(answer.event.syntax, rpc::NdrSyntax::ndr64);
}

TEST_F(KmsConnectionTest, OfficeRequestCountsTwiceItsPolicy) {
  make_host();
  bind("v6");
  auto answer = request(load_vector("v6_office2016_request.hex"), rpc::NdrSyntax::ndr32);
  ASSERT_TRUE(answer.stub.payload);
  auto verified = p::verify_response(
      *answer.stub.payload, client_request_from_capture(load_vector("v6_office2016_request.hex"), rpc::NdrSyntax::ndr32));
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->response.current_count, 10u);
  // The Office ePID comes from the Office 2013+ key group, not the Windows one.
  EXPECT_NE(verified->response.epid, policy_->epid_for(*p::Guid::parse("58e2134f-8e11-4d17-9cb2-91069c151148")));
}

TEST_F(KmsConnectionTest, ClientFiveHoursAheadGetsTimeSkewInBand) {
  make_host();  // default tolerance 4 h; the capture's client clock was +5 h
  clock_.set(p::from_filetime(134400863370000000ull));
  bind("v6");
  auto pdu = load_vector("v6_err_C004F06C_clock_plus5h_request.hex");
  auto answer = request(pdu, rpc::NdrSyntax::ndr32);
  EXPECT_FALSE(answer.stub.payload);
  EXPECT_EQ(answer.stub.hresult, 0xC004F06Cu);
  EXPECT_NE(answer.event.detail.find("ahead"), std::string::npos) << answer.event.detail;
  // The same request is accepted by a host whose clock agrees with the client's.
  KmsHostSpec skewed;
  skewed.clock_skew = std::chrono::hours(5);
  make_host(skewed);
  bind("v6");
  EXPECT_EQ(request(pdu, rpc::NdrSyntax::ndr32).stub.hresult, 0u);
}

// A client_time from the wire is any u64. Far-off values are a time skew, as a Windows host
// answers; 134400863300000000 + 2^62 used to wrap (x 100 ns in i64) onto the host's own clock and
// be accepted.
TEST_F(KmsConnectionTest, FarOffClientTimesAreTimeSkewNeverWrappedIntoTolerance) {
  make_host();
  const auto base = client_request_from_capture(load_vector("v6_request.hex"), rpc::NdrSyntax::ndr32).request;
  constexpr std::uint64_t kHostFileTime = 134400863300000000ull;
  auto decide_at = [&](std::uint64_t client_time) {
    auto request = base;
    request.client_time = client_time;
    return policy_->decide(request);
  };
  ASSERT_EQ(decide_at(kHostFileTime).hresult, 0u) << "control: the host's own time is accepted";
  const std::uint64_t inside = kHostFileTime + 3ull * 3600 * 10'000'000;  // 3 h ahead, tolerance 4 h
  EXPECT_EQ(decide_at(inside).hresult, 0u);
  const struct {
    std::uint64_t client_time;
    const char* direction;
  } cases[] = {
      {kHostFileTime + (1ull << 62), "ahead of"},  // wrapped onto the host's time before
      {0ull, "behind"},
      {9223372036854775807ull, "ahead of"},
      {9223372036854775808ull, "ahead of"},
      {18446744073709551615ull, "ahead of"},
      {9250675113890004800ull, "ahead of"},
      {kHostFileTime - 5ull * 3600 * 10'000'000, "behind"},
  };
  for (const auto& c : cases) {
    const auto d = decide_at(c.client_time);
    EXPECT_EQ(d.hresult, 0xC004F06Cu) << c.client_time << ": " << d.reason;
    EXPECT_FALSE(d.response.has_value()) << c.client_time;
    EXPECT_NE(d.reason.find(c.direction), std::string::npos) << c.client_time << ": " << d.reason;
  }
}

TEST_F(KmsConnectionTest, UnknownKmsCountIdIsProductNotServed) {
  make_host();
  bind("v4");
  auto answer = request(load_vector("v4_err_C004F042_request.hex"), rpc::NdrSyntax::ndr32);
  EXPECT_EQ(answer.stub.hresult, 0xC004F042u);
  EXPECT_FALSE(answer.stub.payload);
}

TEST_F(KmsConnectionTest, ProductOutsideTheServedListIsRefused) {
  KmsHostSpec office_only;
  office_only.products = {"office"};
  make_host(office_only);
  bind("v6");
  EXPECT_EQ(request(load_vector("v6_request.hex"), rpc::NdrSyntax::ndr32).stub.hresult, 0xC004F042u);
  EXPECT_EQ(request(load_vector("v6_office2016_request.hex"), rpc::NdrSyntax::ndr32).stub.hresult, 0u);
}

TEST_F(KmsConnectionTest, AbsurdPolicyIsInvalidData) {
  make_host();
  bind("v6");
  EXPECT_EQ(request(load_vector("v6_err_8007000D_request.hex"), rpc::NdrSyntax::ndr32).stub.hresult, 0x8007000Du);
}

TEST_F(KmsConnectionTest, ProtocolNotServedIsInvalidData) {
  KmsHostSpec v4_only;
  v4_only.protocols = {4};
  make_host(v4_only);
  bind("v6");
  EXPECT_EQ(request(load_vector("v6_request.hex"), rpc::NdrSyntax::ndr32).stub.hresult, 0x8007000Du);
}

TEST_F(KmsConnectionTest, FixedAndDistinctCounts) {
  KmsHostSpec fixed;
  fixed.count_mode = CountMode::fixed;
  fixed.count_value = 3;
  make_host(fixed);
  bind("v6");
  auto pdu = load_vector("v6_request.hex");
  auto client = client_request_from_capture(pdu, rpc::NdrSyntax::ndr32);
  EXPECT_EQ(p::verify_response(*request(pdu, rpc::NdrSyntax::ndr32).stub.payload, client)->response.current_count, 3u);

  KmsHostSpec distinct;
  distinct.count_mode = CountMode::distinct;
  make_host(distinct);
  bind("v6");
  EXPECT_EQ(p::verify_response(*request(pdu, rpc::NdrSyntax::ndr32).stub.payload, client)->response.current_count, 1u);
  EXPECT_EQ(p::verify_response(*request(pdu, rpc::NdrSyntax::ndr32).stub.payload, client)->response.current_count, 1u)
      << "the same machine twice is one client";
}

TEST_F(KmsConnectionTest, RequestOnAContextNeverAcceptedIsAnRpcFault) {
  make_host();
  // Bind only (NDR32 refused because NDR64 was offered), then a request on ctx 0 without the
  // alter_context: the host answers fault nca_unk_if, as vlmcsd does for unknown contexts.
  ASSERT_EQ(connection_->on_pdu(load_vector("v6_bind_request.hex")).pdus.size(), 1u);
  auto out = connection_->on_pdu(load_vector("v6_request.hex"));
  ASSERT_EQ(out.pdus.size(), 1u);
  auto fault = rpc::decode_fault(out.pdus[0]);
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->status, rpc::kNcaUnknownInterface);
  EXPECT_EQ(out.event.kind, KmsEvent::Kind::rpc_fault);
}

TEST_F(KmsConnectionTest, GarbageClosesTheConnection) {
  make_host();
  for (const p::Bytes& junk : {p::Bytes(16, 0xFF), p::Bytes{5, 0, 2, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 2, 0, 0, 0}}) {
    auto out = connection_->on_pdu(junk);
    EXPECT_TRUE(out.close);
    EXPECT_TRUE(out.pdus.empty());
    EXPECT_EQ(out.event.kind, KmsEvent::Kind::malformed);
  }
}

TEST_F(KmsConnectionTest, TruncatedKmsPayloadIsInvalidDataInBand) {
  make_host();
  bind("v6");
  auto client = client_request_from_capture(load_vector("v6_request.hex"), rpc::NdrSyntax::ndr32);
  p::Bytes shortened(client.payload.begin(), client.payload.begin() + 100);
  auto pdu = rpc::encode(rpc::make_activation_request(2, 0, rpc::NdrSyntax::ndr32, shortened).value()).value();
  auto answer = request(pdu, rpc::NdrSyntax::ndr32);
  EXPECT_EQ(answer.stub.hresult, 0x8007000Du);
}

}  // namespace
}  // namespace kmslab::simulator
