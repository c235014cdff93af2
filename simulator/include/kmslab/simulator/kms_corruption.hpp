// Damaging a KMS response payload so that exactly one integrity check of the client fails
// (fault actions corrupt_hash and corrupt_mac; finding `kms.bad_response`).
//
// The payload is decrypted with the protocol's public keys, one byte of the chosen field is
// flipped in the plaintext, and the result is encrypted again under the same IV, so the PKCS#7
// pad, the version, the echoes and every other field stay valid and the client fails on the
// field named, not on some earlier check:
//   hash: v5/v6 the SHA-256 of the salt; v4 has no hash, so its MAC.
//   mac:  v6 the HMAC; v4 the CBC-MAC; v5 has no MAC, so its hash.
// Pure; no I/O.
#pragma once

#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/error.hpp"

#include <string_view>

namespace kmslab::simulator {

enum class KmsCorruption { hash, mac };

std::string_view to_string(KmsCorruption c) noexcept;

// Errors: those of protocol::decode_response for a payload that is not a valid response.
protocol::Result<protocol::Bytes> corrupt_kms_response(protocol::ByteSpan payload, KmsCorruption what);

}  // namespace kmslab::simulator
