#include "kmslab/protocol/kms_crypto.hpp"
#include "kmslab/protocol/random_source.hpp"
#include "kms_test_support.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string_view>

namespace kmslab::protocol {
namespace {

using test::hex;
using test::hex_of;
using test::intermediate;

Bytes text_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

Block first_block(ByteSpan b) {
  Block out{};
  std::copy(b.begin(), b.begin() + 16, out.begin());
  return out;
}

TEST(KmsCrypto, V4MacOfCapturedRequestAndResponse) {
  const Bytes request = hex(intermediate("v4_intermediates.txt", "kms_request_payload_hex"));
  ASSERT_EQ(request.size(), 252u);
  EXPECT_EQ(hex_of(kms_v4_mac(ByteSpan(request).first(236))), "d16407921966235bd20d11e0beb1ccf3");
  const Bytes response = hex(intermediate("v4_intermediates.txt", "kms_response_payload_hex"));
  ASSERT_EQ(response.size(), 160u);
  EXPECT_EQ(hex_of(kms_v4_mac(ByteSpan(response).first(144))), hex_of(ByteSpan(response).last(16)));
}

TEST(KmsCrypto, V4MacPadsAlignedMessagesWithAFullBlock) {
  // 16 bytes -> two blocks (data, then 80 00..). Recompute by hand with the raw cipher.
  const Bytes msg(16, 0xAB);
  const BlockCipher& c = kms_v4_mac_cipher();
  Block b1{};
  std::fill(b1.begin(), b1.end(), 0xAB);
  Block s = c.encrypt(b1);
  s[0] = static_cast<std::uint8_t>(s[0] ^ 0x80);
  EXPECT_EQ(kms_v4_mac(msg), c.encrypt(s));
  // Empty message: one block 80 00 .. 00.
  Block pad{};
  pad[0] = 0x80;
  EXPECT_EQ(kms_v4_mac({}), c.encrypt(pad));
  // A one-byte change anywhere changes the MAC.
  Bytes other = msg;
  other[15] ^= 1;
  EXPECT_NE(kms_v4_mac(other), kms_v4_mac(msg));
}

TEST(KmsCrypto, V5CbcDecryptsCapturedRequest) {
  const Bytes payload = hex(intermediate("v5_intermediates.txt", "kms_request_payload_hex"));
  const Block iv = first_block(ByteSpan(payload).subspan(4));
  const Bytes plain = kms_cbc_decrypt(KmsCipher::v5, iv, ByteSpan(payload).subspan(20));
  EXPECT_EQ(hex_of(plain), intermediate("v5_intermediates.txt", "request_plaintext_236_plus_pad"));
  EXPECT_EQ(hex_of(kms_decrypt_block(KmsCipher::v5, iv)),
            intermediate("v5_intermediates.txt", "D(request IV)"));
  EXPECT_EQ(kms_cbc_encrypt(KmsCipher::v5, iv, plain), Bytes(payload.begin() + 20, payload.end()));
}

TEST(KmsCrypto, V6CbcDecryptsCapturedRequestAndResponse) {
  const Bytes payload = hex(intermediate("v6_intermediates.txt", "kms_request_payload_hex"));
  const Block iv = first_block(ByteSpan(payload).subspan(4));
  const Bytes plain = kms_cbc_decrypt(KmsCipher::v6, iv, ByteSpan(payload).subspan(20));
  EXPECT_EQ(hex_of(plain), intermediate("v6_intermediates.txt", "request_plaintext_236_plus_pad"));
  EXPECT_EQ(hex_of(kms_decrypt_block(KmsCipher::v6, iv)),
            intermediate("v6_intermediates.txt", "D(request IV)"));
  EXPECT_EQ(kms_cbc_encrypt(KmsCipher::v6, iv, plain), Bytes(payload.begin() + 20, payload.end()));

  // The response decrypted from its IV field with a zero chaining value starts with R.
  const Bytes response = hex(intermediate("v6_intermediates.txt", "kms_response_payload_hex"));
  const Bytes from_iv = kms_cbc_decrypt(KmsCipher::v6, Block{}, ByteSpan(response).subspan(4));
  EXPECT_EQ(hex_of(from_iv),
            intermediate("v6_intermediates.txt", "response_plaintext_from_IV_field_incl_pad"));
}

TEST(KmsCrypto, V5EvpAndBlockCipherAgree) {
  const BlockCipher aes(kKmsV5Key);
  SeededRandom rng(5);
  for (int i = 0; i < 16; ++i) {
    Block b{};
    rng.fill(b);
    EXPECT_EQ(kms_encrypt_block(KmsCipher::v5, b), aes.encrypt(b));
    EXPECT_EQ(kms_decrypt_block(KmsCipher::v5, b), aes.decrypt(b));
  }
}

TEST(KmsCrypto, CbcRoundTripsAndRejectsPartialBlocks) {
  SeededRandom rng(7);
  Bytes data(96);
  rng.fill(data);
  Block iv{};
  rng.fill(iv);
  for (KmsCipher c : {KmsCipher::v5, KmsCipher::v6}) {
    const Bytes ct = kms_cbc_encrypt(c, iv, data);
    EXPECT_EQ(ct.size(), data.size());
    EXPECT_NE(ct, data);
    EXPECT_EQ(kms_cbc_decrypt(c, iv, ct), data);
    EXPECT_TRUE(kms_cbc_encrypt(c, iv, {}).empty());
    EXPECT_THROW(kms_cbc_encrypt(c, iv, ByteSpan(data).first(15)), std::invalid_argument);
    EXPECT_THROW(kms_cbc_decrypt(c, iv, ByteSpan(data).first(17)), std::invalid_argument);
  }
  EXPECT_NE(kms_cbc_encrypt(KmsCipher::v5, iv, data), kms_cbc_encrypt(KmsCipher::v6, iv, data));
}

TEST(KmsCrypto, Sha256AndHmacKnownAnswers) {
  EXPECT_EQ(hex_of(sha256(text_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(hex_of(hmac_sha256(text_bytes("Jefe"), text_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(KmsCrypto, V6TimeSlotKeyAndTagMatchDocumentedExample) {
  constexpr std::uint64_t kTime = 134400863370000000ull;
  EXPECT_EQ(kms_v6_time_slot(kTime), 0x331939c4da760b62ull);
  EXPECT_EQ(hex_of(kms_v6_hmac_key(kTime)), "089dde93ef1baa4f536f34f80a7af1bf");
  // The HMAC input is R ‖ base response ‖ SaltXor ‖ Hash ‖ HwId ‖ XoredIVs, i.e. the decrypted
  // response from its IV field without the tag and the pad.
  const Bytes plain = hex(intermediate("v6_intermediates.txt", "response_plaintext_from_IV_field_incl_pad"));
  const ByteSpan message = ByteSpan(plain).first(plain.size() - 8 - 16);
  EXPECT_EQ(hex_of(hmac_sha256(kms_v6_hmac_key(kTime), message)),
            "e53f635d22117b7c8156407816457e843a2e3ae20e7c88760c58af82cff11c4a");
  EXPECT_EQ(hex_of(kms_v6_hmac_tag(kTime, message)), "3a2e3ae20e7c88760c58af82cff11c4a");
  EXPECT_NE(kms_v6_hmac_tag(kTime, message, 1), kms_v6_hmac_tag(kTime, message));
}

TEST(KmsCrypto, V6SlotOffsetAddsWholeC1ToTheSlotValue) {
  constexpr std::uint64_t kTime = 134400863370000000ull;
  EXPECT_EQ(kms_v6_time_slot(kTime, 1), kms_v6_time_slot(kTime) + kV6SlotC1);
  EXPECT_EQ(kms_v6_time_slot(kTime, -1), kms_v6_time_slot(kTime) - kV6SlotC1);
  // Same slot for every time inside one C1 interval, a new one at the boundary.
  const std::uint64_t start = kTime / kV6SlotC1 * kV6SlotC1;
  EXPECT_EQ(kms_v6_time_slot(start), kms_v6_time_slot(start + kV6SlotC1 - 1));
  EXPECT_EQ(kms_v6_time_slot(start + kV6SlotC1), kms_v6_time_slot(start) + kV6SlotC2);
}

TEST(KmsCrypto, Pkcs7PadsOneToSixteenBytes) {
  for (std::size_t n = 0; n <= 33; ++n) {
    const Bytes data(n, 0xEE);
    const Bytes padded = pkcs7_pad(data);
    const std::size_t pad = 16 - n % 16;
    ASSERT_EQ(padded.size(), n + pad) << n;
    EXPECT_EQ(padded.back(), pad) << n;
    auto size = pkcs7_unpadded_size(padded);
    ASSERT_TRUE(size) << n;
    EXPECT_EQ(*size, n);
  }
}

TEST(KmsCrypto, Pkcs7RejectsBadPads) {
  auto expect_bad = [](const Bytes& data, std::size_t offset) {
    auto r = pkcs7_unpadded_size(data, 100);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::bad_integrity);
    EXPECT_EQ(r.error().offset, 100 + offset);
    EXPECT_NE(r.error().detail.find("PKCS#7"), std::string::npos);
  };
  expect_bad({}, 0);
  expect_bad(Bytes(16, 0x00), 15);                 // pad byte 0
  expect_bad(Bytes(32, 0x11), 31);                 // pad byte 17
  expect_bad(Bytes{3, 3}, 0);                      // pad longer than the data
  Bytes uneven(16, 0x04);
  uneven[13] = 0x05;                               // 04 04 05 04: differs inside the pad
  expect_bad(uneven, 13);
  Bytes ok(16, 0x04);
  EXPECT_EQ(*pkcs7_unpadded_size(ok), 12u);
}

TEST(KmsCrypto, ConstantTimeEqual) {
  const Bytes a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4}, d{1, 2};
  EXPECT_TRUE(equal_constant_time(a, b));
  EXPECT_FALSE(equal_constant_time(a, c));
  EXPECT_FALSE(equal_constant_time(a, d));
  EXPECT_TRUE(equal_constant_time({}, {}));
}

TEST(RandomSource, ReplayHandsOutBytesInOrderAndRefusesToInvent) {
  ReplayRandom rng(Bytes{1, 2, 3, 4, 5});
  std::array<std::uint8_t, 2> a{};
  std::array<std::uint8_t, 3> b{};
  rng.fill(a);
  rng.fill(b);
  EXPECT_EQ(a, (std::array<std::uint8_t, 2>{1, 2}));
  EXPECT_EQ(b, (std::array<std::uint8_t, 3>{3, 4, 5}));
  EXPECT_EQ(rng.remaining(), 0u);
  std::array<std::uint8_t, 1> c{};
  EXPECT_THROW(rng.fill(c), std::out_of_range);
}

TEST(RandomSource, SeededIsDeterministicAndSeedSensitive) {
  auto draw = [](std::uint64_t seed) {
    SeededRandom rng(seed);
    Bytes out(40);
    rng.fill(std::span<std::uint8_t>(out).first(3));
    rng.fill(std::span<std::uint8_t>(out).subspan(3));
    return out;
  };
  EXPECT_EQ(draw(1), draw(1));
  EXPECT_NE(draw(1), draw(2));
  // Splitting a draw does not change the stream: bytes are consumed one by one from each word.
  SeededRandom whole(1);
  Bytes one(40);
  whole.fill(one);
  EXPECT_EQ(one, draw(1));
  // The C++ standard fixes mt19937_64(5489)'s 10000th output at 9981545732273789042, so the
  // stream (and every seed printed in a report) is the same on every implementation.
  SeededRandom standard(5489);
  Bytes words(8 * 10000);
  standard.fill(words);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{words[words.size() - 8 + i]} << (8 * i);
  EXPECT_EQ(v, 9981545732273789042ull);
}

TEST(RandomSource, SplitMixIsTheReferenceSequenceAndSplitsFreely) {
  // SplitMix64 from state 0: the reference implementation's first two outputs.
  SplitMixRandom rng(0);
  Bytes out(16);
  rng.fill(std::span<std::uint8_t>(out).first(5));
  rng.fill(std::span<std::uint8_t>(out).subspan(5));
  auto word = [&](std::size_t at) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{out[at + i]} << (8 * i);
    return v;
  };
  EXPECT_EQ(word(0), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(word(8), 0x6E789E6AA1B965F4ull);
  SplitMixRandom other(1);
  Bytes differs(16);
  other.fill(differs);
  EXPECT_NE(out, differs);
}

TEST(RandomSource, OsRandomFillsDistinctBlocks) {
  OsRandom rng;
  std::set<Bytes> seen;
  for (int i = 0; i < 8; ++i) {
    Bytes b(16);
    rng.fill(b);
    seen.insert(b);
  }
  EXPECT_EQ(seen.size(), 8u);  // a repeat has probability ~2^-122
}

}  // namespace
}  // namespace kmslab::protocol
