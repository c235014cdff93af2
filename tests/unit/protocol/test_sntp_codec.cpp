// SNTP packet codec: real chrony packets, round trips, extension fields / MAC, each malformed class.
#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/sntp.hpp"

#include <gtest/gtest.h>

namespace kmslab::protocol::sntp {
namespace {

// Captured on loopback from chrony 4.3 (Debian 12). The request is what `chronyd -Q` sends: note
// the random transmit timestamp (a nonce, 1948 by its clock) instead of its real time. The reply
// is from `chronyd -x` configured with `local stratum 8`, answering a request whose transmit was
// 0123456789abcdef.
constexpr const char* kChronyRequest =
    "2300062000000000000000000000000000000000000000000000000000000000"
    "00000000000000005ba2a744fa2fd33e";
constexpr const char* kChronyReply =
    "240806e600000000000000007f7f0101eeb167706d9cf1fe0123456789abcdef"
    "eeb1677199985937eeb16771999d70ba";

Bytes hex(std::string_view h) { return from_hex(h).value(); }

Packet sample_packet() {
  Packet p;
  p.leap = LeapIndicator::add_second;
  p.version = kVersion4;
  p.mode = Mode::server;
  p.stratum = 3;
  p.poll = -6;
  p.precision = -23;
  p.root_delay = 0x0001'8000;
  p.root_dispersion = 0x0000'0042;
  p.reference_id = 0xC000'0201;
  p.reference = {0xEEB1'6770, 0x6D9C'F1FE};
  p.originate = {0x0123'4567, 0x89AB'CDEF};
  p.receive = {0xEEB1'6771, 0x9998'5937};
  p.transmit = {0xEEB1'6771, 0x999D'70BA};
  return p;
}

TEST(SntpCodec, DecodesChronyClientRequest) {
  auto p = decode(hex(kChronyRequest));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->leap, LeapIndicator::none);
  EXPECT_EQ(p->version, 4);
  EXPECT_EQ(p->mode, Mode::client);
  EXPECT_EQ(p->stratum, 0);
  EXPECT_EQ(p->poll, 6);
  EXPECT_EQ(p->precision, 32);
  EXPECT_TRUE(p->reference.is_zero());
  EXPECT_TRUE(p->originate.is_zero());
  EXPECT_TRUE(p->receive.is_zero());
  EXPECT_EQ(p->transmit, (Timestamp{0x5BA2'A744, 0xFA2F'D33E}));
  EXPECT_TRUE(p->extensions.empty());
  EXPECT_FALSE(p->mac);
}

TEST(SntpCodec, DecodesChronyServerReply) {
  auto p = decode(hex(kChronyReply));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->mode, Mode::server);
  EXPECT_EQ(p->version, 4);
  EXPECT_EQ(p->stratum, 8);
  EXPECT_EQ(p->poll, 6);
  EXPECT_EQ(p->precision, -26);
  EXPECT_EQ(p->reference_id, reference_id_from_ipv4({127, 127, 1, 1}));
  EXPECT_EQ(p->originate, (Timestamp{0x0123'4567, 0x89AB'CDEF}));
  // chronyd's log said 2026-11-25T13:56:01Z.
  using namespace std::chrono;
  const TimePoint expected = sys_days{year{2026} / 11 / 25} + 13h + 56min + 1s + 599'980'904ns;
  EXPECT_EQ(from_ntp(p->receive), expected);
}

TEST(SntpCodec, ChronyPacketsRoundTripByteForByte) {
  for (const char* h : {kChronyRequest, kChronyReply}) {
    auto p = decode(hex(h));
    ASSERT_TRUE(p);
    auto bytes = encode(*p);
    ASSERT_TRUE(bytes) << bytes.error().message();
    EXPECT_EQ(to_hex(*bytes), h);
  }
}

TEST(SntpCodec, EveryHeaderFieldRoundTrips) {
  const Packet p = sample_packet();
  auto bytes = encode(p);
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), kHeaderSize);
  EXPECT_EQ((*bytes)[0], 0x64);  // LI 1, VN 4, mode 4
  auto back = decode(*bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, p);
}

TEST(SntpCodec, ExtensionFieldsAndMacRoundTrip) {
  Packet p = sample_packet();
  p.extensions.push_back({0x0104, Bytes(12, 0xAA)});   // 16 bytes: fine before another field
  p.extensions.push_back({0x0204, Bytes(24, 0xBB)});   // 28 bytes
  p.mac = Mac{0x0000'0007, Bytes(20, 0xCC)};           // SHA-1 MAC
  auto bytes = encode(p);
  ASSERT_TRUE(bytes) << bytes.error().message();
  EXPECT_EQ(bytes->size(), kHeaderSize + 16 + 28 + 24);
  auto back = decode(*bytes);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, p);
}

TEST(SntpCodec, MacSizesAloneAreRecognised) {
  for (std::size_t digest : {0u, 16u, 20u}) {
    Packet p = sample_packet();
    p.version = kVersion3;  // NTPv3 packets carry MACs but never extension fields
    p.mac = Mac{42, Bytes(digest, 0x5A)};
    auto bytes = encode(p);
    ASSERT_TRUE(bytes);
    auto back = decode(*bytes);
    ASSERT_TRUE(back) << digest << ": " << back.error().message();
    ASSERT_TRUE(back->mac);
    EXPECT_EQ(back->mac->key_id, 42u);
    EXPECT_EQ(back->mac->digest.size(), digest);
  }
}

TEST(SntpCodec, LastExtensionWithoutMacMustBeAtLeast28Bytes) {
  Packet p = sample_packet();
  p.extensions.push_back({1, Bytes(20, 0)});  // 24 bytes: would read back as a SHA-1 MAC
  auto bytes = encode(p);
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.error().code, Errc::bad_length);
  p.extensions[0].value.resize(24);
  EXPECT_TRUE(encode(p));
}

struct Malformed {
  const char* name;
  Bytes datagram;
  Errc code;
  std::size_t offset;
};

Bytes header_with(std::uint8_t first, std::size_t trailing = 0) {
  Bytes b = hex(kChronyRequest);
  b[0] = first;
  b.resize(kHeaderSize + trailing, 0);
  return b;
}

Bytes with_extension(std::uint16_t length, std::size_t actual_trailing) {
  Bytes b = header_with(0x23, actual_trailing);
  b[kHeaderSize + 2] = static_cast<std::uint8_t>(length >> 8);
  b[kHeaderSize + 3] = static_cast<std::uint8_t>(length);
  return b;
}

TEST(SntpCodec, EachMalformedClassHasItsTypedError) {
  const std::vector<Malformed> cases = {
      {"empty", {}, Errc::truncated, 0},
      {"47 bytes", Bytes(47, 0x23), Errc::truncated, 0},
      {"oversized", Bytes(kMaxPacketSize + 1, 0x23), Errc::too_large, kMaxPacketSize},
      {"version 0", header_with(0x03), Errc::bad_version, 0},
      {"version 5", header_with(0x2B), Errc::bad_version, 0},
      {"version 7", header_with(0x3B), Errc::bad_version, 0},
      {"mode 0", header_with(0x20), Errc::bad_type, 0},
      {"mode 6 control", header_with(0x26), Errc::unsupported, 0},
      {"mode 7 private", header_with(0x27), Errc::unsupported, 0},
      {"1 trailing byte", header_with(0x23, 1), Errc::bad_length, kHeaderSize},
      {"12 trailing bytes", header_with(0x23, 12), Errc::bad_length, kHeaderSize},
      {"extension in NTPv3", header_with(0x1B, 32), Errc::bad_length, kHeaderSize},
      {"extension length 12", with_extension(12, 32), Errc::bad_length, kHeaderSize + 2},
      {"extension length 30", with_extension(30, 32), Errc::bad_length, kHeaderSize + 2},
      {"extension past the end", with_extension(64, 32), Errc::truncated, kHeaderSize + 4},
      {"extension then junk", with_extension(28, 38), Errc::bad_length, kHeaderSize + 28},
  };
  for (const auto& c : cases) {
    auto p = decode(c.datagram);
    ASSERT_FALSE(p) << c.name;
    EXPECT_EQ(p.error().code, c.code) << c.name << ": " << p.error().message();
    EXPECT_EQ(p.error().offset, c.offset) << c.name << ": " << p.error().message();
  }
}

TEST(SntpCodec, TruncationNamesTheHeader) {
  auto p = decode(Bytes(20, 0x23));
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("NTP header"), std::string::npos) << p.error().message();
}

TEST(SntpCodec, EncodeRejectsFieldsThatDoNotFit) {
  Packet p = sample_packet();
  p.version = 8;
  EXPECT_EQ(encode(p).error().code, Errc::bad_value);
  p = sample_packet();
  p.leap = static_cast<LeapIndicator>(4);
  EXPECT_EQ(encode(p).error().code, Errc::bad_value);
  p = sample_packet();
  p.mac = Mac{1, Bytes(8, 0)};
  EXPECT_EQ(encode(p).error().code, Errc::bad_value);
  p = sample_packet();
  p.version = kVersion3;
  p.extensions.push_back({1, Bytes(24, 0)});
  EXPECT_EQ(encode(p).error().code, Errc::bad_length);
  p = sample_packet();
  p.extensions.push_back({1, Bytes(26, 0)});  // not a multiple of 4
  EXPECT_EQ(encode(p).error().code, Errc::bad_length);
  p = sample_packet();
  p.extensions.push_back({1, Bytes(kMaxPacketSize, 0)});
  EXPECT_EQ(encode(p).error().code, Errc::too_large);
}

TEST(SntpCodec, DecodeNeverReadsPastAnyPrefix) {
  // Every prefix of a packet with extensions and a MAC either decodes or fails with an error;
  // ASan in the asan preset turns any overread into a failure.
  Packet p = sample_packet();
  p.extensions.push_back({7, Bytes(28, 0x11)});
  p.mac = Mac{9, Bytes(16, 0x22)};
  const Bytes full = encode(p).value();
  int decoded = 0;
  for (std::size_t n = 0; n <= full.size(); ++n) {
    auto r = decode(ByteSpan(full.data(), n));
    if (r) ++decoded;
  }
  // 48 (header only), 48+32 (extension, no MAC), 48+32+4 (+ crypto-NAK-sized MAC)... and full.
  EXPECT_GE(decoded, 2);
  EXPECT_TRUE(decode(full));
}

TEST(SntpReferenceId, AsciiCodesRoundTrip) {
  EXPECT_EQ(reference_id_from_code("RATE").value(), 0x5241'5445u);
  EXPECT_EQ(reference_id_from_code("GPS").value(), 0x4750'5300u);
  EXPECT_EQ(code_from_reference_id(0x4750'5300u), "GPS");
  EXPECT_EQ(code_from_reference_id(0x4445'4E59u), "DENY");
  EXPECT_EQ(code_from_reference_id(0x7F00'0001u), "????");  // not text: IPv4 127.0.0.1
  for (std::string_view bad : {"", "TOOLONG", "A B", "\x01"}) {
    auto r = reference_id_from_code(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::bad_value);
  }
  EXPECT_EQ(reference_id_from_ipv4({192, 0, 2, 1}), 0xC000'0201u);
}

}  // namespace
}  // namespace kmslab::protocol::sntp
