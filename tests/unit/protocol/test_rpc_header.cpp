// DCE/RPC common header: stream framing (pdu_length) and the checks every PDU goes through.
#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/rpc_header.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "vectors.hpp"

#include <gtest/gtest.h>

namespace kmslab::protocol::rpc {
namespace {

Bytes bind_vector() { return test::load_vector("v6_bind_request.hex"); }

void set_frag_length(Bytes& pdu, std::size_t value) {
  pdu[8] = static_cast<std::uint8_t>(value & 0xFF);
  pdu[9] = static_cast<std::uint8_t>(value >> 8);
}

TEST(RpcHeader, DecodesCapturedBindHeader) {
  const Bytes pdu = bind_vector();
  auto h = decode_header(pdu);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->rpc_vers_minor, 0);
  EXPECT_EQ(h->type, PacketType::bind);
  EXPECT_EQ(h->flags, kPfcSingleFragment | kPfcConcMpx);
  EXPECT_EQ(h->drep, kLittleEndianDrep);
  EXPECT_EQ(h->frag_length, 160);
  EXPECT_EQ(h->auth_length, 0);
  EXPECT_EQ(h->call_id, 2u);
  ByteWriter w;
  encode_header(w, *h);
  EXPECT_EQ(to_hex(w.data()), to_hex(ByteSpan(pdu).first(16)));
}

TEST(RpcHeader, PduLengthFromTenBytePrefix) {
  const Bytes pdu = bind_vector();
  auto len = pdu_length(ByteSpan(pdu).first(kFramingPrefixSize));
  ASSERT_TRUE(len) << len.error().message();
  EXPECT_EQ(*len, 160u);
  for (std::size_t n = 0; n < kFramingPrefixSize; ++n) {
    auto short_prefix = pdu_length(ByteSpan(pdu).first(n));
    ASSERT_FALSE(short_prefix) << n;
    EXPECT_EQ(short_prefix.error().code, Errc::truncated) << n;
  }
}

TEST(RpcHeader, PduLengthEnforcesTheMaximum) {
  Bytes pdu = bind_vector();
  set_frag_length(pdu, 0xFFFF);
  auto huge = pdu_length(pdu);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, Errc::too_large);
  EXPECT_EQ(huge.error().offset, 8u);
  // The limit is a parameter: a caller that negotiated bigger fragments can allow them.
  auto allowed = pdu_length(pdu, 0x10000);
  ASSERT_TRUE(allowed);
  EXPECT_EQ(*allowed, 0xFFFFu);
  auto tight = pdu_length(bind_vector(), 159);
  ASSERT_FALSE(tight);
  EXPECT_EQ(tight.error().code, Errc::too_large);
  EXPECT_TRUE(pdu_length(bind_vector(), 160));
}

TEST(RpcHeader, FragLengthShorterThanHeaderIsBadLength) {
  Bytes pdu = bind_vector();
  set_frag_length(pdu, 15);
  EXPECT_EQ(pdu_length(pdu).error().code, Errc::bad_length);
  EXPECT_EQ(decode_header(pdu).error().code, Errc::bad_length);
}

TEST(RpcHeader, FragLengthDisagreeingWithDataBothWays) {
  Bytes longer_claim = bind_vector();
  set_frag_length(longer_claim, 161);
  auto e1 = decode_header(longer_claim);
  ASSERT_FALSE(e1);
  EXPECT_EQ(e1.error().code, Errc::truncated);

  Bytes shorter_claim = bind_vector();
  set_frag_length(shorter_claim, 150);
  auto e2 = decode_header(shorter_claim);
  ASSERT_FALSE(e2);
  EXPECT_EQ(e2.error().code, Errc::trailing_data);
  EXPECT_EQ(e2.error().offset, 150u);

  Bytes extra = bind_vector();
  extra.push_back(0);
  EXPECT_EQ(decode_header(extra).error().code, Errc::trailing_data);
  EXPECT_EQ(decode_pdu(extra).error().code, Errc::trailing_data);
}

TEST(RpcHeader, ShortBufferAtEveryPrefixLengthIsTruncated) {
  const Bytes pdu = bind_vector();
  for (std::size_t n = 0; n < pdu.size(); ++n) {
    const Bytes prefix(pdu.begin(), pdu.begin() + static_cast<std::ptrdiff_t>(n));
    auto h = decode_header(prefix);
    ASSERT_FALSE(h) << n;
    EXPECT_EQ(h.error().code, Errc::truncated) << n;
  }
}

TEST(RpcHeader, WrongRpcVersion) {
  Bytes v4 = bind_vector();
  v4[0] = 4;
  EXPECT_EQ(pdu_length(v4).error().code, Errc::bad_version);
  EXPECT_EQ(decode_header(v4).error().code, Errc::bad_version);
  Bytes minor2 = bind_vector();
  minor2[1] = 2;
  EXPECT_EQ(decode_header(minor2).error().code, Errc::bad_version);
  Bytes minor1 = bind_vector();
  minor1[1] = 1;  // DCE 1.1's 5.1 is read, and kept for re-encoding
  auto h = decode_header(minor1);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rpc_vers_minor, 1);
}

TEST(RpcHeader, BigEndianDrepIsUnsupportedWithAClearMessage) {
  Bytes pdu = bind_vector();
  pdu[4] = 0x00;
  auto e = decode_header(pdu);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::unsupported);
  EXPECT_EQ(e.error().offset, 4u);
  EXPECT_NE(e.error().detail.find("big-endian NDR data representation is not supported"),
            std::string::npos);
  EXPECT_EQ(pdu_length(pdu).error().code, Errc::unsupported);
}

TEST(RpcHeader, EbcdicAndNonIeeeDrepAreUnsupported) {
  Bytes ebcdic = bind_vector();
  ebcdic[4] = 0x11;
  EXPECT_EQ(decode_header(ebcdic).error().code, Errc::unsupported);
  Bytes vax = bind_vector();
  vax[5] = 0x01;
  EXPECT_EQ(decode_header(vax).error().code, Errc::unsupported);
  Bytes weird = bind_vector();
  weird[4] = 0x20;
  EXPECT_EQ(decode_header(weird).error().code, Errc::unsupported);
}

TEST(RpcHeader, UnknownAndConnectionlessPtypes) {
  for (int ptype : {1, 4, 9, 10, 20, 99, 255}) {
    Bytes pdu = bind_vector();
    pdu[2] = static_cast<std::uint8_t>(ptype);
    auto e = decode_header(pdu);
    ASSERT_FALSE(e) << ptype;
    EXPECT_EQ(e.error().code, Errc::bad_type) << ptype;
    EXPECT_EQ(pdu_length(pdu).error().code, Errc::bad_type) << ptype;
  }
  for (int ptype : {0, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 19})
    EXPECT_TRUE(is_connection_oriented(static_cast<std::uint8_t>(ptype))) << ptype;
}

TEST(RpcHeader, NonZeroAuthLengthIsUnsupported) {
  Bytes pdu = bind_vector();
  pdu[10] = 8;
  auto e = decode_header(pdu);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::unsupported);
  EXPECT_EQ(e.error().offset, 10u);
}

TEST(RpcHeader, PacketTypeNames) {
  EXPECT_EQ(to_string(PacketType::alter_context_resp), "alter_context_resp");
  EXPECT_EQ(to_string(PacketType::request), "request");
  EXPECT_EQ(to_string(static_cast<PacketType>(42)), "unknown");
}

}  // namespace
}  // namespace kmslab::protocol::rpc
