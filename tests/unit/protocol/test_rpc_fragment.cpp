// Multi-fragment calls: split with encode_fragments, put back with Reassembler, and every
// sequence or size violation gives a typed error.
#include "kmslab/protocol/rpc_fragment.hpp"
#include "kmslab/protocol/rpc_stub.hpp"
#include "vectors.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace kmslab::protocol::rpc {
namespace {

Request big_request(std::size_t stub_size, std::uint32_t call_id = 5) {
  Request q;
  q.header.call_id = call_id;
  q.context_id = 1;
  q.opnum = 0;
  q.stub.resize(stub_size);
  std::iota(q.stub.begin(), q.stub.end(), std::uint8_t{0});
  q.alloc_hint = static_cast<std::uint32_t>(stub_size);
  return q;
}

Request fragment(std::uint32_t call_id, std::uint8_t flags, std::size_t stub_size,
                 std::uint16_t context_id = 1) {
  Request q;
  q.header.call_id = call_id;
  q.header.flags = flags;
  q.context_id = context_id;
  q.stub.assign(stub_size, 0xAB);
  return q;
}

template <class Call, class Decode>
std::vector<Call> decode_all(const std::vector<Bytes>& frags, Decode decode) {
  std::vector<Call> out;
  for (const auto& f : frags) {
    auto d = decode(f);
    if (!d) {
      ADD_FAILURE() << d.error().message();
      continue;
    }
    out.push_back(*d);
  }
  return out;
}

TEST(RpcFragment, SplitsAndReassemblesARequest) {
  const Request call = big_request(1000);
  auto frags = encode_fragments(call, 100);
  ASSERT_TRUE(frags) << frags.error().message();
  // 100 - 24 = 76 -> 72 stub bytes per fragment (multiple of 8): 13 full + 1 of 64.
  ASSERT_EQ(frags->size(), 14u);
  const auto decoded = decode_all<Request>(*frags, [](const Bytes& b) { return decode_request(b); });
  ASSERT_EQ(decoded.size(), 14u);
  std::size_t remaining = 1000;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    EXPECT_LE((*frags)[i].size(), 100u);
    EXPECT_EQ(decoded[i].header.first_fragment(), i == 0);
    EXPECT_EQ(decoded[i].header.last_fragment(), i + 1 == decoded.size());
    EXPECT_EQ(decoded[i].alloc_hint, remaining);
    if (i + 1 < decoded.size()) {
      EXPECT_EQ(decoded[i].stub.size() % 8, 0u);
    }
    remaining -= decoded[i].stub.size();
  }
  RequestReassembler r;
  std::optional<Request> whole;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    auto step = r.add(decoded[i]);
    ASSERT_TRUE(step) << step.error().message();
    EXPECT_EQ(step->has_value(), i + 1 == decoded.size());
    if (*step) whole = **step;
  }
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->stub, call.stub);
  EXPECT_EQ(whole->alloc_hint, 1000u);
  EXPECT_EQ(whole->header.flags & kPfcSingleFragment, kPfcSingleFragment);
  EXPECT_EQ(whole->header.call_id, 5u);
  EXPECT_FALSE(r.in_progress());
}

TEST(RpcFragment, ObjectUuidTravelsInEveryFragment) {
  Request call = big_request(40);
  call.object = Guid::parse("0ff1ce15-a989-479d-af46-f275c6370663");
  auto frags = encode_fragments(call, 24 + 16 + 16);
  ASSERT_TRUE(frags);
  ASSERT_EQ(frags->size(), 3u);
  RequestReassembler r;
  std::optional<Request> whole;
  for (const auto& f : *frags) {
    auto d = decode_request(f);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->object, call.object);
    auto step = r.add(*d);
    ASSERT_TRUE(step);
    if (*step) whole = **step;
  }
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->stub, call.stub);
}

TEST(RpcFragment, SplitsAndReassemblesAResponse) {
  auto resp = make_activation_response(9, 0, NdrSyntax::ndr32,
                                       ResponseStub{Bytes(300, 0x42), 0, HresultPlacement::ndr_aligned});
  ASSERT_TRUE(resp);
  auto frags = encode_fragments(*resp, 64);
  ASSERT_TRUE(frags);
  EXPECT_GT(frags->size(), 1u);
  ResponseReassembler r;
  std::optional<Response> whole;
  for (const auto& f : *frags) {
    auto d = decode_response(f);
    ASSERT_TRUE(d);
    auto step = r.add(*d);
    ASSERT_TRUE(step) << step.error().message();
    if (*step) whole = **step;
  }
  ASSERT_TRUE(whole);
  auto stub = decode_response_stub(whole->stub, NdrSyntax::ndr32);
  ASSERT_TRUE(stub);
  EXPECT_EQ(*stub->payload, Bytes(300, 0x42));
}

TEST(RpcFragment, SingleFragmentCallsPassStraightThrough) {
  auto q = decode_request(test::load_vector("v6_request.hex"));
  ASSERT_TRUE(q);
  RequestReassembler r;
  auto step = r.add(*q);
  ASSERT_TRUE(step);
  ASSERT_TRUE(*step);
  EXPECT_EQ((*step)->stub, q->stub);
  auto one = encode_fragments(*q, 5840);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0], test::load_vector("v6_request.hex"));
  auto empty = encode_fragments(Request{}, 32);
  ASSERT_TRUE(empty);
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_EQ((*empty)[0][3] & kPfcSingleFragment, kPfcSingleFragment);
}

TEST(RpcFragment, MissingFirstFragment) {
  RequestReassembler r;
  auto e = r.add(fragment(3, kPfcLastFrag, 8));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::bad_value);
  auto middle = r.add(fragment(3, 0, 8));
  ASSERT_FALSE(middle);
  EXPECT_EQ(middle.error().code, Errc::bad_value);
}

TEST(RpcFragment, FirstFragmentAgainIsOutOfOrder) {
  RequestReassembler r;
  ASSERT_TRUE(r.add(fragment(3, kPfcFirstFrag, 8)));
  auto e = r.add(fragment(3, kPfcFirstFrag, 8));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::bad_value);
  EXPECT_FALSE(r.in_progress());  // reset after the error
}

TEST(RpcFragment, CallIdOrContextChangeMidCall) {
  RequestReassembler r;
  ASSERT_TRUE(r.add(fragment(3, kPfcFirstFrag, 8)));
  auto e = r.add(fragment(4, kPfcLastFrag, 8));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::bad_value);
  EXPECT_EQ(e.error().offset, 12u);

  ASSERT_TRUE(r.add(fragment(3, kPfcFirstFrag, 8)));
  auto ctx = r.add(fragment(3, kPfcLastFrag, 8, 2));
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().code, Errc::bad_value);

  // After an error a fresh call is accepted.
  ASSERT_TRUE(r.add(fragment(5, kPfcFirstFrag, 8)));
  auto done = r.add(fragment(5, kPfcLastFrag, 3));
  ASSERT_TRUE(done);
  ASSERT_TRUE(*done);
  EXPECT_EQ((*done)->stub.size(), 11u);
}

TEST(RpcFragment, LimitsOnFragmentsAndStubSize) {
  RequestReassembler few({.max_stub_size = 1024, .max_fragments = 3});
  ASSERT_TRUE(few.add(fragment(1, kPfcFirstFrag, 8)));
  ASSERT_TRUE(few.add(fragment(1, 0, 8)));
  ASSERT_TRUE(few.add(fragment(1, 0, 8)));
  auto e = few.add(fragment(1, kPfcLastFrag, 8));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::too_large);

  RequestReassembler small({.max_stub_size = 20, .max_fragments = 64});
  ASSERT_TRUE(small.add(fragment(1, kPfcFirstFrag, 16)));
  auto big = small.add(fragment(1, kPfcLastFrag, 8));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::too_large);
  // Exactly at the limit is fine.
  ASSERT_TRUE(small.add(fragment(2, kPfcFirstFrag, 16)));
  auto at_limit = small.add(fragment(2, kPfcLastFrag, 4));
  ASSERT_TRUE(at_limit);
  EXPECT_TRUE(*at_limit);

  // An announced alloc_hint beyond the limit is refused at the first fragment.
  Request announce = fragment(3, kPfcFirstFrag, 8);
  announce.alloc_hint = 1'000'000;
  auto early = small.add(announce);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::too_large);
}

TEST(RpcFragment, FragmenterRejectsImpossibleSizes) {
  const Request call = big_request(100);
  EXPECT_EQ(encode_fragments(call, 24 + 7).error().code, Errc::bad_value);
  EXPECT_EQ(encode_fragments(call, 0x10000).error().code, Errc::bad_value);
  EXPECT_TRUE(encode_fragments(call, 24 + 8));
  Request with_object = call;
  with_object.object = Guid{};
  EXPECT_EQ(encode_fragments(with_object, 24 + 8).error().code, Errc::bad_value);
}

}  // namespace
}  // namespace kmslab::protocol::rpc
