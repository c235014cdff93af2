// Host side of a KMS exchange: decrypt and decode the request, build the answer.
#include "kms_framing.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

using namespace detail;

Result<HostRequest> parse_request(ByteSpan payload) {
  auto version = peek_version(payload);
  if (!version) return version.error();
  const bool v4 = version->major == 4;
  const std::size_t expected = v4 ? kKmsV4RequestSize : kKmsV5V6RequestSize;
  if (payload.size() > expected)
    return make_error(Errc::trailing_data, expected,
                      fmt::format("KMS v{} request is {} bytes, expected {}", version->major,
                                  payload.size(), expected));
  HostRequest out;
  ByteReader r(payload);

  if (v4) {
    auto base = r.bytes(kKmsBaseRequestSize, "base request");
    if (!base) return base.error();
    auto mac = r.array<16>("v4 MAC");
    if (!mac) return mac.error();
    auto request = decode_base_request(*base);
    if (!request) return request.error();
    out.request = std::move(*request);
    out.v4_mac_valid = equal_constant_time(kms_v4_mac(*base), *mac);
    return out;
  }

  (void)r.skip(4, "version");  // peek_version proved these 4 bytes exist
  auto iv = r.array<16>("request IV");
  if (!iv) return iv.error();
  auto ciphertext = r.bytes(kKmsV5V6RequestSize - kEncryptedAt, "encrypted request");
  if (!ciphertext) return ciphertext.error();
  const KmsCipher cipher = cipher_for(*version);
  const Bytes plain = kms_cbc_decrypt(cipher, *iv, *ciphertext);
  const ByteSpan plain_span(plain);
  auto request = decode_base_request(plain_span.first(kKmsBaseRequestSize), kEncryptedAt);
  if (!request) return request.error();
  if (request->version != *version)
    return make_error(Errc::bad_version, kEncryptedAt,
                      fmt::format("encrypted request version {} differs from the cleartext {}",
                                  to_string(request->version), to_string(*version)));
  out.request = std::move(*request);
  out.wire_iv = *iv;
  out.decrypted_iv = kms_decrypt_block(cipher, *iv);
  auto unpadded = pkcs7_unpadded_size(plain);
  out.pad_valid = unpadded && *unpadded == kKmsBaseRequestSize;
  return out;
}

Result<Bytes> build_response(const KmsResponse& response, const HostRequest& request,
                             RandomSource& rng, const HostResponseOptions& options) {
  const KmsVersion v = request.request.version;
  if (!is_supported(v))
    return make_error(Errc::bad_version, 0, fmt::format("cannot answer a KMS {} request", to_string(v)));
  auto base = encode_base_response(response);
  if (!base) return base.error();

  ByteWriter w(kKmsV5V6RequestSize);
  if (v.major == 4) {
    w.bytes(*base);
    w.bytes(kms_v4_mac(*base));
    return std::move(w).take();
  }

  // The salt is bound to the request through D: a client recomputes S = SaltXor ^ D(its IV).
  const Block& dec_iv = request.decrypted_iv;
  Block salt{};
  rng.fill(salt);
  ByteWriter body(base->size() + kV6TrailerSize);
  body.bytes(*base);
  body.bytes(xor_blocks(salt, dec_iv));
  body.bytes(sha256(salt));

  Block wire_iv = request.wire_iv;  // v5: the response reuses the request IV
  if (v.major == 6) {
    Block plain_iv = dec_iv;        // R = D makes the wire IV equal the request IV
    if (!options.v6_echo_request_iv) rng.fill(plain_iv);
    wire_iv = kms_encrypt_block(KmsCipher::v6, plain_iv);
    body.bytes(options.hwid);
    body.bytes(dec_iv);             // XoredIVs
    ByteWriter signed_part(16 + body.size());
    signed_part.bytes(plain_iv);
    signed_part.bytes(body.data());
    body.bytes(kms_v6_hmac_tag(response.client_time, signed_part.data()));
  }

  write_version(w, v);
  w.bytes(wire_iv);
  w.bytes(kms_cbc_encrypt(cipher_for(v), wire_iv, pkcs7_pad(body.data())));
  return std::move(w).take();
}

}  // namespace kmslab::protocol
