// One small Rijndael implementation (128-bit block) for the two non-standard ciphers KMS uses.
//
// KMS v4 signs messages with Rijndael keyed by 160 bits (Nk = 5, 11 rounds), which no crypto
// library offers, and KMS v6 encrypts with AES-128 whose expanded key has three bytes flipped
// after expansion. BlockCipher covers both: the key size picks Nk (16 bytes -> 10 rounds, 20 bytes
// -> 11 rounds), the schedule is the ordinary Rijndael expansion, and an optional list of
// {byte offset, xor value} tweaks is applied to the finished schedule (so a tweak never propagates
// into later round keys). Decryption uses the same, tweaked, round keys in reverse order.
//
// Plain AES-128 (KMS v5) goes through OpenSSL in kms_crypto; this class is checked against it.
// Not hardened against timing side channels (table look-ups): kmslab is a test tool and its keys
// are public constants. Objects are immutable after construction and safe to share across threads.
#pragma once

#include "kmslab/protocol/bytes.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace kmslab::protocol {

using Block = std::array<std::uint8_t, 16>;

// XOR `xor_value` into byte `offset` of the expanded key schedule (round key r = bytes 16r..16r+15).
struct RoundKeyTweak {
  std::size_t offset = 0;
  std::uint8_t xor_value = 0;
};

class BlockCipher {
 public:
  static constexpr std::size_t kBlockSize = 16;
  static constexpr int kMaxRounds = 11;

  // REQUIRES: key.size() is 16 or 20; every tweak offset < 16 * (rounds() + 1).
  // Violations are programmer errors (the keys are constants) and throw std::invalid_argument.
  explicit BlockCipher(ByteSpan key, std::span<const RoundKeyTweak> tweaks = {});

  Block encrypt(const Block& in) const noexcept;
  Block decrypt(const Block& in) const noexcept;

  int rounds() const noexcept { return rounds_; }
  // The 16 bytes of round key `round` (0 ..= rounds()), after tweaks.
  // REQUIRES: round <= rounds() (throws std::out_of_range otherwise).
  ByteSpan round_key(std::size_t round) const;

 private:
  std::array<std::uint8_t, kBlockSize*(kMaxRounds + 1)> schedule_{};
  // The schedule as little-endian column words, and the equivalent-inverse-cipher keys.
  std::array<std::uint32_t, 4 * (kMaxRounds + 1)> encrypt_keys_{};
  std::array<std::uint32_t, 4 * (kMaxRounds + 1)> decrypt_keys_{};
  int rounds_ = 0;
};

}  // namespace kmslab::protocol
