#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/guid.hpp"
#include "kmslab/protocol/hex.hpp"
#include "vectors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

namespace kmslab::protocol {
namespace {

TEST(Guid, ParsesToMicrosoftWireOrder) {
  auto g = Guid::parse("55c92734-d682-4d71-983e-d6ec3f16059f");
  ASSERT_TRUE(g);
  EXPECT_EQ(to_hex(g->wire()), "3427c95582d6714d983ed6ec3f16059f");
  EXPECT_EQ(g->to_string(), "55c92734-d682-4d71-983e-d6ec3f16059f");
}

TEST(Guid, AcceptsBracesAndUpperCase) {
  auto g = Guid::parse("{55C92734-D682-4D71-983E-D6EC3F16059F}");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->to_string(), "55c92734-d682-4d71-983e-d6ec3f16059f");
}

TEST(Guid, RejectsMalformedText) {
  for (const char* bad : {"", "55c92734", "55c92734-d682-4d71-983e-d6ec3f16059", "55c92734xd682-4d71-983e-d6ec3f16059f",
                          "g5c92734-d682-4d71-983e-d6ec3f16059f", "{55c92734-d682-4d71-983e-d6ec3f16059f"}) {
    EXPECT_FALSE(Guid::parse(bad)) << bad;
  }
}

TEST(Guid, RandomV4HasVersionAndVariantBits) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100; ++i) {
    auto text = Guid::random_v4(rng).to_string();
    EXPECT_EQ(text[14], '4') << text;
    EXPECT_TRUE(text[19] == '8' || text[19] == '9' || text[19] == 'a' || text[19] == 'b') << text;
    EXPECT_EQ(Guid::parse(text)->to_string(), text);
  }
}

TEST(FileTime, MatchesCapturedTimestamp) {
  // v6 capture: 134400863370000000 = 2026-11-25 13:18:57 UTC.
  EXPECT_EQ(format_filetime(134400863370000000ull), "2026-11-25T13:18:57.0000000Z");
  EXPECT_EQ(to_filetime(from_filetime(134400863370000001ull)), 134400863370000001ull);
}

// FILETIMEs from the wire can be any u64: the edges of u64 and i64, and the values a fuzz run
// of the KMS host found overflowing (as i64: -9196068959818546816, and 0 minus the epoch).
constexpr std::uint64_t kFarFileTimes[] = {0ull, 9223372036854775807ull, 9223372036854775808ull,
                                           18446744073709551615ull, 9250675113890004800ull, 1ull};

TEST(FileTime, DeltaSaturatesInsteadOfOverflowing) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(filetime_delta(0, 0), 0);
  EXPECT_EQ(filetime_delta(5, 3), 2);
  EXPECT_EQ(filetime_delta(3, 5), -2);
  EXPECT_EQ(filetime_delta(9223372036854775807ull, 0), kMax);
  EXPECT_EQ(filetime_delta(9223372036854775808ull, 0), kMax);
  EXPECT_EQ(filetime_delta(18446744073709551615ull, 0), kMax);
  EXPECT_EQ(filetime_delta(0, 9223372036854775808ull), kMin);
  EXPECT_EQ(filetime_delta(0, 18446744073709551615ull), kMin);
  EXPECT_EQ(filetime_delta(18446744073709551615ull, 9223372036854775808ull), kMax);
  EXPECT_EQ(filetime_delta(9223372036854775808ull, 18446744073709551615ull), kMin + 1);
  EXPECT_EQ(filetime_delta(134400863370000000ull, 134400863300000000ull), 70000000);
}

TEST(FileTime, FromFiletimeClampsToWhatATimePointHolds) {
  for (const auto ft : kFarFileTimes) {
    const auto t = from_filetime(ft);
    EXPECT_EQ(to_filetime(t), std::clamp(ft, kMinTimePointFileTime, kMaxTimePointFileTime)) << ft;
    EXPECT_EQ(filetime_fits_time_point(ft), ft >= kMinTimePointFileTime && ft <= kMaxTimePointFileTime);
  }
  EXPECT_EQ(to_filetime(from_filetime(kMinTimePointFileTime)), kMinTimePointFileTime);
  EXPECT_EQ(to_filetime(from_filetime(kMaxTimePointFileTime)), kMaxTimePointFileTime);
  EXPECT_EQ(to_filetime(std::chrono::system_clock::time_point::min()), kMinTimePointFileTime);
  EXPECT_EQ(to_filetime(std::chrono::system_clock::time_point::max()), kMaxTimePointFileTime);
  EXPECT_TRUE(filetime_fits_time_point(134400863370000000ull));
}

TEST(FileTime, FormatsEveryValueWithoutOverflow) {
  EXPECT_EQ(format_filetime(0), "1601-01-01T00:00:00.0000000Z");
  EXPECT_EQ(format_filetime(1), "1601-01-01T00:00:00.0000001Z");
  EXPECT_EQ(format_filetime(kFileTimeUnixEpoch), "1970-01-01T00:00:00.0000000Z");
  EXPECT_EQ(format_filetime(2650467743999999999ull), "9999-12-31T23:59:59.9999999Z");
  EXPECT_EQ(format_filetime(2650467744000000000ull), "FILETIME 2650467744000000000 (after year 9999)");
  EXPECT_EQ(format_filetime(9223372036854775808ull), "FILETIME 9223372036854775808 (after year 9999)");
  EXPECT_EQ(format_filetime(18446744073709551615ull), "FILETIME 18446744073709551615 (after year 9999)");
}

TEST(Hex, RoundTripsAndNamesBadOffset) {
  auto b = from_hex("0a FF:10\n");
  ASSERT_TRUE(b);
  EXPECT_EQ(to_hex(*b), "0aff10");
  auto bad = from_hex("0a0z");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_value);
  EXPECT_EQ(bad.error().offset, 3u);
  EXPECT_EQ(from_hex("abc").error().code, Errc::truncated);
}

TEST(ByteReader, ReportsTruncationWithFieldAndOffset) {
  const Bytes data{1, 2, 3};
  ByteReader r(data, 100);
  ASSERT_EQ(*r.u16("first"), 0x0201);
  auto v = r.u32("second");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::truncated);
  EXPECT_EQ(v.error().offset, 102u);
  EXPECT_NE(v.error().message().find("second"), std::string::npos);
}

TEST(ByteReader, BigAndLittleEndian) {
  const Bytes data{0x12, 0x34, 0x56, 0x78};
  ByteReader le(data), be(data);
  EXPECT_EQ(*le.u32("x"), 0x78563412u);
  EXPECT_EQ(*be.u32_be("x"), 0x12345678u);
}

TEST(ByteWriter, WritesAndPatches) {
  ByteWriter w;
  w.u8(1);
  w.align(4);
  w.u32(0);
  w.patch_u32(4, 0xAABBCCDD);
  w.u16_be(0x0102);
  EXPECT_EQ(to_hex(w.data()), "01000000ddccbbaa0102");
}

TEST(Vectors, AreReadable) {
  EXPECT_EQ(test::load_vector("v6_bind_request.hex").size(), 160u);
}

}  // namespace
}  // namespace kmslab::protocol
