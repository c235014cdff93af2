// KMS activation messages v4, v5 and v6 (docs/protocol.md): the decoded request and
// response, and both sides of one exchange as pure functions.
//
//   client: build_request(KmsRequest, rng)            -> ClientRequest (wire payload + what
//           verify_response(payload, ClientRequest)   -> VerifiedResponse   verifying needs)
//   host:   parse_request(payload)                     -> HostRequest
//           build_response(KmsResponse, HostRequest, rng) -> wire payload
//
// "Payload" is the KMS byte array the RPC layer carries (requestSize / *responseSize bytes), not
// the RPC PDU. Version framing: v4 = base message + Rijndael-160 CBC-MAC; v5 = u32 version + IV +
// AES-128-CBC; v6 = the same with the tweaked cipher, a fresh response IV and an HMAC.
//
// Promises: decoders never throw on bad input and never read outside the payload; every size is
// checked before use and bounded (ePID <= 64 UTF-16 units, payload sizes exact). Failures are
// Result errors; `code` says which class of check failed and `detail` names the check:
//   truncated      payload shorter than its layout needs (field named)
//   trailing_data  payload longer than its layout
//   bad_length     ePID size odd; ciphertext not a whole number of blocks
//   too_large      ePID size above 128 bytes; text longer than its field
//   bad_version    version not 4.0/5.0/6.0; outer vs inner version; response vs request version
//   bad_integrity  PKCS#7 pad, v4 MAC, v5/v6 hash, v5 IV echo, v6 XoredIVs, v6 HMAC
//   bad_value      ePID without NUL / with an inner NUL; CMID or client time not echoed; bad UTF-8
// Decoder offsets count bytes from the start of the payload (for encrypted parts: the position
// of the plaintext byte's ciphertext, which CBC keeps aligned). Encoder errors about text
// (bad UTF-8, embedded NUL) give the byte index in that text.
//
// Randomness comes only from the RandomSource argument, in a fixed order (documented per
// function) so ReplayRandom can reproduce a captured exchange byte for byte.
#pragma once

#include "kmslab/protocol/block_cipher.hpp"
#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/guid.hpp"
#include "kmslab/protocol/kms_crypto.hpp"
#include "kmslab/protocol/random_source.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace kmslab::protocol {

struct KmsVersion {
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  friend bool operator==(const KmsVersion&, const KmsVersion&) = default;
};
inline constexpr KmsVersion kKmsV4{4, 0};
inline constexpr KmsVersion kKmsV5{5, 0};
inline constexpr KmsVersion kKmsV6{6, 0};
std::string to_string(KmsVersion v);  // "6.0"
// True for 4.0, 5.0 and 6.0, the versions vlmcsd and Windows hosts accept.
bool is_supported(KmsVersion v) noexcept;

inline constexpr std::size_t kKmsBaseRequestSize = 236;
inline constexpr std::size_t kKmsV4RequestSize = 252;   // base + MAC
inline constexpr std::size_t kKmsV5V6RequestSize = 260; // version + IV + 240 ciphertext
inline constexpr std::size_t kKmsWorkstationUnits = 64; // UTF-16 units incl. NUL
inline constexpr std::size_t kKmsMaxEpidUnits = 64;     // UTF-16 units incl. NUL
using KmsHwid = std::array<std::uint8_t, 8>;
inline constexpr KmsHwid kDefaultKmsHwid{0x3A, 0x1C, 0x04, 0x96, 0x00, 0xB6, 0x00, 0x76};

// The 236-byte base request (§2).
struct KmsRequest {
  KmsVersion version = kKmsV6;
  std::uint32_t vm_flag = 0;                 // 0 physical, 1 virtual machine
  std::uint32_t license_status = 0;          // 0..6, e.g. 2 = OOB grace
  std::uint32_t binding_expiration_min = 0;  // minutes left in the current state
  Guid app_id, sku_id, kms_count_id, cmid;
  std::uint32_t n_policy = 0;                // clients the product needs before it activates
  std::uint64_t client_time = 0;             // FILETIME, UTC
  Guid previous_cmid;
  std::string workstation;                   // UTF-8; at most 63 UTF-16 units on the wire
  // Bytes after the name's NUL in the 128-byte field. vlmcs leaves stack garbage there; keeping
  // it lets a decoded request re-encode byte for byte. Empty = zeros (what a client should send).
  // Decoding drops trailing zero bytes.
  Bytes workstation_tail;
  friend bool operator==(const KmsRequest&, const KmsRequest&) = default;
};

// The base response (§3), 44 + P bytes on the wire.
struct KmsResponse {
  KmsVersion version = kKmsV6;
  std::string epid;                          // UTF-8; at most 63 UTF-16 units on the wire
  Guid cmid;                                 // echo of the request's
  std::uint64_t client_time = 0;             // echo of the request's
  std::uint32_t current_count = 0;
  std::uint32_t activation_interval_min = 0;
  std::uint32_t renewal_interval_min = 0;
  friend bool operator==(const KmsResponse&, const KmsResponse&) = default;
};

// The u32 version at the front of any payload (v4: the base message's, v5/v6: the cleartext one).
// Errors: truncated (< 4 bytes), bad_version (not 4.0/5.0/6.0).
Result<KmsVersion> peek_version(ByteSpan payload);

// Base message codecs, without any v4/v5/v6 wrapper. encode_base_request fails with too_large
// (name plus tail over 128 bytes) or bad_value (invalid UTF-8); decode_base_request needs exactly
// 236 bytes and never fails otherwise (a name without NUL keeps all 64 units). The response codec
// reads from a cursor because a base response is followed by the v5/v6 trailer.
Result<Bytes> encode_base_request(const KmsRequest& request);
Result<KmsRequest> decode_base_request(ByteSpan base, std::size_t base_offset = 0);
Result<Bytes> encode_base_response(const KmsResponse& response);
Result<KmsResponse> read_base_response(ByteReader& reader);

// ---- client side ----------------------------------------------------------------------------

struct ClientRequest {
  Bytes payload;          // 252 bytes (v4) or 260 bytes (v5/v6)
  KmsVersion version;
  Block iv{};             // v5/v6 request IV; zeros for v4
  KmsRequest request;
};

// Randomness: v5/v6 draw the 16-byte IV; v4 draws nothing.
// Errors: bad_version, and those of encode_base_request.
Result<ClientRequest> build_request(const KmsRequest& request, RandomSource& rng);

// Everything a response payload holds, decrypted and split, before any check that needs the
// request (the pad, the framing sizes, the ePID and outer == inner version are checked here).
struct DecodedResponse {
  KmsResponse response;               // v5/v6: its version equals the cleartext one (checked)
  Block wire_iv{};                    // v5/v6
  Block mac{};                        // v4: the MAC as received
  Block salt_xor{};                   // v5/v6: random salt XOR D(request IV)
  Sha256Digest hash{};                // v5/v6: SHA-256 of the salt
  std::optional<KmsHwid> hwid;        // v6
  Block xored_ivs{};                  // v6: should equal D(request IV)
  Block hmac{};                       // v6: the tag as received
  Block plain_iv{};                   // v5/v6: block-decrypt(wire_iv); v6 calls it R
  Bytes authenticated;                // v4: bytes the MAC covers; v6: bytes the HMAC covers
  std::size_t trailer_offset = 0;     // payload offset just past the base response
};
Result<DecodedResponse> decode_response(ByteSpan payload);

struct VerifiedResponse {
  KmsResponse response;
  std::optional<KmsHwid> hwid;                // v6 only
  // v5: always true (checked). v6: true means the host echoed the request IV, which vlmcs
  // reports as a sign of an emulator; the exchange is still valid.
  bool response_iv_equals_request_iv = false;
  // v6: the HMAC time slot that matched, -1, 0 or +1 (vlmcs tolerates one slot either way);
  // 0 for v4/v5.
  int hmac_slot_offset = 0;
};

// decode_response, then: response version == request version (bad_version); v4 MAC; v5/v6
// SHA-256(salt_xor ^ D) == hash; v5 response IV == request IV; v6 XoredIVs == D; v6 HMAC with
// slot offset 0, -1 or +1 (bad_integrity); CMID and client time echoed (bad_value).
Result<VerifiedResponse> verify_response(ByteSpan payload, const ClientRequest& request);
// The same checks on a response already decoded (a caller that reads its fields first decrypts once).
Result<VerifiedResponse> verify_response(const DecodedResponse& decoded, const ClientRequest& request);

// ---- host side ------------------------------------------------------------------------------

struct HostRequest {
  KmsRequest request;        // v5/v6: its version equals the cleartext one (checked)
  Block wire_iv{};           // v5/v6
  Block decrypted_iv{};      // v5/v6: D = block-decrypt(wire_iv), which the response binds to
  bool v4_mac_valid = false; // v4: the MAC matched (vlmcsd answers either way)
  bool pad_valid = true;     // v5/v6: the 4 pad bytes are 04 04 04 04 (vlmcsd never looks)
};

// Errors: truncated / trailing_data (payload not 252 resp. 260 bytes), bad_version (unknown, or
// the decrypted version differs from the cleartext one). A wrong MAC or pad is reported in the
// result, not as an error, matching vlmcsd; the RPC layer answers 0x8007000D for any error.
Result<HostRequest> parse_request(ByteSpan payload);

struct HostResponseOptions {
  KmsHwid hwid = kDefaultKmsHwid;  // v6 only
  // v6: reuse the request IV as response IV (R = D), as naive emulators do. vlmcs accepts that
  // but flags it; lets a scenario exercise the warning.
  bool v6_echo_request_iv = false;
};

// Framing follows `request.request.version`; the fields of `response` are written as given (the caller
// echoes CMID, time and version; a fault may deliberately not). Randomness: v5 draws the 16-byte
// salt; v6 draws the salt then the 16-byte plaintext IV R (unless v6_echo_request_iv).
// Errors: bad_version (request version unsupported), too_large / bad_value (ePID).
Result<Bytes> build_response(const KmsResponse& response, const HostRequest& request,
                             RandomSource& rng, const HostResponseOptions& options = {});

}  // namespace kmslab::protocol
