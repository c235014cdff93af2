// Presentation-context negotiation: the host's decision against every captured bind / ack pair,
// the client builders against the captured binds, and the client's reading of acks.
#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/rpc_bind.hpp"
#include "vectors.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kmslab::protocol::rpc {
namespace {

Bind load_bind(const std::string& name) {
  auto b = decode_bind(test::load_vector(name));
  if (!b) throw std::runtime_error(name + ": " + b.error().message());
  return *b;
}

BindAck load_ack(const std::string& name) {
  auto a = decode_bind_ack(test::load_vector(name));
  if (!a) throw std::runtime_error(name + ": " + a.error().message());
  return *a;
}

struct Pair {
  std::string request;
  std::string ack;
};

const std::vector<Pair> kPairs = {
    {"v4_bind_request.hex", "v4_bind_ack.hex"},
    {"v5_bind_request.hex", "v5_bind_ack.hex"},
    {"v6_bind_request.hex", "v6_bind_ack.hex"},
    {"v6_nonmultiplexed_bind_request.hex", "v6_nonmultiplexed_bind_ack.hex"},
    {"v5_ndr32only_bind_request.hex", "v5_ndr32only_bind_ack.hex"},
    {"v4_alter_context_request.hex", "v4_alter_context_ack.hex"},
    {"v5_alter_context_request.hex", "v5_alter_context_ack.hex"},
    {"v6_alter_context_request.hex", "v6_alter_context_ack.hex"},
};

TEST(RpcBind, HostAckFromEveryCapturedBindEqualsTheCapturedAck) {
  for (const auto& p : kPairs) {
    SCOPED_TRACE(p.request);
    const Bind request = load_bind(p.request);
    const BindAck captured = load_ack(p.ack);
    const BindDecision decision = decide_bind(request, HostRpcPolicy{});
    const bool alter = request.header.type == PacketType::alter_context;
    // assoc group is vlmcsd's random per-connection value; the port is the capture server's.
    BindAck ack = make_bind_ack(request, decision, captured.assoc_group_id,
                                alter ? std::nullopt : std::optional<std::string>("11688"));
    // The pad after an empty address holds stale bytes in vlmcsd's buffer; copy them so the
    // comparison covers every other byte.
    ack.address_pad = captured.address_pad;
    auto bytes = encode(ack);
    ASSERT_TRUE(bytes) << bytes.error().message();
    EXPECT_EQ(to_hex(*bytes), to_hex(test::load_vector(p.ack)));
  }
}

TEST(RpcBind, DefaultBindDecision) {
  const BindDecision d = decide_bind(load_bind("v6_bind_request.hex"), HostRpcPolicy{});
  ASSERT_EQ(d.results.size(), 3u);
  EXPECT_EQ(d.results[0].result, kResultProviderRejection);
  EXPECT_EQ(d.results[0].reason, kReasonTransferSyntaxesNotSupported);
  EXPECT_EQ(d.results[1].transfer_syntax, kNdr64Syntax);
  EXPECT_EQ(d.results[2].result, kResultNegotiateAck);
  EXPECT_EQ(d.accepted, (std::vector<NegotiatedContext>{{1, NdrSyntax::ndr64}}));
  EXPECT_EQ(d.btfn_features, 0x0003);
}

TEST(RpcBind, Ndr64DisabledAcceptsNdr32InTheSameBind) {
  // A host emulating build 7601/6002 (vlmcsd serves those NDR32-only).
  const BindDecision d =
      decide_bind(load_bind("v6_bind_request.hex"), HostRpcPolicy{.ndr64 = false});
  ASSERT_EQ(d.results.size(), 3u);
  EXPECT_EQ(d.results[0], (ContextResult{kResultAcceptance, 0, kNdr32Syntax}));
  EXPECT_EQ(d.results[1], (ContextResult{kResultProviderRejection, kReasonTransferSyntaxesNotSupported, {}}));
  EXPECT_EQ(d.results[2], (ContextResult{kResultNegotiateAck, 0x0003, {}}));
  EXPECT_EQ(d.accepted, (std::vector<NegotiatedContext>{{0, NdrSyntax::ndr32}}));
}

TEST(RpcBind, BtfnDisabledIsRejectedReason2) {
  const BindDecision d = decide_bind(load_bind("v6_bind_request.hex"), HostRpcPolicy{.btfn = false});
  EXPECT_EQ(d.results[2], (ContextResult{kResultProviderRejection, kReasonTransferSyntaxesNotSupported, {}}));
  EXPECT_FALSE(d.btfn_features);
}

TEST(RpcBind, BtfnBitmapIsMaskedToKnownFeatures) {
  const Bind b = make_client_bind({.ndr32 = false, .ndr64 = false, .btfn_features = 0xFFFF});
  const BindDecision d = decide_bind(b, HostRpcPolicy{});
  ASSERT_EQ(d.results.size(), 1u);
  EXPECT_EQ(d.results[0], (ContextResult{kResultNegotiateAck, 0x0003, {}}));
  const BindDecision one = decide_bind(make_client_bind({.btfn_features = 0x0001}), HostRpcPolicy{});
  EXPECT_EQ(one.results[2].reason, 0x0001);
}

TEST(RpcBind, ForeignInterfaceIsRejectedReason1) {
  Bind b = make_client_bind({.ndr64 = false});
  const SyntaxId foreign{*Guid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), 3};
  for (auto& ctx : b.contexts) ctx.abstract_syntax = foreign;
  const BindDecision d = decide_bind(b, HostRpcPolicy{});
  ASSERT_EQ(d.results.size(), 2u);
  EXPECT_EQ(d.results[0], (ContextResult{kResultProviderRejection, kReasonAbstractSyntaxNotSupported, {}}));
  // BTFN is answered whatever the abstract syntax, as vlmcsd does.
  EXPECT_EQ(d.results[1].result, kResultNegotiateAck);
  EXPECT_TRUE(d.accepted.empty());
  // NDR64 with a foreign interface is reason 1 as well, even with NDR64 disabled.
  Bind b64 = make_client_bind({.ndr32 = false, .btfn = false});
  b64.contexts[0].abstract_syntax = foreign;
  EXPECT_EQ(decide_bind(b64, HostRpcPolicy{.ndr64 = false}).results[0].reason,
            kReasonAbstractSyntaxNotSupported);
}

TEST(RpcBind, InterfaceVersionIsCheckedOnlyOnRequest) {
  Bind b = make_client_bind({.ndr64 = false, .btfn = false});
  b.contexts[0].abstract_syntax.version = 2;  // v2.0
  EXPECT_EQ(decide_bind(b, HostRpcPolicy{}).results[0].result, kResultAcceptance);
  const BindDecision strict = decide_bind(b, HostRpcPolicy{.check_interface_version = true});
  EXPECT_EQ(strict.results[0].reason, kReasonAbstractSyntaxNotSupported);
}

TEST(RpcBind, UnknownTransferSyntaxIsReason2AndFirstAcceptableOfSeveralWins) {
  const SyntaxId unknown{*Guid::parse("00000000-1111-2222-3333-444444444444"), 1};
  Bind b;
  b.contexts.push_back({0, kKmsInterface, {unknown}});
  b.contexts.push_back({1, kKmsInterface, {unknown, kNdr32Syntax}});
  b.contexts.push_back({2, kKmsInterface, {}});
  const BindDecision d = decide_bind(b, HostRpcPolicy{});
  EXPECT_EQ(d.results[0], (ContextResult{kResultProviderRejection, kReasonTransferSyntaxesNotSupported, {}}));
  EXPECT_EQ(d.results[1], (ContextResult{kResultAcceptance, 0, kNdr32Syntax}));
  EXPECT_EQ(d.results[2].reason, kReasonTransferSyntaxesNotSupported);
  EXPECT_EQ(d.accepted, (std::vector<NegotiatedContext>{{1, NdrSyntax::ndr32}}));
}

TEST(RpcBind, NdrSyntaxesMatchByGuidAndVersion) {
  // Found by fuzz_rpc_pdu: a GUID-only match acked the canonical version, which the client then
  // rejected as not offered. Another version of a known syntax is an unknown syntax.
  SyntaxId ndr32_v0 = kNdr32Syntax;
  ndr32_v0.version = 0;
  SyntaxId ndr64_v2 = kNdr64Syntax;
  ndr64_v2.version = 2;
  Bind b;
  b.contexts.push_back({0, kKmsInterface, {ndr32_v0}});
  b.contexts.push_back({1, kKmsInterface, {ndr64_v2, kNdr32Syntax}});
  const BindDecision d = decide_bind(b, HostRpcPolicy{});
  EXPECT_EQ(d.results[0].reason, kReasonTransferSyntaxesNotSupported);
  // NDR64 v2 is not an NDR64 offer, so NDR32 in the same bind is accepted.
  EXPECT_EQ(d.results[1], (ContextResult{kResultAcceptance, 0, kNdr32Syntax}));
  EXPECT_EQ(d.accepted, (std::vector<NegotiatedContext>{{1, NdrSyntax::ndr32}}));
  const auto outcome = interpret_bind_ack(b, make_bind_ack(b, d, 1, std::string("1688")));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message();
  EXPECT_TRUE(outcome->usable());
}

TEST(RpcBind, ContextTableFollowsBindThenAlterContext) {
  ContextTable table;
  table.apply(decide_bind(load_bind("v6_bind_request.hex"), HostRpcPolicy{}));
  EXPECT_EQ(table.find(1), NdrSyntax::ndr64);
  EXPECT_FALSE(table.find(0));
  table.apply(decide_bind(load_bind("v6_alter_context_request.hex"), HostRpcPolicy{}));
  EXPECT_EQ(table.find(0), NdrSyntax::ndr32);
  EXPECT_EQ(table.find(1), NdrSyntax::ndr64);
  EXPECT_FALSE(table.find(2));  // BTFN is not a context requests can use
  EXPECT_EQ(table.size(), 2u);
  table.clear();
  EXPECT_FALSE(table.find(1));
}

TEST(RpcBind, ClientBuildersReproduceTheCapturedBinds) {
  auto expect_bytes = [](const Bind& b, const std::string& vector) {
    auto bytes = encode(b);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(to_hex(*bytes), to_hex(test::load_vector(vector))) << vector;
  };
  expect_bytes(make_client_bind(), "v4_bind_request.hex");
  expect_bytes(make_client_bind(), "v6_bind_request.hex");
  expect_bytes(make_client_bind({.multiplexed = false}), "v6_nonmultiplexed_bind_request.hex");
  expect_bytes(make_client_bind({.ndr64 = false, .btfn = false}), "v5_ndr32only_bind_request.hex");
  expect_bytes(make_client_alter_context(), "v6_alter_context_request.hex");
}

TEST(RpcBind, ClientReadsTheDefaultExchangeAsVlmcsDoes) {
  auto bind = interpret_bind_ack(load_bind("v6_bind_request.hex"), load_ack("v6_bind_ack.hex"));
  ASSERT_TRUE(bind) << bind.error().message();
  EXPECT_FALSE(bind->ndr32_context);
  EXPECT_EQ(bind->ndr64_context, 1);
  EXPECT_EQ(bind->btfn_features, 0x0003);
  EXPECT_TRUE(bind->needs_alter_context);
  EXPECT_TRUE(bind->usable());
  EXPECT_EQ(bind->rejected, (std::vector<std::pair<std::uint16_t, std::uint16_t>>{{0, 2}}));
  EXPECT_TRUE(bind->warnings.empty());

  auto alter = interpret_bind_ack(load_bind("v6_alter_context_request.hex"),
                                  load_ack("v6_alter_context_ack.hex"));
  ASSERT_TRUE(alter) << alter.error().message();
  EXPECT_EQ(alter->ndr32_context, 0);
  EXPECT_FALSE(alter->needs_alter_context);
  EXPECT_TRUE(alter->warnings.empty());

  auto single = interpret_bind_ack(load_bind("v5_ndr32only_bind_request.hex"),
                                   load_ack("v5_ndr32only_bind_ack.hex"));
  ASSERT_TRUE(single);
  EXPECT_EQ(single->ndr32_context, 0);
  EXPECT_FALSE(single->needs_alter_context);

  auto nonmux = interpret_bind_ack(load_bind("v6_nonmultiplexed_bind_request.hex"),
                                   load_ack("v6_nonmultiplexed_bind_ack.hex"));
  ASSERT_TRUE(nonmux);
  EXPECT_TRUE(nonmux->warnings.empty());
}

TEST(RpcBind, ClientOutcomeWhenEverythingIsRejected) {
  const Bind sent = make_client_bind();
  Bind foreign = sent;
  for (auto& ctx : foreign.contexts) ctx.abstract_syntax.uuid = Guid{};
  const BindAck ack = make_bind_ack(sent, decide_bind(foreign, HostRpcPolicy{.btfn = false}), 1, "1688");
  auto out = interpret_bind_ack(sent, ack);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->usable());
  EXPECT_FALSE(out->needs_alter_context);
  EXPECT_EQ(out->rejected.size(), 3u);
}

TEST(RpcBind, ClientRejectsAcksThatDoNotAnswerTheBind) {
  const Bind sent = load_bind("v6_bind_request.hex");
  const BindAck good = load_ack("v6_bind_ack.hex");

  BindAck wrong_type = good;
  wrong_type.header.type = PacketType::alter_context_resp;
  EXPECT_EQ(interpret_bind_ack(sent, wrong_type).error().code, Errc::bad_type);

  BindAck wrong_call = good;
  wrong_call.header.call_id = 7;
  EXPECT_EQ(interpret_bind_ack(sent, wrong_call).error().code, Errc::bad_value);
  wrong_call.header.call_id = 1;  // Wine quirk: tolerated with a warning
  auto wine = interpret_bind_ack(sent, wrong_call);
  ASSERT_TRUE(wine);
  EXPECT_EQ(wine->warnings.size(), 1u);

  BindAck fewer = good;
  fewer.results.pop_back();
  EXPECT_EQ(interpret_bind_ack(sent, fewer).error().code, Errc::bad_value);

  BindAck not_offered = good;
  not_offered.results[1].transfer_syntax = kNdr32Syntax;  // ctx 1 offered NDR64 only
  EXPECT_EQ(interpret_bind_ack(sent, not_offered).error().code, Errc::bad_value);

  BindAck bad_btfn = good;
  bad_btfn.results[0] = ContextResult{kResultNegotiateAck, 3, {}};
  EXPECT_EQ(interpret_bind_ack(sent, bad_btfn).error().code, Errc::bad_value);

  BindAck unknown_result = good;
  unknown_result.results[0].result = 9;
  EXPECT_EQ(interpret_bind_ack(sent, unknown_result).error().code, Errc::bad_value);

  BindAck mpx = good;
  mpx.header.flags = kPfcSingleFragment;
  auto warned = interpret_bind_ack(sent, mpx);
  ASSERT_TRUE(warned);
  EXPECT_EQ(warned->warnings.size(), 1u);
}

}  // namespace
}  // namespace kmslab::protocol::rpc

namespace kmslab::protocol::rpc {
namespace {

TEST(RpcSyntax, WellKnownSyntaxesMatchTheirTextForms) {
  EXPECT_EQ(to_string(kKmsInterface), "51c82175-844e-4750-b0d8-ec255555bc06 v1.0");
  EXPECT_EQ(to_string(kNdr32Syntax), "8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0");
  EXPECT_EQ(to_string(kNdr64Syntax), "71710533-beba-4937-8319-b5dbef9ccc36 v1.0");
  EXPECT_EQ(classify(kNdr32Syntax.uuid), TransferSyntaxKind::ndr32);
  EXPECT_EQ(classify(kNdr64Syntax.uuid), TransferSyntaxKind::ndr64);
  EXPECT_EQ(classify(kKmsInterface.uuid), TransferSyntaxKind::other);
  // Any BTFN GUID is recognised by its prefix; the bitmap lives in bytes 8-9.
  const Guid btfn = *Guid::parse("6cb71c2c-9812-4540-0100-00000000ffff");
  EXPECT_TRUE(is_btfn(btfn));
  EXPECT_EQ(btfn_features(btfn), 0x0001);
  EXPECT_EQ(classify(btfn), TransferSyntaxKind::btfn);
  EXPECT_FALSE(is_btfn(*Guid::parse("6cb71c2c-9812-4541-0300-000000000000")));
}

}  // namespace
}  // namespace kmslab::protocol::rpc
