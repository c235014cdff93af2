// The cryptographic primitives of KMS v4/v5/v6 (docs/protocol.md), bytes in, bytes out.
//
// v4: CBC-MAC with Rijndael-160 (`v4_mac`). v5: AES-128-CBC, standard schedule (OpenSSL EVP).
// v6: AES-128-CBC with the tweaked key schedule (BlockCipher), and an HMAC-SHA256 whose key
// changes every ~4.12 h time slot of the response timestamp. Plus SHA-256, HMAC-SHA256 and PKCS#7.
// This header and kms_crypto.cpp are the only places that touch OpenSSL's cipher/digest API.
//
// Preconditions (block-multiple lengths) are the caller's job and are checked: a violation is a
// programmer error and throws std::invalid_argument. An OpenSSL failure (allocation) throws
// std::runtime_error. Nothing here parses untrusted structure; pkcs7_unpadded_size is the one
// check on wire data and returns a Result. All functions are thread-safe.
#pragma once

#include "kmslab/protocol/block_cipher.hpp"
#include "kmslab/protocol/bytes.hpp"

#include <array>
#include <cstdint>

namespace kmslab::protocol {

using Sha256Digest = std::array<std::uint8_t, 32>;

// §4: the v4 MAC key is 160 bits, hence Rijndael with Nk = 5.
inline constexpr std::array<std::uint8_t, 20> kKmsV4MacKey{
    0x05, 0x3D, 0x83, 0x07, 0xF9, 0xE5, 0xF0, 0x88, 0xEB, 0x5E,
    0xA6, 0x68, 0x6C, 0xF0, 0x37, 0xC7, 0xE4, 0xEF, 0xD2, 0xD6};
inline constexpr Block kKmsV5Key{0xCD, 0x7E, 0x79, 0x6F, 0x2A, 0xB2, 0x5D, 0xCB,
                                 0x55, 0xFF, 0xC8, 0xEF, 0x83, 0x64, 0xC4, 0x70};
inline constexpr Block kKmsV6Key{0xA9, 0x4A, 0x41, 0x95, 0xE2, 0x01, 0x43, 0x2D,
                                 0x9B, 0xCB, 0x46, 0x04, 0x05, 0xD8, 0x4A, 0x21};
// §5: applied to the finished AES-128 schedule (round keys 4, 6 and 8, byte 0).
inline constexpr std::array<RoundKeyTweak, 3> kKmsV6ScheduleTweaks{
    {{64, 0x73}, {96, 0x09}, {128, 0xE4}}};

// §5.1: slot = floor(T / C1) * C2 + C3, in wrapping u64 arithmetic.
inline constexpr std::uint64_t kV6SlotC1 = 0x00000022816889BDull;
inline constexpr std::uint64_t kV6SlotC2 = 0x000000208CBAB5EDull;
inline constexpr std::uint64_t kV6SlotC3 = 0x3156CD5AC628477Aull;

// Which AES-128 variant a v5/v6 payload is encrypted with.
enum class KmsCipher { v5, v6 };

const BlockCipher& kms_v4_mac_cipher();  // Rijndael-160, 11 rounds
const BlockCipher& kms_v6_cipher();      // AES-128 with kKmsV6ScheduleTweaks

// §4: pad with 0x80 then zeros to a whole block (a full block if already aligned), then CBC with
// a zero IV; the MAC is the last cipher block.
Block kms_v4_mac(ByteSpan message);

Block kms_encrypt_block(KmsCipher cipher, const Block& block);
Block kms_decrypt_block(KmsCipher cipher, const Block& block);
// CBC without padding. REQUIRES: data.size() % 16 == 0.
Bytes kms_cbc_encrypt(KmsCipher cipher, const Block& iv, ByteSpan plaintext);
Bytes kms_cbc_decrypt(KmsCipher cipher, const Block& iv, ByteSpan ciphertext);

Sha256Digest sha256(ByteSpan data);
Sha256Digest hmac_sha256(ByteSpan key, ByteSpan message);

// §5.1. `slot_offset` shifts the slot by whole multiples of C1 (added to the final slot value, as
// vlmcs does when it tolerates -1/+1); a host always uses 0.
std::uint64_t kms_v6_time_slot(std::uint64_t filetime, int slot_offset = 0);
// Second half of SHA-256(slot as 8 little-endian bytes).
Block kms_v6_hmac_key(std::uint64_t filetime, int slot_offset = 0);
// Second half of HMAC-SHA256(kms_v6_hmac_key(filetime, slot_offset), message).
Block kms_v6_hmac_tag(std::uint64_t filetime, ByteSpan message, int slot_offset = 0);

// PKCS#7 to a 16-byte boundary: always adds 1..16 bytes of value n.
Bytes pkcs7_pad(ByteSpan data);
// Size of `data` without its PKCS#7 pad. Errors (Errc::bad_integrity, offset = index of the bad
// byte relative to `data` plus `base_offset`): empty input, pad byte 0 or > 16, pad longer than
// the data, pad bytes that differ.
Result<std::size_t> pkcs7_unpadded_size(ByteSpan data, std::size_t base_offset = 0);

Block xor_blocks(const Block& a, const Block& b) noexcept;

// Comparison whose time does not depend on where the inputs differ. Different sizes -> false.
bool equal_constant_time(ByteSpan a, ByteSpan b) noexcept;

}  // namespace kmslab::protocol
