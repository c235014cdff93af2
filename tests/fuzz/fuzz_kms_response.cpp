// Fuzz target: a KMS activation response as the client receives it (kms_message.hpp
// decode_response, verify_response), every version, checked against the captured requests.
//
// Input layout: byte 0 bits 0-1 pick the request the response answers (the captured v4, v5 or
// v6 request; 3 = v6). Bit 0x80 clear: the rest is the response payload as the RPC stub carries
// it. Bit 0x80 set ("plaintext mode"): the target does the cryptography so mutations reach the
// decoder behind it — v4: the rest is the base response and the target appends its MAC; v5/v6:
// 16 bytes of IV, then the decrypted body, which the target PKCS#7-pads and encrypts under the
// picked version.
// Properties:
//   - decode_response and verify_response are total, with errors inside the payload;
//   - any decodable response, re-signed by the host's build_response from its own salt, IV and
//     HwId, decodes to the same fields and passes verify_response for a matching request;
//   - a response that verifies against a captured request echoes its CMID and time, and when its
//     HMAC slot is exact and its ePID text is lossless, the host code rebuilds it byte for byte.
#include "fuzz_target.hpp"

#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/kms_crypto.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/random_source.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace {

using namespace kmslab::protocol;
using kmslab::fuzz::fuzz_check;

constexpr std::array<std::string_view, 3> kCapturedRequests{
    // tests/vectors/v4_intermediates.txt, kms_request_payload_hex (252 bytes)
    "000004000000000002000000c0a800003427c95582d6714d983ed6ec3f16059f9273e62da7b72a46b1ca108dd1"
    "89f5884f13e258118e174d9cb291069c1511481111111122223333444455555555555519000000807b547edf7c"
    "dd0100000000000000000000000000000000770073002d00760034002e006500780061006d0070006c0065002e"
    "007400650073007400000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000d16407921966235bd20d11e0beb1ccf3",
    // tests/vectors/v5_intermediates.txt, kms_request_payload_hex (260 bytes)
    "000005002ee12d0d605aab92e3e984b2287ff9d9c236855c3073073f0186574ac4b789a655c6e5d3998cbbeca5"
    "c7d28452b9ed1eec47e79528023f6eaf3755141ebbf4cd04c22aeda4771dc8664cbab7b946092701e80d183ec9"
    "2cb88ba2163d3c633c1c155b7a055fdca8f46b8f34fd31068f9fe0c3127d5a20dc962fbe0fad9ca60eafbf9943"
    "5a89a6d62de0823bfb9d276d8e7ee8053f32c4540ffb4d5d36dfd6eb91fc6f67e929f539203b9e7fd9f5954766"
    "1dd929c7bc64a2215dd355f8980c4fc27be6e44caf0c593a7db222a04f87f82153a8c51808d1a4b01845fbf9ad"
    "365232a1ec90e23cc2a8beff6aaf99a0ac7c712fcf7d93d89799c83f0480efc762fa6c",
    // tests/vectors/v6_intermediates.txt, kms_request_payload_hex (260 bytes)
    "0000060091c61e0018d21566a9e99c3bc63008e64919f910400632c691b442fd6c734fc9322dd0051686917f7d"
    "6f24045248b9263e83c85e828b920d0447b4b1d585a7a8657c99d29c04ee84d72c02a141721393e925397bdb49"
    "e82cac127384d39e0d2a4555cf4cd03695601751254d50690a06e5a777881c4d18cfae72a974ab4669ec6c6f5e"
    "92c0b4c845a351951030388baf3a1dc6056e4489dffffc2e3b16987ae393f8f83d8d333d681f58431d7c13ac49"
    "dd77aba95f1439c02d2fe1c2236b3c898c5848ab69a76d8517e500816086f52eef0f56f8e9a0edd0eddabec070"
    "0482348568144dd2f8a352911e596808bb6d0edad29cb682ec3107337cd7f605eb2715",
};

KmsCipher cipher_for(KmsVersion v) { return v.major == 6 ? KmsCipher::v6 : KmsCipher::v5; }

// The ClientRequest each captured request payload stands for (the IV is the one on the wire).
const std::array<ClientRequest, 3>& captured_requests() {
  static const std::array<ClientRequest, 3> requests = [] {
    std::array<ClientRequest, 3> out;
    for (std::size_t i = 0; i < out.size(); ++i) {
      auto payload = from_hex(kCapturedRequests[i]);
      fuzz_check(payload.has_value(), "captured request hex");
      auto host = parse_request(*payload);
      fuzz_check(host.has_value(), "captured request does not parse");
      out[i] = ClientRequest{*payload, host->request.version, host->wire_iv, host->request};
    }
    return out;
  }();
  return requests;
}

Bytes make_payload(KmsVersion version, kmslab::fuzz::InputCursor& in) {
  ByteWriter w;
  if (version.major == 4) {
    const ByteSpan base = in.rest();
    w.bytes(base);
    w.bytes(kms_v4_mac(base));
    return std::move(w).take();
  }
  Block iv{};
  const ByteSpan iv_bytes = in.take(iv.size());
  std::copy(iv_bytes.begin(), iv_bytes.end(), iv.begin());
  w.u16(version.minor);
  w.u16(version.major);
  w.bytes(iv);
  w.bytes(kms_cbc_encrypt(cipher_for(version), iv, pkcs7_pad(in.rest())));
  return std::move(w).take();
}

bool lossless_text(const std::string& s) {
  return s.find("\xEF\xBF\xBD") == std::string::npos;  // no U+FFFD from an unpaired surrogate
}

// Host side again: answer with exactly the salt, IV and HwId the decoded response carries.
Bytes rebuild(const DecodedResponse& d) {
  HostRequest host;
  host.request.version = d.response.version;
  Bytes randomness;
  HostResponseOptions options;
  if (d.response.version.major == 5) {
    host.wire_iv = d.wire_iv;
    host.decrypted_iv = kms_decrypt_block(KmsCipher::v5, d.wire_iv);
  } else if (d.response.version.major == 6) {
    host.decrypted_iv = d.xored_ivs;
    options.hwid = *d.hwid;
  }
  if (d.response.version.major != 4) {
    const Block salt = xor_blocks(d.salt_xor, host.decrypted_iv);
    randomness.assign(salt.begin(), salt.end());
    if (d.response.version.major == 6)
      randomness.insert(randomness.end(), d.plain_iv.begin(), d.plain_iv.end());
  }
  ReplayRandom rng(randomness);
  auto built = build_response(d.response, host, rng, options);
  fuzz_check(built.has_value(), "the host cannot re-sign a decodable response");
  fuzz_check(rng.remaining() == 0, "build_response drew less randomness than documented");
  return *built;
}

// A request this decoded response would be the correct answer to.
ClientRequest matching_request(const DecodedResponse& d) {
  ClientRequest c;
  c.version = d.response.version;
  c.request.version = d.response.version;
  c.request.cmid = d.response.cmid;
  c.request.client_time = d.response.client_time;
  if (d.response.version.major == 5) c.iv = d.wire_iv;
  if (d.response.version.major == 6) c.iv = kms_encrypt_block(KmsCipher::v6, d.xored_ivs);
  return c;
}

void check_resigned(const DecodedResponse& d, const Bytes& rebuilt) {
  auto again = decode_response(rebuilt);
  fuzz_check(again.has_value(), "a re-signed response fails to decode");
  fuzz_check(again->response == d.response, "response fields change through build_response");
  fuzz_check(again->wire_iv == d.wire_iv && again->salt_xor == d.salt_xor &&
                 again->hwid == d.hwid && again->xored_ivs == d.xored_ivs,
             "v5/v6 trailer changes through build_response");
  auto verified = verify_response(rebuilt, matching_request(d));
  fuzz_check(verified.has_value(), "a re-signed response fails verify_response");
  fuzz_check(verified->hmac_slot_offset == 0, "a re-signed v6 HMAC is off its slot");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kmslab::fuzz::InputCursor in(data, size);
  const std::uint8_t mode = in.take_u8();
  const ClientRequest& request = captured_requests()[std::min<std::size_t>(mode & 3, 2)];
  Bytes payload;
  if ((mode & 0x80) != 0) {
    payload = make_payload(request.version, in);
  } else {
    const ByteSpan rest = in.rest();
    payload.assign(rest.begin(), rest.end());
  }

  auto decoded = decode_response(payload);
  auto verified = verify_response(payload, request);
  if (!decoded) {
    fuzz_check(decoded.error().offset <= payload.size(), "decode error offset outside the payload");
    fuzz_check(!verified, "verify_response accepted what decode_response rejected");
    return 0;
  }
  const Bytes rebuilt = rebuild(*decoded);
  check_resigned(*decoded, rebuilt);

  if (!verified) {
    fuzz_check(verified.error().offset <= payload.size(), "verify error offset outside the payload");
    return 0;
  }
  fuzz_check(decoded->response.version == request.version, "verified a response of another version");
  fuzz_check(verified->response.cmid == request.request.cmid &&
                 verified->response.client_time == request.request.client_time,
             "verified a response that does not echo the request");
  if (verified->hmac_slot_offset == 0 && lossless_text(decoded->response.epid))
    fuzz_check(rebuilt == payload, "the host code does not rebuild a verified response exactly");
  return 0;
}
