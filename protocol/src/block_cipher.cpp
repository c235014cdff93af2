#include "kmslab/protocol/block_cipher.hpp"

#include <bit>
#include <stdexcept>
#include <string>

namespace kmslab::protocol {

namespace {

using Table = std::array<std::uint8_t, 256>;

constexpr std::uint8_t xtime(std::uint8_t x) {
  return static_cast<std::uint8_t>((x << 1) ^ ((x & 0x80) != 0 ? 0x1B : 0x00));
}

// Multiplication in GF(2^8) modulo the Rijndael polynomial x^8 + x^4 + x^3 + x + 1.
constexpr std::uint8_t gf_mul(std::uint8_t a, std::uint8_t b) {
  std::uint8_t product = 0;
  while (b != 0) {
    if ((b & 1) != 0) product = static_cast<std::uint8_t>(product ^ a);
    a = xtime(a);
    b = static_cast<std::uint8_t>(b >> 1);
  }
  return product;
}

constexpr std::uint8_t rotl8(std::uint8_t x, int n) {
  return static_cast<std::uint8_t>((x << n) | (x >> (8 - n)));
}

// The S-box is derived (multiplicative inverse, then the affine map) rather than typed in, so a
// mistyped table entry cannot hide; FIPS-197 test vectors in the tests pin the result.
constexpr Table make_sbox() {
  Table box{};
  for (int x = 0; x < 256; ++x) {
    std::uint8_t inverse = 0;
    if (x != 0) {
      // x^254 = x^-1 in GF(2^8).
      std::uint8_t power = static_cast<std::uint8_t>(x);
      inverse = 1;
      for (int e = 254; e != 0; e >>= 1) {
        if ((e & 1) != 0) inverse = gf_mul(inverse, power);
        power = gf_mul(power, power);
      }
    }
    box[static_cast<std::size_t>(x)] =
        static_cast<std::uint8_t>(inverse ^ rotl8(inverse, 1) ^ rotl8(inverse, 2) ^
                                  rotl8(inverse, 3) ^ rotl8(inverse, 4) ^ 0x63);
  }
  return box;
}

constexpr Table make_inverse(const Table& box) {
  Table inverse{};
  for (std::size_t x = 0; x < 256; ++x) inverse[box[x]] = static_cast<std::uint8_t>(x);
  return inverse;
}

constexpr Table make_mul(std::uint8_t factor) {
  Table t{};
  for (std::size_t x = 0; x < 256; ++x) t[x] = gf_mul(static_cast<std::uint8_t>(x), factor);
  return t;
}

constexpr Table kSbox = make_sbox();
constexpr Table kInvSbox = make_inverse(kSbox);
constexpr Table kMul2 = make_mul(2), kMul3 = make_mul(3);
constexpr Table kMul9 = make_mul(9), kMul11 = make_mul(11), kMul13 = make_mul(13), kMul14 = make_mul(14);
static_assert(kSbox[0x00] == 0x63 && kSbox[0x53] == 0xED && kInvSbox[0x63] == 0x00);

// Round tables: the contribution of one input byte to its output column after SubBytes (or its
// inverse) and MixColumns (or its inverse), packed little-endian (row r in bits 8r..8r+7). A
// byte in row r contributes the row-0 table rotated left by 8r bits, so one table per direction
// serves all four rows.
using WordTable = std::array<std::uint32_t, 256>;

constexpr std::uint32_t pack(std::uint8_t r0, std::uint8_t r1, std::uint8_t r2, std::uint8_t r3) {
  return static_cast<std::uint32_t>(r0) | static_cast<std::uint32_t>(r1) << 8 |
         static_cast<std::uint32_t>(r2) << 16 | static_cast<std::uint32_t>(r3) << 24;
}

constexpr WordTable make_encrypt_table() {
  WordTable t{};
  for (std::size_t x = 0; x < 256; ++x) {
    const std::uint8_t v = kSbox[x];
    t[x] = pack(kMul2[v], v, v, kMul3[v]);  // MixColumns column (2, 1, 1, 3)
  }
  return t;
}

constexpr WordTable make_decrypt_table() {
  WordTable t{};
  for (std::size_t x = 0; x < 256; ++x) {
    const std::uint8_t v = kInvSbox[x];
    t[x] = pack(kMul14[v], kMul9[v], kMul13[v], kMul11[v]);  // InvMixColumns column (14, 9, 13, 11)
  }
  return t;
}

constexpr WordTable kEncrypt = make_encrypt_table();
constexpr WordTable kDecrypt = make_decrypt_table();

constexpr std::uint8_t byte_of(std::uint32_t w, int row) { return static_cast<std::uint8_t>(w >> (8 * row)); }

// Bytes are in FIPS-197 input order: state byte (row r, column c) is block[r + 4c].
std::array<std::uint32_t, 4> load_columns(const Block& b) {
  std::array<std::uint32_t, 4> w{};
  for (std::size_t c = 0; c < 4; ++c) w[c] = pack(b[4 * c], b[4 * c + 1], b[4 * c + 2], b[4 * c + 3]);
  return w;
}

Block store_columns(const std::array<std::uint32_t, 4>& w) {
  Block b{};
  for (std::size_t c = 0; c < 4; ++c)
    for (int r = 0; r < 4; ++r) b[4 * c + static_cast<std::size_t>(r)] = byte_of(w[c], r);
  return b;
}

// InvMixColumns of one packed column (for the decryption round keys).
std::uint32_t inv_mix_column(std::uint32_t w) {
  const std::uint8_t a0 = byte_of(w, 0), a1 = byte_of(w, 1), a2 = byte_of(w, 2), a3 = byte_of(w, 3);
  return pack(static_cast<std::uint8_t>(kMul14[a0] ^ kMul11[a1] ^ kMul13[a2] ^ kMul9[a3]),
              static_cast<std::uint8_t>(kMul9[a0] ^ kMul14[a1] ^ kMul11[a2] ^ kMul13[a3]),
              static_cast<std::uint8_t>(kMul13[a0] ^ kMul9[a1] ^ kMul14[a2] ^ kMul11[a3]),
              static_cast<std::uint8_t>(kMul11[a0] ^ kMul13[a1] ^ kMul9[a2] ^ kMul14[a3]));
}

}  // namespace

BlockCipher::BlockCipher(ByteSpan key, std::span<const RoundKeyTweak> tweaks) {
  if (key.size() != 16 && key.size() != 20)
    throw std::invalid_argument("BlockCipher: key must be 16 or 20 bytes, got " +
                                std::to_string(key.size()));
  const std::size_t nk = key.size() / 4;        // key length in 32-bit words
  rounds_ = static_cast<int>(nk) + 6;           // Nr = max(Nk, Nb) + 6 with Nb = 4
  const std::size_t words = 4 * (nk + 7);       // Nb * (Nr + 1)

  auto* w = schedule_.data();
  for (std::size_t i = 0; i < key.size(); ++i) w[i] = key[i];
  std::uint8_t rcon = 0x01;
  for (std::size_t i = nk; i < words; ++i) {
    std::uint8_t temp[4] = {w[4 * i - 4], w[4 * i - 3], w[4 * i - 2], w[4 * i - 1]};
    if (i % nk == 0) {
      const std::uint8_t first = temp[0];  // RotWord, SubWord, then Rcon on the first byte
      temp[0] = static_cast<std::uint8_t>(kSbox[temp[1]] ^ rcon);
      temp[1] = kSbox[temp[2]];
      temp[2] = kSbox[temp[3]];
      temp[3] = kSbox[first];
      rcon = xtime(rcon);
    }
    // Nk = 8 would also need SubWord at i % Nk == 4; KMS never uses 256-bit keys.
    for (std::size_t j = 0; j < 4; ++j)
      w[4 * i + j] = static_cast<std::uint8_t>(w[4 * (i - nk) + j] ^ temp[j]);
  }

  for (const auto& t : tweaks) {
    if (t.offset >= 4 * words)
      throw std::invalid_argument("BlockCipher: tweak offset " + std::to_string(t.offset) +
                                  " outside the " + std::to_string(4 * words) + "-byte schedule");
    w[t.offset] = static_cast<std::uint8_t>(w[t.offset] ^ t.xor_value);
  }

  // Word forms of the finished (tweaked) schedule. Decryption runs the equivalent inverse cipher
  // (FIPS-197 5.3.5): the same round structure as encryption, with InvMixColumns applied to
  // round keys 1 .. Nr-1, which is exact because InvMixColumns is linear.
  const std::size_t nr = static_cast<std::size_t>(rounds_);
  for (std::size_t i = 0; i < words; ++i) {
    encrypt_keys_[i] = pack(w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]);
    const std::size_t round = i / 4;
    decrypt_keys_[i] = (round == 0 || round == nr) ? encrypt_keys_[i] : inv_mix_column(encrypt_keys_[i]);
  }
}

ByteSpan BlockCipher::round_key(std::size_t round) const {
  if (round > static_cast<std::size_t>(rounds_))
    throw std::out_of_range("BlockCipher: no round key " + std::to_string(round));
  return ByteSpan(schedule_).subspan(16 * round, 16);
}

// Each round computes output column c from row r of input column c + r (ShiftRows) or c - r
// (InvShiftRows), one table look-up per byte. Written out per column so the state stays in
// registers.
namespace {

// One output column of a middle round: the four input bytes' table words, each rotated to its
// row, and the round key.
inline std::uint32_t round_column(const WordTable& table, std::uint32_t a, std::uint32_t b, std::uint32_t c,
                                  std::uint32_t d, std::uint32_t key) {
  return table[byte_of(a, 0)] ^ std::rotl(table[byte_of(b, 1)], 8) ^ std::rotl(table[byte_of(c, 2)], 16) ^
         std::rotl(table[byte_of(d, 3)], 24) ^ key;
}

// One output column of the last round (no MixColumns): the S-box bytes and the round key.
inline std::uint32_t last_column(const Table& box, std::uint32_t a, std::uint32_t b, std::uint32_t c,
                                 std::uint32_t d, std::uint32_t key) {
  return pack(box[byte_of(a, 0)], box[byte_of(b, 1)], box[byte_of(c, 2)], box[byte_of(d, 3)]) ^ key;
}

}  // namespace

Block BlockCipher::encrypt(const Block& in) const noexcept {
  const std::size_t nr = static_cast<std::size_t>(rounds_);
  const std::uint32_t* k = encrypt_keys_.data();
  const auto w = load_columns(in);
  std::uint32_t s0 = w[0] ^ k[0], s1 = w[1] ^ k[1], s2 = w[2] ^ k[2], s3 = w[3] ^ k[3];
  for (std::size_t round = 1; round < nr; ++round) {
    const std::uint32_t* rk = k + 4 * round;
    const std::uint32_t t0 = round_column(kEncrypt, s0, s1, s2, s3, rk[0]);
    const std::uint32_t t1 = round_column(kEncrypt, s1, s2, s3, s0, rk[1]);
    const std::uint32_t t2 = round_column(kEncrypt, s2, s3, s0, s1, rk[2]);
    const std::uint32_t t3 = round_column(kEncrypt, s3, s0, s1, s2, rk[3]);
    s0 = t0, s1 = t1, s2 = t2, s3 = t3;
  }
  const std::uint32_t* rk = k + 4 * nr;
  return store_columns({last_column(kSbox, s0, s1, s2, s3, rk[0]), last_column(kSbox, s1, s2, s3, s0, rk[1]),
                        last_column(kSbox, s2, s3, s0, s1, rk[2]), last_column(kSbox, s3, s0, s1, s2, rk[3])});
}

Block BlockCipher::decrypt(const Block& in) const noexcept {
  const std::size_t nr = static_cast<std::size_t>(rounds_);
  const std::uint32_t* k = decrypt_keys_.data();
  const auto w = load_columns(in);
  const std::uint32_t* last = k + 4 * nr;
  std::uint32_t s0 = w[0] ^ last[0], s1 = w[1] ^ last[1], s2 = w[2] ^ last[2], s3 = w[3] ^ last[3];
  for (std::size_t round = nr - 1; round >= 1; --round) {
    const std::uint32_t* rk = k + 4 * round;
    const std::uint32_t t0 = round_column(kDecrypt, s0, s3, s2, s1, rk[0]);
    const std::uint32_t t1 = round_column(kDecrypt, s1, s0, s3, s2, rk[1]);
    const std::uint32_t t2 = round_column(kDecrypt, s2, s1, s0, s3, rk[2]);
    const std::uint32_t t3 = round_column(kDecrypt, s3, s2, s1, s0, rk[3]);
    s0 = t0, s1 = t1, s2 = t2, s3 = t3;
  }
  return store_columns({last_column(kInvSbox, s0, s3, s2, s1, k[0]), last_column(kInvSbox, s1, s0, s3, s2, k[1]),
                        last_column(kInvSbox, s2, s1, s0, s3, k[2]), last_column(kInvSbox, s3, s2, s1, s0, k[3])});
}

}  // namespace kmslab::protocol
