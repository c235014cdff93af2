#include "kmslab/protocol/block_cipher.hpp"
#include "kmslab/protocol/kms_crypto.hpp"
#include "kmslab/protocol/random_source.hpp"
#include "kms_test_support.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <sstream>
#include <stdexcept>

namespace kmslab::protocol {
namespace {

using test::hex;
using test::hex_of;
using test::intermediate;

Block block_of(const std::string& text) {
  const Bytes b = hex(text);
  Block out{};
  if (b.size() != out.size()) throw std::runtime_error("not a block: " + text);
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

std::vector<std::string> words_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Independent reference: OpenSSL's AES-128-ECB, one block.
Block openssl_aes128_ecb(const Block& key, const Block& in) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                     EVP_CIPHER_CTX_free);
  Block out{};
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, key.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &len, in.data(), 16) != 1 || len != 16)
    throw std::runtime_error("OpenSSL AES-128-ECB failed");
  return out;
}

TEST(BlockCipher, Fips197Aes128Vector) {
  // FIPS-197 Appendix C.1.
  const BlockCipher aes(hex("000102030405060708090a0b0c0d0e0f"));
  EXPECT_EQ(aes.rounds(), 10);
  const Block plain = block_of("00112233445566778899aabbccddeeff");
  const Block cipher = aes.encrypt(plain);
  EXPECT_EQ(hex_of(cipher), "69c4e0d86a7b0430d8cdb78070b4c55a");
  EXPECT_EQ(aes.decrypt(cipher), plain);
}

TEST(BlockCipher, Fips197KeyExpansionLastRoundKey) {
  // FIPS-197 Appendix A.1: w[40..43] for key 2b7e1516...
  const BlockCipher aes(hex("2b7e151628aed2a6abf7158809cf4f3c"));
  EXPECT_EQ(hex_of(aes.round_key(10)), "d014f9a8c9ee2589e13f0cc8b6630ca6");
}

TEST(BlockCipher, MatchesOpenSslAes128OnSeededRandomKeysAndBlocks) {
  SeededRandom rng(20261125);
  for (int i = 0; i < 64; ++i) {
    Block key{}, plain{};
    rng.fill(key);
    rng.fill(plain);
    const BlockCipher aes(key);
    const Block expected = openssl_aes128_ecb(key, plain);
    EXPECT_EQ(aes.encrypt(plain), expected) << "key " << hex_of(key);
    EXPECT_EQ(aes.decrypt(expected), plain) << "key " << hex_of(key);
  }
}

TEST(BlockCipher, V5KeyScheduleAndZeroBlockMatchIntermediates) {
  const BlockCipher aes(kKmsV5Key);
  const auto round_keys = words_of(intermediate("v5_intermediates.txt", "round_keys"));
  ASSERT_EQ(round_keys.size(), 11u);
  for (std::size_t r = 0; r < round_keys.size(); ++r)
    EXPECT_EQ(hex_of(aes.round_key(r)), round_keys[r]) << "round key " << r;
  EXPECT_EQ(hex_of(aes.encrypt(Block{})), intermediate("v5_intermediates.txt", "E(zero block)"));
}

TEST(BlockCipher, V6TweakedScheduleMatchesDocumentedRoundKeys) {
  const BlockCipher& v6 = kms_v6_cipher();
  EXPECT_EQ(v6.rounds(), 10);
  const auto round_keys = words_of(intermediate("v6_intermediates.txt", "round_keys"));
  ASSERT_EQ(round_keys.size(), 11u);
  for (std::size_t r = 0; r < round_keys.size(); ++r)
    EXPECT_EQ(hex_of(v6.round_key(r)), round_keys[r]) << "round key " << r;
  // docs/protocol.md check values: only byte 0 of round keys 4, 6, 8 differs from standard.
  const BlockCipher standard(kKmsV6Key);
  EXPECT_EQ(hex_of(standard.round_key(4)).substr(0, 8), "7630e12e");
  EXPECT_EQ(hex_of(v6.round_key(4)).substr(0, 8), "0530e12e");
  EXPECT_EQ(hex_of(standard.round_key(6)).substr(0, 8), "6adec945");
  EXPECT_EQ(hex_of(v6.round_key(6)).substr(0, 8), "63dec945");
  EXPECT_EQ(hex_of(standard.round_key(8)).substr(0, 8), "0bc82943");
  EXPECT_EQ(hex_of(v6.round_key(8)).substr(0, 8), "efc82943");
  for (std::size_t r : {0u, 1u, 2u, 3u, 5u, 7u, 9u, 10u})
    EXPECT_EQ(hex_of(v6.round_key(r)), hex_of(standard.round_key(r))) << "tweak leaked into " << r;
}

TEST(BlockCipher, V6KeyScheduleCheckFile) {
  // v6_keyschedule_check.txt lists standard and tweaked rk4..rk8.
  const std::string text = test::read_text_file(test::vector_path("v6_keyschedule_check.txt"));
  const BlockCipher& v6 = kms_v6_cipher();
  const BlockCipher standard(kKmsV6Key);
  for (std::size_t r = 4; r <= 8; ++r) {
    EXPECT_NE(text.find("'" + hex_of(standard.round_key(r)) + "'"), std::string::npos) << r;
    EXPECT_NE(text.find("'" + hex_of(v6.round_key(r)) + "'"), std::string::npos) << r;
  }
  EXPECT_NE(text.find("rounds 10 v4 rounds 11"), std::string::npos);
}

TEST(BlockCipher, V6ZeroBlockCheckValue) {
  EXPECT_EQ(hex_of(kms_v6_cipher().encrypt(Block{})), "8ca59de0c483c04aa7026a22d6dd208e");
  EXPECT_EQ(hex_of(kms_v6_cipher().encrypt(Block{})),
            intermediate("v6_intermediates.txt", "E(zero block)"));
  EXPECT_EQ(kms_v6_cipher().decrypt(block_of("8ca59de0c483c04aa7026a22d6dd208e")), Block{});
}

TEST(BlockCipher, Rijndael160HasElevenRoundsAndInverts) {
  const BlockCipher& r160 = kms_v4_mac_cipher();
  EXPECT_EQ(r160.rounds(), 11);
  EXPECT_EQ(hex_of(r160.round_key(0)), "053d8307f9e5f088eb5ea6686cf037c7");
  // Words 4..5 of round key 1 start with key words 4 (e4efd2d6) and w[5] = w[0] ^ f(w[4]).
  EXPECT_EQ(hex_of(r160.round_key(1)).substr(0, 8), "e4efd2d6");
  SeededRandom rng(160);
  for (int i = 0; i < 32; ++i) {
    Block b{};
    rng.fill(b);
    EXPECT_EQ(r160.decrypt(r160.encrypt(b)), b);
    EXPECT_NE(r160.encrypt(b), b);
  }
}

TEST(BlockCipher, Rijndael160DiffersFromAes128OnTheSameLeadingBytes) {
  // A 20-byte key must not silently act as its 16-byte prefix.
  const BlockCipher r160(kKmsV4MacKey);
  const BlockCipher aes(ByteSpan(kKmsV4MacKey).first(16));
  EXPECT_NE(r160.encrypt(Block{}), aes.encrypt(Block{}));
}

TEST(BlockCipher, TweakIsAppliedAfterExpansionOnly) {
  const std::array<RoundKeyTweak, 1> tweak{{{17, 0x5A}}};
  const BlockCipher plain(kKmsV5Key);
  const BlockCipher tweaked(kKmsV5Key, tweak);
  const Bytes a(plain.round_key(1).begin(), plain.round_key(1).end());
  Bytes b(tweaked.round_key(1).begin(), tweaked.round_key(1).end());
  EXPECT_EQ(b[1], static_cast<std::uint8_t>(a[1] ^ 0x5A));
  b[1] = a[1];
  EXPECT_EQ(a, b);
  EXPECT_EQ(hex_of(plain.round_key(2)), hex_of(tweaked.round_key(2)));
  const Block x{1, 2, 3};
  EXPECT_EQ(tweaked.decrypt(tweaked.encrypt(x)), x);
  EXPECT_NE(tweaked.encrypt(x), plain.encrypt(x));
}

TEST(BlockCipher, RejectsBadKeySizesAndTweakOffsets) {
  const Bytes k15(15), k24(24), k32(32), k16(16), k20(20);
  EXPECT_THROW(BlockCipher{k15}, std::invalid_argument);
  EXPECT_THROW(BlockCipher{k24}, std::invalid_argument);
  EXPECT_THROW(BlockCipher{k32}, std::invalid_argument);
  const std::array<RoundKeyTweak, 1> past_aes{{{176, 1}}};
  EXPECT_THROW(BlockCipher(k16, past_aes), std::invalid_argument);
  EXPECT_NO_THROW(BlockCipher(k20, past_aes));  // 192-byte schedule for Nk = 5
  const std::array<RoundKeyTweak, 1> past_r160{{{192, 1}}};
  EXPECT_THROW(BlockCipher(k20, past_r160), std::invalid_argument);
  EXPECT_THROW((void)BlockCipher(k16).round_key(11), std::out_of_range);
}

}  // namespace
}  // namespace kmslab::protocol
