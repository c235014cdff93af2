// NDR32 / NDR64 stubs of RequestActivation against every captured request and response,
// including in-band refusals and vlmcsd's odd-size response, plus malformed counts.
#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/rpc_stub.hpp"
#include "vectors.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kmslab::protocol::rpc {
namespace {

struct RequestCase {
  std::string file;
  NdrSyntax syntax;
  std::size_t kms_size;
  std::uint16_t kms_major;
  std::uint32_t call_id;
};

const std::vector<RequestCase> kRequests = {
    {"v4_request.hex", NdrSyntax::ndr32, 252, 4, 2},
    {"v5_request.hex", NdrSyntax::ndr32, 260, 5, 2},
    {"v6_request.hex", NdrSyntax::ndr32, 260, 6, 2},
    {"v4_ndr64_request.hex", NdrSyntax::ndr64, 252, 4, 3},
    {"v6_ndr64_request.hex", NdrSyntax::ndr64, 260, 6, 3},
    {"v5_ndr32only_request.hex", NdrSyntax::ndr32, 260, 5, 2},
    {"v6_office2016_request.hex", NdrSyntax::ndr32, 260, 6, 2},
    {"v4_err_C004F042_request.hex", NdrSyntax::ndr32, 252, 4, 2},
    {"v6_err_8007000D_request.hex", NdrSyntax::ndr32, 260, 6, 2},
    {"v6_err_C004F06C_clock_plus5h_request.hex", NdrSyntax::ndr32, 260, 6, 2},
    {"v4_odd_size_epid48_request.hex", NdrSyntax::ndr32, 252, 4, 2},
    {"probe_v4_request.hex", NdrSyntax::ndr32, 252, 4, 2},
    {"probe_v5_request.hex", NdrSyntax::ndr32, 260, 5, 2},
    {"probe_v6_request.hex", NdrSyntax::ndr32, 260, 6, 2},
};

struct ResponseCase {
  std::string file;
  NdrSyntax syntax;
  std::optional<std::size_t> kms_size;  // nullopt: in-band refusal
  std::uint32_t hresult;
};

const std::vector<ResponseCase> kResponses = {
    {"v4_response.hex", NdrSyntax::ndr32, 160, 0},
    {"v5_response.hex", NdrSyntax::ndr32, 228, 0},
    {"v6_response.hex", NdrSyntax::ndr32, 260, 0},
    {"v4_ndr64_response.hex", NdrSyntax::ndr64, 160, 0},
    {"v6_ndr64_response.hex", NdrSyntax::ndr64, 260, 0},
    {"v5_ndr32only_response.hex", NdrSyntax::ndr32, 228, 0},
    {"v6_office2016_response.hex", NdrSyntax::ndr32, 260, 0},
    {"probe_v4_response.hex", NdrSyntax::ndr32, 160, 0},
    {"probe_v5_response.hex", NdrSyntax::ndr32, 228, 0},
    {"probe_v6_response.hex", NdrSyntax::ndr32, 260, 0},
    {"v4_odd_size_epid48_response.hex", NdrSyntax::ndr32, 158, 0},
    {"v4_err_C004F042_response.hex", NdrSyntax::ndr32, std::nullopt, 0xC004F042},
    {"v6_err_8007000D_response.hex", NdrSyntax::ndr32, std::nullopt, 0x8007000D},
    {"v6_err_C004F06C_clock_plus5h_response.hex", NdrSyntax::ndr32, std::nullopt, 0xC004F06C},
};

std::uint32_t le32(const Bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | (static_cast<std::uint32_t>(b[at + 1]) << 8) |
         (static_cast<std::uint32_t>(b[at + 2]) << 16) | (static_cast<std::uint32_t>(b[at + 3]) << 24);
}

TEST(RpcStub, EveryCapturedRequestDecodesAndRebuildsByteForByte) {
  for (const auto& c : kRequests) {
    SCOPED_TRACE(c.file);
    const Bytes bytes = test::load_vector(c.file);
    auto q = decode_request(bytes);
    ASSERT_TRUE(q) << q.error().message();
    EXPECT_EQ(q->header.call_id, c.call_id);
    EXPECT_EQ(q->context_id, c.syntax == NdrSyntax::ndr64 ? 1 : 0);
    EXPECT_EQ(q->opnum, kOpnumRequestActivation);
    EXPECT_EQ(q->alloc_hint, q->stub.size());
    auto kms = decode_request_stub(q->stub, c.syntax);
    ASSERT_TRUE(kms) << kms.error().message();
    ASSERT_EQ(kms->size(), c.kms_size);
    // The KMS payload starts with its version: minor 0, major 4/5/6.
    EXPECT_EQ(le32(*kms, 0), std::uint32_t{c.kms_major} << 16);
    // Wrong syntax for the stub is caught by the count check.
    const NdrSyntax other = c.syntax == NdrSyntax::ndr32 ? NdrSyntax::ndr64 : NdrSyntax::ndr32;
    EXPECT_FALSE(decode_request_stub(q->stub, other));

    auto rebuilt = make_activation_request(c.call_id, q->context_id, c.syntax, *kms);
    ASSERT_TRUE(rebuilt);
    auto encoded = encode(*rebuilt);
    ASSERT_TRUE(encoded);
    EXPECT_EQ(to_hex(*encoded), to_hex(bytes));
  }
}

TEST(RpcStub, EveryCapturedResponseDecodesAndRebuildsByteForByte) {
  for (const auto& c : kResponses) {
    SCOPED_TRACE(c.file);
    const Bytes bytes = test::load_vector(c.file);
    auto s = decode_response(bytes);
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->alloc_hint, s->stub.size());
    auto stub = decode_response_stub(s->stub, c.syntax);
    ASSERT_TRUE(stub) << stub.error().message();
    EXPECT_EQ(stub->hresult, c.hresult);
    ASSERT_EQ(stub->payload.has_value(), c.kms_size.has_value());
    if (c.kms_size) {
      EXPECT_EQ(stub->payload->size(), *c.kms_size);
    }
    auto rebuilt = make_activation_response(s->header.call_id, s->context_id, c.syntax, *stub);
    ASSERT_TRUE(rebuilt);
    auto encoded = encode(*rebuilt);
    ASSERT_TRUE(encoded);
    EXPECT_EQ(to_hex(*encoded), to_hex(bytes));
  }
}

TEST(RpcStub, ResponsePayloadVersionEchoesTheRequest) {
  for (const auto& c : kResponses) {
    if (!c.kms_size) continue;
    SCOPED_TRACE(c.file);
    const std::string stem = c.file.substr(0, c.file.size() - std::string("response.hex").size());
    auto q = decode_request(test::load_vector(stem + "request.hex"));
    auto s = decode_response(test::load_vector(c.file));
    ASSERT_TRUE(q && s);
    auto kms_req = decode_request_stub(q->stub, c.syntax);
    auto kms_resp = decode_response_stub(s->stub, c.syntax);
    ASSERT_TRUE(kms_req && kms_resp);
    EXPECT_EQ(le32(*kms_resp->payload, 0), le32(*kms_req, 0));
  }
}

TEST(RpcStub, RefusalsAreTwelveByteNdr32Stubs) {
  for (const auto& c : kResponses) {
    if (c.kms_size) continue;
    const Bytes bytes = test::load_vector(c.file);
    EXPECT_EQ(bytes.size(), 36u) << c.file;
    auto s = decode_response(bytes);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->stub.size(), 12u);
    EXPECT_EQ(s->alloc_hint, 12u);
  }
}

TEST(RpcStub, OddSizeResponseAsVlmcsdLaysItOut) {
  const Bytes bytes = test::load_vector("v4_odd_size_epid48_response.hex");
  auto s = decode_response(bytes);
  ASSERT_TRUE(s);
  // 12 + 158 + 4 + 2 = 176: vlmcsd's HRESULT sits unaligned at 170, NDR's would sit at 172.
  EXPECT_EQ(s->alloc_hint, 176u);
  auto stub = decode_response_stub(s->stub, NdrSyntax::ndr32);
  ASSERT_TRUE(stub);
  EXPECT_EQ(stub->payload->size(), 158u);
  EXPECT_EQ(stub->hresult, 0u);
  // With HRESULT 0 both layouts are the same bytes, so both encoders reproduce the capture.
  for (auto placement : {HresultPlacement::ndr_aligned, HresultPlacement::vlmcsd_unaligned}) {
    auto again = encode_response_stub(*stub, NdrSyntax::ndr32, placement);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, s->stub);
  }
}

TEST(RpcStub, OddSizeResponseBothPlacementsWithNonZeroHresult) {
  const Bytes payload(158, 0x5A);
  for (auto syntax : {NdrSyntax::ndr32, NdrSyntax::ndr64}) {
    const std::size_t head = syntax == NdrSyntax::ndr32 ? 12 : 24;
    for (auto placement : {HresultPlacement::ndr_aligned, HresultPlacement::vlmcsd_unaligned}) {
      const ResponseStub in{payload, 0xC004F042, placement};
      auto bytes = encode_response_stub(in, syntax, placement);
      ASSERT_TRUE(bytes);
      ASSERT_EQ(bytes->size(), head + 158 + 2 + 4);
      const std::size_t hresult_at =
          placement == HresultPlacement::ndr_aligned ? head + 160 : head + 158;
      EXPECT_EQ(le32(*bytes, hresult_at), 0xC004F042u);
      auto out = decode_response_stub(*bytes, syntax);
      ASSERT_TRUE(out) << out.error().message();
      EXPECT_EQ(*out, in);
    }
  }
}

TEST(RpcStub, AmbiguousOddSizeReadingPrefersNdr) {
  // An HRESULT with zero high bytes placed by NDR also looks like vlmcsd padding; NDR wins.
  const ResponseStub in{Bytes(3, 1), 0x00001234, HresultPlacement::ndr_aligned};
  auto bytes = encode_response_stub(in, NdrSyntax::ndr32);
  ASSERT_TRUE(bytes);
  auto out = decode_response_stub(*bytes, NdrSyntax::ndr32);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->hresult, 0x00001234u);
  EXPECT_EQ(out->placement, HresultPlacement::ndr_aligned);
}

TEST(RpcStub, Ndr64RefusalLayout) {
  const ResponseStub refusal{std::nullopt, 0xC004F06C, HresultPlacement::ndr_aligned};
  auto bytes = encode_response_stub(refusal, NdrSyntax::ndr64);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(to_hex(*bytes), "00000000000000000000000000000000" "6cf004c0");
  auto out = decode_response_stub(*bytes, NdrSyntax::ndr64);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, refusal);
}

TEST(RpcStub, RequestCountsThatDisagree) {
  auto stub = encode_request_stub(Bytes(16, 7), NdrSyntax::ndr32);
  ASSERT_TRUE(stub);
  Bytes b = *stub;
  b[4] = 17;  // conformant max count 17, requestSize 16
  auto r = decode_request_stub(b, NdrSyntax::ndr32);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_value);
  EXPECT_EQ(r.error().offset, 4u);
}

TEST(RpcStub, RequestCountsBeyondTheStubOrTheLimit) {
  Bytes b = *encode_request_stub(Bytes(16, 7), NdrSyntax::ndr32);
  b[0] = b[4] = 17;
  EXPECT_EQ(decode_request_stub(b, NdrSyntax::ndr32).error().code, Errc::truncated);
  b[0] = b[4] = 16;
  EXPECT_EQ(decode_request_stub(b, NdrSyntax::ndr32, 15).error().code, Errc::too_large);
  EXPECT_TRUE(decode_request_stub(b, NdrSyntax::ndr32, 16));

  Bytes huge = *encode_request_stub(Bytes(16, 7), NdrSyntax::ndr64);
  for (std::size_t i = 0; i < 8; ++i) huge[i] = huge[8 + i] = 0xFF;  // 2^64 - 1
  EXPECT_EQ(decode_request_stub(huge, NdrSyntax::ndr64).error().code, Errc::too_large);
}

TEST(RpcStub, RequestTrailingBytes) {
  Bytes b = *encode_request_stub(Bytes(5, 7), NdrSyntax::ndr32);
  b.insert(b.end(), 3, 0);  // zero alignment padding is fine
  auto ok = decode_request_stub(b, NdrSyntax::ndr32);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, Bytes(5, 7));
  b.push_back(1);
  EXPECT_EQ(decode_request_stub(b, NdrSyntax::ndr32).error().code, Errc::trailing_data);
  Bytes many_zeros = *encode_request_stub(Bytes(5, 7), NdrSyntax::ndr32);
  many_zeros.insert(many_zeros.end(), 8, 0);
  EXPECT_EQ(decode_request_stub(many_zeros, NdrSyntax::ndr32).error().code, Errc::trailing_data);
}

TEST(RpcStub, ResponseCountsThatDisagreeOrOverflow) {
  const ResponseStub ok{Bytes(20, 3), 0, HresultPlacement::ndr_aligned};
  for (auto syntax : {NdrSyntax::ndr32, NdrSyntax::ndr64}) {
    const std::size_t w = syntax == NdrSyntax::ndr32 ? 4 : 8;
    Bytes b = *encode_response_stub(ok, syntax);
    Bytes mismatch = b;
    mismatch[2 * w] = 21;
    EXPECT_EQ(decode_response_stub(mismatch, syntax).error().code, Errc::bad_value);
    Bytes beyond = b;
    beyond[0] = beyond[2 * w] = 200;
    EXPECT_EQ(decode_response_stub(beyond, syntax).error().code, Errc::truncated);
    Bytes huge = b;
    for (std::size_t i = 0; i < w; ++i) huge[i] = huge[2 * w + i] = 0xFF;
    EXPECT_EQ(decode_response_stub(huge, syntax).error().code, Errc::too_large);
    EXPECT_EQ(decode_response_stub(b, syntax, 19).error().code, Errc::too_large);
    Bytes trailing = b;
    trailing.push_back(9);
    EXPECT_EQ(decode_response_stub(trailing, syntax).error().code, Errc::trailing_data);
  }
}

TEST(RpcStub, EveryPrefixOfEveryStubIsTruncated) {
  for (const auto& c : kResponses) {
    auto s = decode_response(test::load_vector(c.file));
    ASSERT_TRUE(s);
    for (std::size_t n = 0; n < s->stub.size(); ++n) {
      auto r = decode_response_stub(ByteSpan(s->stub).first(n), c.syntax);
      ASSERT_FALSE(r) << c.file << " at " << n;
      EXPECT_EQ(r.error().code, Errc::truncated) << c.file << " at " << n;
    }
  }
  for (const auto& c : kRequests) {
    auto q = decode_request(test::load_vector(c.file));
    ASSERT_TRUE(q);
    for (std::size_t n = 0; n < q->stub.size(); ++n) {
      auto r = decode_request_stub(ByteSpan(q->stub).first(n), c.syntax);
      ASSERT_FALSE(r) << c.file << " at " << n;
      EXPECT_EQ(r.error().code, Errc::truncated) << c.file << " at " << n;
    }
  }
}

}  // namespace
}  // namespace kmslab::protocol::rpc
