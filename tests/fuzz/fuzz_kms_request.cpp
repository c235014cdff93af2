// Fuzz target: a KMS activation request as a host receives it (kms_message.hpp parse_request),
// every version, then the host's answer as the client checks it.
//
// Input layout: byte 0 picks the mode. Bit 0x80 clear: the rest is the request payload exactly as
// the RPC stub carries it. Bit 0x80 set ("plaintext mode"): bits 0-1 pick v4/v5/v6 (3 = v6) and
// the target does the cryptography, so mutations reach the decoder behind it — v4: the next 236
// bytes are the base request and the target appends its MAC; v5/v6: 16 bytes of IV, then the
// 236-byte base request, which the target pads and encrypts. Missing bytes are zeros. Byte 1
// steers the answer (bit 0: v6 host echoes the request IV; the rest seeds its random source).
// Properties:
//   - parse_request is total; a parsed request carries a supported version equal to the payload's
//     (for v5/v6 the cleartext and the encrypted one);
//   - the request's value round-trips through build_request (with the same IV), and when its base
//     bytes re-encode unchanged and its MAC / pad are valid, the rebuilt payload is the input;
//   - the host's build_response to it (fields echoed) passes the client's verify_response with
//     the request's own IV, in the exact HMAC slot, with every field as sent.
#include "fuzz_target.hpp"

#include "kmslab/protocol/kms_crypto.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/random_source.hpp"

#include <algorithm>

namespace {

using namespace kmslab::protocol;
using kmslab::fuzz::fuzz_check;

constexpr std::size_t kEncryptedAt = 20;  // u32 version + 16-byte IV before the ciphertext
constexpr const char* kEpid = "03612-00206-560-338962-03-1056-14393.0000-2462019";

KmsVersion version_from(std::uint8_t bits) {
  switch (bits & 3) {
    case 0: return kKmsV4;
    case 1: return kKmsV5;
    default: return kKmsV6;
  }
}

KmsCipher cipher_for(KmsVersion v) { return v.major == 6 ? KmsCipher::v6 : KmsCipher::v5; }

Bytes zero_extended(ByteSpan bytes, std::size_t size) {
  Bytes out(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(std::min(size, bytes.size())));
  out.resize(size, 0);
  return out;
}

// Plaintext mode: the payload a client would send for this base request (and IV).
Bytes make_payload(KmsVersion version, kmslab::fuzz::InputCursor& in) {
  ByteWriter w(kKmsV5V6RequestSize);
  if (version.major == 4) {
    const Bytes base = zero_extended(in.take(kKmsBaseRequestSize), kKmsBaseRequestSize);
    w.bytes(base);
    w.bytes(kms_v4_mac(base));
    return std::move(w).take();
  }
  Block iv{};
  const ByteSpan iv_bytes = in.take(iv.size());
  std::copy(iv_bytes.begin(), iv_bytes.end(), iv.begin());
  const Bytes base = zero_extended(in.take(kKmsBaseRequestSize), kKmsBaseRequestSize);
  w.u16(version.minor);
  w.u16(version.major);
  w.bytes(iv);
  w.bytes(kms_cbc_encrypt(cipher_for(version), iv, pkcs7_pad(base)));
  return std::move(w).take();
}

// The base request bytes as they arrived (decrypted for v5/v6).
Bytes base_bytes_of(ByteSpan payload, const HostRequest& host) {
  const KmsVersion version = host.request.version;
  if (version.major == 4) return Bytes(payload.begin(), payload.begin() + kKmsBaseRequestSize);
  Bytes plain = kms_cbc_decrypt(cipher_for(version), host.wire_iv, payload.subspan(kEncryptedAt));
  plain.resize(kKmsBaseRequestSize);
  return plain;
}

void check_rebuild(ByteSpan payload, const HostRequest& host) {
  ReplayRandom iv(Bytes(host.wire_iv.begin(), host.wire_iv.end()));
  auto rebuilt = build_request(host.request, iv);
  if (!rebuilt) {
    // Only a workstation name that fills all 64 units (no NUL on the wire) cannot be re-encoded.
    fuzz_check(rebuilt.error().code == Errc::too_large, "a parsed request fails to re-encode");
    return;
  }
  auto again = parse_request(rebuilt->payload);
  fuzz_check(again.has_value(), "a rebuilt request fails to parse");
  fuzz_check(again->request == host.request, "request value changes through build_request");
  fuzz_check(again->wire_iv == host.wire_iv, "rebuilt request has another IV");
  fuzz_check(again->pad_valid && (host.request.version.major != 4 || again->v4_mac_valid),
             "a rebuilt request has a bad pad or MAC");
  const bool intact = host.request.version.major == 4 ? host.v4_mac_valid : host.pad_valid;
  auto base = encode_base_request(host.request);
  if (intact && base && *base == base_bytes_of(payload, host))
    fuzz_check(std::equal(payload.begin(), payload.end(), rebuilt->payload.begin(),
                          rebuilt->payload.end()),
               "same base bytes and IV give another payload");
}

void check_answer(ByteSpan payload, const HostRequest& host, std::uint8_t steer) {
  KmsResponse answer;
  answer.version = host.request.version;
  answer.epid = kEpid;
  answer.cmid = host.request.cmid;
  answer.client_time = host.request.client_time;
  answer.current_count = 2 * host.request.n_policy;
  answer.activation_interval_min = 120;
  answer.renewal_interval_min = 10080;
  HostResponseOptions options;
  options.v6_echo_request_iv = (steer & 1) != 0;
  SeededRandom rng(steer);
  auto response = build_response(answer, host, rng, options);
  fuzz_check(response.has_value(), "the host cannot answer a request it parsed");

  const ClientRequest sent{Bytes(payload.begin(), payload.end()), host.request.version,
                           host.wire_iv, host.request};
  auto verified = verify_response(*response, sent);
  fuzz_check(verified.has_value(), "the client rejects the host's answer to its request");
  fuzz_check(verified->response == answer, "the verified response differs from what was sent");
  fuzz_check(verified->hmac_slot_offset == 0, "the host's HMAC is not in the exact time slot");
  if (host.request.version.major == 6) {
    fuzz_check(verified->hwid == options.hwid, "v6 HwId changed on the way");
    if (options.v6_echo_request_iv)
      fuzz_check(verified->response_iv_equals_request_iv, "echoed request IV not recognised");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kmslab::fuzz::InputCursor in(data, size);
  const std::uint8_t mode = in.take_u8();
  const std::uint8_t steer = in.take_u8();
  Bytes payload;
  if ((mode & 0x80) != 0) {
    payload = make_payload(version_from(mode), in);
  } else {
    const ByteSpan rest = in.rest();
    payload.assign(rest.begin(), rest.end());
  }

  auto host = parse_request(payload);
  if (!host) {
    const Error& e = host.error();
    fuzz_check(e.offset <= payload.size() && !e.message().empty(), "bad request error");
    return 0;
  }
  fuzz_check(is_supported(host->request.version), "parsed an unsupported version");
  auto peeked = peek_version(payload);
  fuzz_check(peeked.has_value() && *peeked == host->request.version, "peek_version disagrees");
  check_rebuild(payload, *host);
  check_answer(payload, *host, steer);
  return 0;
}
