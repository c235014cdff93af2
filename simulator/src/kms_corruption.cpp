#include "kmslab/simulator/kms_corruption.hpp"

#include "kmslab/protocol/kms_crypto.hpp"
#include "kmslab/protocol/kms_message.hpp"

#include <algorithm>

namespace kmslab::simulator {

namespace p = kmslab::protocol;

namespace {

// Plaintext layout after the base response (docs/protocol.md).
constexpr std::size_t kEncryptedAt = 20;  // u32 version + 16-byte IV
constexpr std::size_t kSaltXorSize = 16;
constexpr std::size_t kHashSize = 32;
constexpr std::size_t kHwidSize = 8;
constexpr std::size_t kXoredIvsSize = 16;
constexpr std::size_t kHmacSize = 16;

}  // namespace

std::string_view to_string(KmsCorruption c) noexcept { return c == KmsCorruption::hash ? "hash" : "mac"; }

p::Result<p::Bytes> corrupt_kms_response(p::ByteSpan payload, KmsCorruption what) {
  auto decoded = p::decode_response(payload);
  if (!decoded) return decoded.error();
  p::Bytes out(payload.begin(), payload.end());
  const auto major = decoded->response.version.major;
  if (major == 4) {
    out.back() ^= 0x01;  // the last byte of the trailing CBC-MAC
    return out;
  }
  // Offsets inside the plaintext: the trailer starts where the base response ends.
  const std::size_t salt_at = decoded->trailer_offset - kEncryptedAt;
  const std::size_t hash_last = salt_at + kSaltXorSize + kHashSize - 1;
  const std::size_t hmac_last = salt_at + kSaltXorSize + kHashSize + kHwidSize + kXoredIvsSize + kHmacSize - 1;
  const std::size_t target = (what == KmsCorruption::mac && major == 6) ? hmac_last : hash_last;
  const auto cipher = major == 6 ? p::KmsCipher::v6 : p::KmsCipher::v5;
  p::Block iv{};
  std::copy_n(payload.begin() + 4, iv.size(), iv.begin());
  const p::ByteSpan ciphertext = payload.subspan(kEncryptedAt);
  p::Bytes plain = p::kms_cbc_decrypt(cipher, iv, ciphertext);
  if (target >= plain.size())  // decode_response proved the layout; kept as a guard
    return p::make_error(p::Errc::truncated, payload.size(), "response shorter than its trailer");
  plain[target] ^= 0x01;
  const p::Bytes again = p::kms_cbc_encrypt(cipher, iv, plain);
  std::copy(again.begin(), again.end(), out.begin() + static_cast<std::ptrdiff_t>(kEncryptedAt));
  return out;
}

}  // namespace kmslab::simulator
