// Client side of a KMS exchange: build the request, decode and verify the host's answer.
#include "kms_framing.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

using namespace detail;

namespace {

Error integrity_error(std::size_t offset, std::string detail) {
  return make_error(Errc::bad_integrity, offset, std::move(detail));
}

}  // namespace

Result<ClientRequest> build_request(const KmsRequest& request, RandomSource& rng) {
  if (!is_supported(request.version))
    return make_error(Errc::bad_version, 0,
                      fmt::format("cannot build a KMS {} request", to_string(request.version)));
  auto base = encode_base_request(request);
  if (!base) return base.error();

  ClientRequest out{{}, request.version, {}, request};
  ByteWriter w(kKmsV5V6RequestSize);
  if (request.version.major == 4) {
    w.bytes(*base);
    w.bytes(kms_v4_mac(*base));
  } else {
    rng.fill(out.iv);
    write_version(w, request.version);
    w.bytes(out.iv);
    w.bytes(kms_cbc_encrypt(cipher_for(request.version), out.iv, pkcs7_pad(*base)));
  }
  out.payload = std::move(w).take();
  return out;
}

Result<DecodedResponse> decode_response(ByteSpan payload) {
  auto version = peek_version(payload);
  if (!version) return version.error();
  DecodedResponse d;

  if (version->major == 4) {
    ByteReader r(payload);
    auto base = read_base_response(r);
    if (!base) return base.error();
    d.response = std::move(*base);
    d.trailer_offset = r.offset();
    d.authenticated.assign(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(r.position()));
    auto mac = r.array<16>("v4 MAC");
    if (!mac) return mac.error();
    d.mac = *mac;
    if (!r.empty())
      return make_error(Errc::trailing_data, r.offset(),
                        fmt::format("{} bytes after the v4 MAC", r.remaining()));
    return d;
  }

  const bool v6 = version->major == 6;
  const KmsCipher cipher = cipher_for(*version);
  ByteReader r(payload);
  (void)r.skip(4, "version");  // peek_version proved these 4 bytes exist
  auto iv = r.array<16>("response IV");
  if (!iv) return iv.error();
  d.wire_iv = *iv;

  // Largest legal plaintext: base response with a 128-byte ePID plus the trailer, then 1..16
  // pad bytes. Refusing anything longer before decrypting keeps the work bounded.
  const std::size_t body_max = kBaseResponseFixedSize + 2 * kKmsMaxEpidUnits +
                               (v6 ? kV6TrailerSize : kV5TrailerSize);
  const std::size_t cipher_max = (body_max / 16 + 1) * 16;
  const ByteSpan ciphertext = r.rest();
  if (ciphertext.empty()) return r.truncated(16, "ciphertext");
  if (ciphertext.size() % 16 != 0)
    return make_error(Errc::bad_length, kEncryptedAt,
                      fmt::format("ciphertext of {} bytes is not a whole number of 16-byte blocks",
                                  ciphertext.size()));
  if (ciphertext.size() > cipher_max)
    return make_error(Errc::too_large, kEncryptedAt,
                      fmt::format("ciphertext of {} bytes exceeds the {} a KMS v{} response can need",
                                  ciphertext.size(), cipher_max, version->major));

  const Bytes plain = kms_cbc_decrypt(cipher, d.wire_iv, ciphertext);
  auto body_size = pkcs7_unpadded_size(plain, kEncryptedAt);
  if (!body_size) return body_size.error();
  const ByteSpan body = ByteSpan(plain).first(*body_size);

  ByteReader b(body, kEncryptedAt);
  auto base = read_base_response(b);
  if (!base) return base.error();
  d.response = std::move(*base);
  d.trailer_offset = b.offset();
  if (d.response.version != *version)
    return make_error(Errc::bad_version, kEncryptedAt,
                      fmt::format("encrypted response version {} differs from the cleartext {}",
                                  to_string(d.response.version), to_string(*version)));
  auto salt_xor = b.array<kSaltXorSize>("salt XOR");
  if (!salt_xor) return salt_xor.error();
  d.salt_xor = *salt_xor;
  auto hash = b.array<kHashSize>("salt hash");
  if (!hash) return hash.error();
  d.hash = *hash;
  if (v6) {
    auto hwid = b.array<kHwidSize>("HwId");
    if (!hwid) return hwid.error();
    d.hwid = *hwid;
    auto xored = b.array<kXoredIvsSize>("XoredIVs");
    if (!xored) return xored.error();
    d.xored_ivs = *xored;
    auto hmac = b.array<kHmacSize>("HMAC");
    if (!hmac) return hmac.error();
    d.hmac = *hmac;
  }
  if (!b.empty())
    return make_error(Errc::trailing_data, b.offset(),
                      fmt::format("{} bytes after the last v{} response field", b.remaining(),
                                  version->major));

  d.plain_iv = kms_decrypt_block(cipher, d.wire_iv);
  if (v6) {
    // The HMAC covers R ‖ everything up to (not including) the tag.
    d.authenticated.assign(d.plain_iv.begin(), d.plain_iv.end());
    d.authenticated.insert(d.authenticated.end(), body.begin(), body.end() - kHmacSize);
  }
  return d;
}

Result<VerifiedResponse> verify_response(ByteSpan payload, const ClientRequest& request) {
  auto decoded = decode_response(payload);
  if (!decoded) return decoded.error();
  return verify_response(*decoded, request);
}

Result<VerifiedResponse> verify_response(const DecodedResponse& d, const ClientRequest& request) {
  if (d.response.version != request.version)
    return make_error(Errc::bad_version, 0,
                      fmt::format("KMS {} response to a {} request", to_string(d.response.version),
                                  to_string(request.version)));

  VerifiedResponse out{d.response, d.hwid, false, 0};
  const std::size_t trailer_at = d.trailer_offset;

  if (request.version.major == 4) {
    if (!equal_constant_time(kms_v4_mac(d.authenticated), d.mac))
      return integrity_error(trailer_at, "v4 MAC does not match the response");
  } else {
    const KmsCipher cipher = cipher_for(request.version);
    const Block dec_iv = kms_decrypt_block(cipher, request.iv);
    if (!equal_constant_time(sha256(xor_blocks(d.salt_xor, dec_iv)), d.hash))
      return integrity_error(trailer_at + kSaltXorSize,
                             "hash: SHA-256(salt XOR D(request IV)) does not match");
    out.response_iv_equals_request_iv = d.wire_iv == request.iv;
    if (request.version.major == 5 && !out.response_iv_equals_request_iv)
      return integrity_error(4, "v5 response IV differs from the request IV");
    if (request.version.major == 6) {
      if (!equal_constant_time(d.xored_ivs, dec_iv))
        return integrity_error(trailer_at + kV5TrailerSize + kHwidSize,
                               "XoredIVs differ from D(request IV)");
      bool matched = false;
      for (int slot : {0, -1, 1}) {
        if (equal_constant_time(kms_v6_hmac_tag(d.response.client_time, d.authenticated, slot), d.hmac)) {
          out.hmac_slot_offset = slot;
          matched = true;
          break;
        }
      }
      if (!matched)
        return integrity_error(trailer_at + kV6TrailerSize - kHmacSize,
                               "v6 HMAC matches no time slot (-1, 0, +1) of the response time");
    }
  }

  if (d.response.cmid != request.request.cmid)
    return make_error(Errc::bad_value, trailer_at - 36,
                      fmt::format("CMID not echoed: sent {}, got {}", request.request.cmid.to_string(),
                                  d.response.cmid.to_string()));
  if (d.response.client_time != request.request.client_time)
    return make_error(Errc::bad_value, trailer_at - 20,
                      fmt::format("client time not echoed: sent {}, got {}",
                                  request.request.client_time, d.response.client_time));
  return out;
}

}  // namespace kmslab::protocol
