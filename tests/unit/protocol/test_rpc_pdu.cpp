// DCE/RPC PDU codecs against the captured vectors, round trips of every PDU type, and the
// malformed-input classes (each must give a typed error, never an out-of-bounds read).
#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "vectors.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace kmslab::protocol::rpc {
namespace {

const std::vector<std::string> kAllPduVectors = {
    "v4_bind_request.hex", "v4_bind_ack.hex", "v5_bind_request.hex", "v5_bind_ack.hex",
    "v6_bind_request.hex", "v6_bind_ack.hex", "v5_ndr32only_bind_request.hex",
    "v5_ndr32only_bind_ack.hex", "v6_nonmultiplexed_bind_request.hex",
    "v6_nonmultiplexed_bind_ack.hex", "v4_alter_context_request.hex", "v4_alter_context_ack.hex",
    "v5_alter_context_request.hex", "v5_alter_context_ack.hex", "v6_alter_context_request.hex",
    "v6_alter_context_ack.hex", "v4_request.hex", "v4_response.hex", "v5_request.hex",
    "v5_response.hex", "v6_request.hex", "v6_response.hex", "v4_ndr64_request.hex",
    "v4_ndr64_response.hex", "v6_ndr64_request.hex", "v6_ndr64_response.hex",
    "v5_ndr32only_request.hex", "v5_ndr32only_response.hex", "v6_office2016_request.hex",
    "v6_office2016_response.hex", "v4_err_C004F042_request.hex", "v4_err_C004F042_response.hex",
    "v6_err_8007000D_request.hex", "v6_err_8007000D_response.hex",
    "v6_err_C004F06C_clock_plus5h_request.hex", "v6_err_C004F06C_clock_plus5h_response.hex",
    "v4_odd_size_epid48_request.hex", "v4_odd_size_epid48_response.hex", "probe_v4_request.hex",
    "probe_v4_response.hex", "probe_v5_request.hex", "probe_v5_response.hex",
    "probe_v6_request.hex", "probe_v6_response.hex"};

void set_frag_length(Bytes& pdu) {
  pdu[8] = static_cast<std::uint8_t>(pdu.size() & 0xFF);
  pdu[9] = static_cast<std::uint8_t>(pdu.size() >> 8);
}

template <class T>
T decoded_or_fail(const Result<T>& r) {
  if (!r) ADD_FAILURE() << r.error().message();
  return r ? *r : T{};
}

TEST(RpcPdu, EveryVectorDecodesAndReencodesByteForByte) {
  for (const auto& name : kAllPduVectors) {
    SCOPED_TRACE(name);
    const Bytes bytes = test::load_vector(name);
    auto pdu = decode_pdu(bytes);
    ASSERT_TRUE(pdu) << pdu.error().message();
    EXPECT_EQ(header_of(*pdu).frag_length, bytes.size());
    EXPECT_EQ(header_of(*pdu).flags & kPfcSingleFragment, kPfcSingleFragment);
    auto again = encode(*pdu);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(to_hex(*again), to_hex(bytes));
  }
}

TEST(RpcPdu, DefaultBindHasThreeContextsAsVlmcsSendsThem) {
  const Bind b = decoded_or_fail(decode_bind(test::load_vector("v6_bind_request.hex")));
  EXPECT_EQ(b.header.type, PacketType::bind);
  EXPECT_EQ(b.header.flags, 0x13);
  EXPECT_EQ(b.max_xmit_frag, 5840);
  EXPECT_EQ(b.max_recv_frag, 5840);
  EXPECT_EQ(b.assoc_group_id, 0u);
  ASSERT_EQ(b.contexts.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(b.contexts[i].context_id, i);
    EXPECT_EQ(b.contexts[i].abstract_syntax, kKmsInterface);
    ASSERT_EQ(b.contexts[i].transfer_syntaxes.size(), 1u);
  }
  EXPECT_EQ(b.contexts[0].transfer_syntaxes[0], kNdr32Syntax);
  EXPECT_EQ(b.contexts[1].transfer_syntaxes[0], kNdr64Syntax);
  EXPECT_EQ(b.contexts[2].transfer_syntaxes[0], btfn_syntax(0x0003));
  EXPECT_EQ(to_string(b.contexts[2].transfer_syntaxes[0]),
            "6cb71c2c-9812-4540-0300-000000000000 v1.0");
}

TEST(RpcPdu, BindAckFieldsOfTheCapture) {
  const BindAck a = decoded_or_fail(decode_bind_ack(test::load_vector("v6_bind_ack.hex")));
  EXPECT_EQ(a.header.type, PacketType::bind_ack);
  EXPECT_EQ(a.header.flags, 0x13);
  EXPECT_EQ(a.assoc_group_id, 0xbbddd863u);
  ASSERT_TRUE(a.secondary_address);
  EXPECT_EQ(*a.secondary_address, "11688");
  ASSERT_EQ(a.results.size(), 3u);
  EXPECT_EQ(a.results[0], (ContextResult{kResultProviderRejection, kReasonTransferSyntaxesNotSupported, {}}));
  EXPECT_EQ(a.results[1], (ContextResult{kResultAcceptance, 0, kNdr64Syntax}));
  EXPECT_EQ(a.results[2], (ContextResult{kResultNegotiateAck, 0x0003, {}}));
}

TEST(RpcPdu, AlterContextRespHasNoAddressAndKeepsItsStalePadding) {
  const Bytes bytes = test::load_vector("v6_alter_context_ack.hex");
  const BindAck a = decoded_or_fail(decode_bind_ack(bytes));
  EXPECT_EQ(a.header.type, PacketType::alter_context_resp);
  EXPECT_EQ(a.header.flags, kPfcSingleFragment);
  EXPECT_FALSE(a.secondary_address);
  // vlmcsd leaves the first bytes of the previous "11688" in the two pad bytes.
  EXPECT_EQ(a.address_pad[0], '1');
  EXPECT_EQ(a.address_pad[1], '1');
  ASSERT_EQ(a.results.size(), 1u);
  EXPECT_EQ(a.results[0], (ContextResult{kResultAcceptance, 0, kNdr32Syntax}));
}

TEST(RpcPdu, RequestAndResponseFieldsOfTheCaptures) {
  const Request q = decoded_or_fail(decode_request(test::load_vector("v6_ndr64_request.hex")));
  EXPECT_EQ(q.header.call_id, 3u);
  EXPECT_EQ(q.context_id, 1);
  EXPECT_EQ(q.opnum, 0);
  EXPECT_FALSE(q.object);
  EXPECT_EQ(q.alloc_hint, 276u);
  EXPECT_EQ(q.stub.size(), 276u);
  const Response s = decoded_or_fail(decode_response(test::load_vector("v4_response.hex")));
  EXPECT_EQ(s.header.call_id, 2u);
  EXPECT_EQ(s.context_id, 0);
  EXPECT_EQ(s.cancel_count, 0);
  EXPECT_EQ(s.alloc_hint, 176u);
  EXPECT_EQ(s.stub.size(), 176u);
}

TEST(RpcPdu, FaultAsVlmcsdSendsIt) {
  Fault f;
  f.header.call_id = 2;
  f.alloc_hint = 32;  // vlmcsd puts the whole PDU length here
  f.status = kNcaUnknownInterface;
  auto bytes = encode(f);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(to_hex(*bytes), "05000323100000002000000002000000"
                            "20000000000000000300011c00000000");
  const Fault back = decoded_or_fail(decode_fault(*bytes));
  EXPECT_EQ(back.header.flags, kPfcSingleFragment | kPfcDidNotExecute);
  EXPECT_EQ(back.status, kNcaUnknownInterface);
  EXPECT_TRUE(back.stub.empty());
}

// decode(encode(x)) == x for every PDU type, with non-default values in every field.
template <class T>
void expect_round_trip(T value) {
  auto bytes = encode(value);
  ASSERT_TRUE(bytes) << bytes.error().message();
  value.header.frag_length = static_cast<std::uint16_t>(bytes->size());
  auto back = decode_pdu(*bytes);
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(std::holds_alternative<T>(*back));
  EXPECT_EQ(std::get<T>(*back), value);
  auto again = encode(*back);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *bytes);
}

TEST(RpcPdu, RoundTripBindWithSeveralTransferSyntaxes) {
  Bind b;
  b.header.call_id = 77;
  b.max_xmit_frag = 4280;
  b.max_recv_frag = 1432;
  b.assoc_group_id = 0x12345678;
  b.contexts.push_back({5, kKmsInterface, {kNdr64Syntax, kNdr32Syntax}});
  b.contexts.push_back({9, SyntaxId{*Guid::parse("12345678-1234-5678-9abc-def012345678"), 0x00020003},
                        {}});
  b.contexts.push_back({10, kKmsInterface, {btfn_syntax(0x0001)}});
  expect_round_trip(b);
  b.header.type = PacketType::alter_context;
  expect_round_trip(b);
}

TEST(RpcPdu, RoundTripBindAckForEveryAddressLength) {
  for (const std::optional<std::string>& addr :
       {std::optional<std::string>{}, std::optional<std::string>{""}, std::optional<std::string>{"1"},
        std::optional<std::string>{"12"}, std::optional<std::string>{"135"},
        std::optional<std::string>{"1688"}, std::optional<std::string>{"11688"},
        std::optional<std::string>{"\\PIPE\\ntsvcs"}}) {
    BindAck a;
    a.header.call_id = 9;
    a.assoc_group_id = 0xdeadbeef;
    a.secondary_address = addr;
    a.address_pad = {0xAA, 0xBB, 0xCC};
    a.results = {{kResultAcceptance, 0, kNdr32Syntax},
                 {kResultProviderRejection, kReasonAbstractSyntaxNotSupported, {}},
                 {kResultNegotiateAck, 0x0002, {}}};
    auto bytes = encode(a);
    ASSERT_TRUE(bytes);
    // Only the pad bytes actually present survive; the rest are not on the wire.
    const std::size_t addr_len = addr ? addr->size() + 1 : 0;
    const std::size_t pad = (4 - (26 + addr_len) % 4) % 4;
    for (std::size_t i = pad; i < 3; ++i) a.address_pad[i] = 0;
    a.header.type = PacketType::alter_context_resp;
    expect_round_trip(a);
    a.header.type = PacketType::bind_ack;
    expect_round_trip(a);
  }
}

TEST(RpcPdu, RoundTripBindNakWithExtension) {
  BindNak nak;
  nak.header.call_id = 4;
  nak.reject_reason = kRejectProtocolVersionNotSupported;
  nak.versions = {{5, 0}, {5, 1}};
  nak.extension = {0, 0, 0x90, 0x1b, 1, 2};
  expect_round_trip(nak);
  nak.versions.clear();
  nak.extension.clear();
  expect_round_trip(nak);
}

TEST(RpcPdu, RoundTripRequestWithAndWithoutObjectUuid) {
  Request q;
  q.header.call_id = 0xfffffffe;
  q.alloc_hint = 5;
  q.context_id = 3;
  q.opnum = 7;
  q.stub = {1, 2, 3, 4, 5};
  expect_round_trip(q);
  q.object = Guid::parse("0ff1ce15-a989-479d-af46-f275c6370663");
  auto bytes = encode(q);
  ASSERT_TRUE(bytes);
  EXPECT_EQ((*bytes)[3] & kPfcObjectUuid, kPfcObjectUuid);  // flag follows the field
  EXPECT_EQ(bytes->size(), 16u + 8 + 16 + 5);
  q.header.flags |= kPfcObjectUuid;
  expect_round_trip(q);
}

TEST(RpcPdu, RoundTripResponseFaultAndOthers) {
  Response s;
  s.header.call_id = 12;
  s.alloc_hint = 3;
  s.context_id = 1;
  s.cancel_count = 2;
  s.stub = {9, 8, 7};
  expect_round_trip(s);
  Fault f;
  f.header.call_id = 13;
  f.alloc_hint = 4;
  f.context_id = 2;
  f.cancel_count = 1;
  f.status = kNcaProtocolError;
  f.stub = {1, 2, 3, 4};
  expect_round_trip(f);
  for (PacketType t : {PacketType::auth3, PacketType::shutdown, PacketType::co_cancel,
                       PacketType::orphaned}) {
    OtherPdu o;
    o.header.type = t;
    o.header.call_id = 5;
    o.body = {0, 0, 0, 0};
    expect_round_trip(o);
  }
}

TEST(RpcPdu, EncodersRejectWhatTheWireCannotCarry) {
  Bind b;
  b.contexts.resize(256);
  EXPECT_EQ(encode(b).error().code, Errc::bad_value);
  b.contexts.resize(1);
  b.contexts[0].transfer_syntaxes.resize(256);
  EXPECT_EQ(encode(b).error().code, Errc::bad_value);

  Request big;
  big.stub.resize(0xFFFF - 24 + 1);
  EXPECT_EQ(encode(big).error().code, Errc::too_large);
  big.stub.resize(0xFFFF - 24);
  auto fits = encode(big);
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->size(), 0xFFFFu);

  Request wrong_type;
  wrong_type.header.type = PacketType::response;
  EXPECT_EQ(encode(wrong_type).error().code, Errc::bad_type);
  OtherPdu other;
  other.header.type = PacketType::bind;
  EXPECT_EQ(encode(other).error().code, Errc::bad_type);
}

TEST(RpcPdu, TypedDecodersRejectOtherPtypes) {
  const Bytes request = test::load_vector("v4_request.hex");
  EXPECT_EQ(decode_bind(request).error().code, Errc::bad_type);
  EXPECT_EQ(decode_bind_ack(request).error().code, Errc::bad_type);
  EXPECT_EQ(decode_bind_nak(request).error().code, Errc::bad_type);
  EXPECT_EQ(decode_response(request).error().code, Errc::bad_type);
  EXPECT_EQ(decode_fault(request).error().code, Errc::bad_type);
  EXPECT_EQ(decode_request(test::load_vector("v4_bind_request.hex")).error().code, Errc::bad_type);
}

TEST(RpcPdu, ShortBufferAtEveryPrefixOfEveryVector) {
  for (const auto& name : kAllPduVectors) {
    const Bytes bytes = test::load_vector(name);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      const Bytes prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      auto r = decode_pdu(prefix);
      ASSERT_FALSE(r) << name << " at " << n;
      ASSERT_EQ(r.error().code, Errc::truncated) << name << " at " << n;
    }
  }
}

// A body cut short while frag_length agrees with it: the field that is missing is reported.
TEST(RpcPdu, BodyCutShortWithConsistentFragLength) {
  for (const auto& name : kAllPduVectors) {
    const Bytes bytes = test::load_vector(name);
    const auto type = static_cast<PacketType>(bytes[2]);
    // request/response stubs may be any length, so only fixed-layout PDUs are cut everywhere.
    const std::size_t min_body = (type == PacketType::request || type == PacketType::response) ? 24 : bytes.size();
    for (std::size_t n = 16; n < min_body; ++n) {
      Bytes cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      set_frag_length(cut);
      auto r = decode_pdu(cut);
      ASSERT_FALSE(r) << name << " at " << n;
      ASSERT_EQ(r.error().code, Errc::truncated) << name << " at " << n << ": " << r.error().message();
    }
  }
}

TEST(RpcPdu, ContextCountThatOverflowsTheBody) {
  Bytes b = test::load_vector("v6_bind_request.hex");
  b[24] = 200;  // n_context_elem: 200 elements of >= 44 bytes cannot fit in 132
  auto r = decode_bind(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::truncated);
  EXPECT_EQ(r.error().offset, 28u);
  b[24] = 4;  // one more than present
  EXPECT_EQ(decode_bind(b).error().code, Errc::truncated);
  b[24] = 2;  // fewer than present: the third element becomes trailing data
  EXPECT_EQ(decode_bind(b).error().code, Errc::trailing_data);

  Bytes ts = test::load_vector("v6_bind_request.hex");
  ts[30] = 255;  // n_transfer_syn of the first element
  EXPECT_EQ(decode_bind(ts).error().code, Errc::truncated);
}

TEST(RpcPdu, BindAckCountsAndAddressThatDisagreeWithTheBody) {
  Bytes long_addr = test::load_vector("v6_bind_ack.hex");
  long_addr[24] = 0xFF;
  long_addr[25] = 0xFF;
  EXPECT_EQ(decode_bind_ack(long_addr).error().code, Errc::truncated);

  Bytes no_nul = test::load_vector("v6_bind_ack.hex");
  no_nul[31] = '9';
  auto r = decode_bind_ack(no_nul);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_value);
  EXPECT_EQ(r.error().offset, 31u);

  Bytes many = test::load_vector("v6_bind_ack.hex");
  many[32] = 100;
  EXPECT_EQ(decode_bind_ack(many).error().code, Errc::truncated);
  Bytes few = test::load_vector("v6_bind_ack.hex");
  few[32] = 1;
  EXPECT_EQ(decode_bind_ack(few).error().code, Errc::trailing_data);
}

TEST(RpcPdu, BindNakCountBeyondTheBody) {
  BindNak nak;
  nak.versions = {{5, 0}};
  Bytes b = *encode(nak);
  b[18] = 50;
  EXPECT_EQ(decode_bind_nak(b).error().code, Errc::truncated);
}

TEST(RpcPdu, ObjectUuidFlagWithoutTheUuid) {
  Request q;
  q.stub = {1, 2, 3};
  Bytes b = *encode(q);
  b[3] |= kPfcObjectUuid;  // now 16 bytes of object UUID are announced but only 3 follow
  auto r = decode_request(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::truncated);
}

// Random corruption of every vector: decoding must stay in bounds (ASan checks) and anything that
// decodes must re-encode to a PDU that decodes to the same value.
TEST(RpcPdu, CorruptedVectorsNeverMisbehave) {
  std::mt19937_64 rng(0x6b6d736c6162ull);
  for (const auto& name : kAllPduVectors) {
    const Bytes original = test::load_vector(name);
    for (int round = 0; round < 150; ++round) {
      Bytes b = original;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) {
        const std::size_t at = rng() % b.size();
        b[at] = static_cast<std::uint8_t>(rng());
      }
      if (rng() % 4 == 0) b.resize(rng() % b.size());
      auto r = decode_pdu(b);
      if (!r) continue;
      auto again = encode(*r);
      ASSERT_TRUE(again) << name;
      auto back = decode_pdu(*again);
      ASSERT_TRUE(back) << name;
      EXPECT_EQ(*back, *r) << name;
    }
  }
}

}  // namespace
}  // namespace kmslab::protocol::rpc
