#include "kmslab/protocol/block_cipher.hpp"

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

// Bytes are in FIPS-197 input order: state byte (row r, column c) is block[r + 4c].
void add_round_key(Block& s, const std::uint8_t* rk) {
  for (std::size_t i = 0; i < 16; ++i) s[i] = static_cast<std::uint8_t>(s[i] ^ rk[i]);
}

void sub_bytes(Block& s, const Table& box) {
  for (auto& b : s) b = box[b];
}

void shift_rows(Block& s) {
  const Block in = s;
  for (std::size_t r = 1; r < 4; ++r)
    for (std::size_t c = 0; c < 4; ++c) s[r + 4 * c] = in[r + 4 * ((c + r) % 4)];
}

void inv_shift_rows(Block& s) {
  const Block in = s;
  for (std::size_t r = 1; r < 4; ++r)
    for (std::size_t c = 0; c < 4; ++c) s[r + 4 * ((c + r) % 4)] = in[r + 4 * c];
}

void mix_columns(Block& s) {
  for (std::size_t c = 0; c < 16; c += 4) {
    const std::uint8_t a0 = s[c], a1 = s[c + 1], a2 = s[c + 2], a3 = s[c + 3];
    s[c] = static_cast<std::uint8_t>(kMul2[a0] ^ kMul3[a1] ^ a2 ^ a3);
    s[c + 1] = static_cast<std::uint8_t>(a0 ^ kMul2[a1] ^ kMul3[a2] ^ a3);
    s[c + 2] = static_cast<std::uint8_t>(a0 ^ a1 ^ kMul2[a2] ^ kMul3[a3]);
    s[c + 3] = static_cast<std::uint8_t>(kMul3[a0] ^ a1 ^ a2 ^ kMul2[a3]);
  }
}

void inv_mix_columns(Block& s) {
  for (std::size_t c = 0; c < 16; c += 4) {
    const std::uint8_t a0 = s[c], a1 = s[c + 1], a2 = s[c + 2], a3 = s[c + 3];
    s[c] = static_cast<std::uint8_t>(kMul14[a0] ^ kMul11[a1] ^ kMul13[a2] ^ kMul9[a3]);
    s[c + 1] = static_cast<std::uint8_t>(kMul9[a0] ^ kMul14[a1] ^ kMul11[a2] ^ kMul13[a3]);
    s[c + 2] = static_cast<std::uint8_t>(kMul13[a0] ^ kMul9[a1] ^ kMul14[a2] ^ kMul11[a3]);
    s[c + 3] = static_cast<std::uint8_t>(kMul11[a0] ^ kMul13[a1] ^ kMul9[a2] ^ kMul14[a3]);
  }
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
}

ByteSpan BlockCipher::round_key(std::size_t round) const {
  if (round > static_cast<std::size_t>(rounds_))
    throw std::out_of_range("BlockCipher: no round key " + std::to_string(round));
  return ByteSpan(schedule_).subspan(16 * round, 16);
}

Block BlockCipher::encrypt(const Block& in) const noexcept {
  Block s = in;
  const std::size_t nr = static_cast<std::size_t>(rounds_);
  add_round_key(s, schedule_.data());
  for (std::size_t round = 1; round < nr; ++round) {
    sub_bytes(s, kSbox);
    shift_rows(s);
    mix_columns(s);
    add_round_key(s, schedule_.data() + 16 * round);
  }
  sub_bytes(s, kSbox);
  shift_rows(s);
  add_round_key(s, schedule_.data() + 16 * nr);
  return s;
}

Block BlockCipher::decrypt(const Block& in) const noexcept {
  Block s = in;
  const std::size_t nr = static_cast<std::size_t>(rounds_);
  add_round_key(s, schedule_.data() + 16 * nr);
  for (std::size_t round = nr - 1; round >= 1; --round) {
    inv_shift_rows(s);
    sub_bytes(s, kInvSbox);
    add_round_key(s, schedule_.data() + 16 * round);
    inv_mix_columns(s);
  }
  inv_shift_rows(s);
  sub_bytes(s, kInvSbox);
  add_round_key(s, schedule_.data());
  return s;
}

}  // namespace kmslab::protocol
