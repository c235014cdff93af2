// The KMS checks of a capture, one CaptureCheck each, so a reader sees every comparison and not
// only the first that failed (which is all verify_response() can say).
#include "capture_checks.hpp"

#include "kms_framing.hpp"

#include "kmslab/protocol/kms_crypto.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kmslab::protocol::detail {

namespace {

constexpr std::size_t kV4MacAt = kKmsBaseRequestSize;  // the request MAC follows the base request
constexpr std::size_t kPadAt = kEncryptedAt + kKmsBaseRequestSize;
// Response fields relative to DecodedResponse::trailer_offset (just past the base response).
constexpr std::size_t kCmidBack = 36;  // CMID, time (8), count, two intervals (4 each) precede it
constexpr std::size_t kTimeBack = 20;
constexpr std::size_t kHashAfter = kSaltXorSize;
constexpr std::size_t kXoredAfter = kV5TrailerSize + kHwidSize;
constexpr std::size_t kHmacAfter = kXoredAfter + kXoredIvsSize;

CaptureCheck check(std::string name, bool held, std::string detail, std::size_t offset) {
  return {std::move(name), held ? CheckOutcome::pass : CheckOutcome::fail, std::move(detail), offset};
}

std::string hex_block(ByteSpan b) {
  std::string s;
  for (auto v : b) s += fmt::format("{:02x}", v);
  return s;
}

void add_epid(CaptureKmsResponse& r, std::chrono::sys_days today, std::vector<CaptureCheck>& checks) {
  const std::size_t at = r.payload_offset + (r.decoded.response.version.major == 4 ? 8 : kEncryptedAt + 8);
  auto epid = parse_epid(r.decoded.response.epid);
  if (!epid) {
    r.epid_error = epid.error();
    checks.push_back({"ePID", CheckOutcome::note,
                      fmt::format("not in the PPPPP-GGGGG-KKK-KKKKKK-03-LLLL-BBBBB.0000-DDDYYYY shape "
                                  "(character {}: {}); clients do not check it",
                                  epid.error().offset, epid.error().detail),
                      at});
    return;
  }
  r.epid = *epid;
  // Without a "today", compare with the far future so only the date checks against today vanish.
  using namespace std::chrono;
  const sys_days when = today == sys_days{} ? sys_days{year{9999} / December / 31} : today;
  r.epid_validation = validate_epid(*epid, when);
  for (const auto& f : r.epid_validation->findings)
    checks.push_back({fmt::format("ePID {}", to_string(f.field)), CheckOutcome::note,
                      fmt::format("{}: {}", to_string(f.severity), f.message), at});
}

}  // namespace

void add_request_checks(const CaptureKmsRequest& request, std::vector<CaptureCheck>& checks) {
  const HostRequest& h = request.parsed;
  const std::size_t at = request.payload_offset;
  if (h.request.version.major == 4) {
    checks.push_back(check("request MAC", h.v4_mac_valid,
                           h.v4_mac_valid ? "Rijndael-160 CBC-MAC over the 236-byte base request matches"
                                          : "does not match the 236-byte base request (vlmcsd answers "
                                            "anyway; a Windows host would not)",
                           at + kV4MacAt));
    return;
  }
  checks.push_back(check("version", true,
                         fmt::format("cleartext {} = encrypted {}", to_string(h.request.version),
                                     to_string(h.request.version)),
                         at));
  checks.push_back(check("pad", h.pad_valid,
                         h.pad_valid ? "PKCS#7 pad 04 04 04 04"
                                     : "the 4 bytes after the base request are not 04 04 04 04 "
                                       "(vlmcsd does not look; the ciphertext is damaged)",
                         at + kPadAt));
}

void add_response_checks(CaptureKmsResponse& response, const CaptureKmsRequest* request,
                         std::chrono::sys_days today, std::vector<CaptureCheck>& checks) {
  const DecodedResponse& d = response.decoded;
  const KmsVersion v = d.response.version;
  const std::size_t at = response.payload_offset;
  const std::size_t trailer = at + d.trailer_offset;
  const bool v4 = v.major == 4;
  const bool v6 = v.major == 6;

  add_epid(response, today, checks);
  if (!v4) checks.push_back(check("pad", true, "PKCS#7 pad of the decrypted response", at + response.payload.size() - 1));

  if (request != nullptr) {
    const KmsVersion sent = request->parsed.request.version;
    checks.push_back(check("version", v == sent,
                           fmt::format("response {} to a {} request", to_string(v), to_string(sent)), at));
  }
  if (v4) {
    const bool held = equal_constant_time(kms_v4_mac(d.authenticated), d.mac);
    checks.push_back(check("MAC", held,
                           held ? "Rijndael-160 CBC-MAC over the base response matches"
                                : fmt::format("{} received, the base response gives {}", hex_block(d.mac),
                                              hex_block(kms_v4_mac(d.authenticated))),
                           trailer));
  }
  if (!v4 && request != nullptr) {
    const HostRequest& q = request->parsed;
    const Block& dec_iv = q.decrypted_iv;  // D: what the host binds the response to
    const bool hash_held = equal_constant_time(sha256(xor_blocks(d.salt_xor, dec_iv)), d.hash);
    checks.push_back(check("hash", hash_held,
                           hash_held ? "SHA-256(salt XOR D(request IV)) matches"
                                     : "SHA-256(salt XOR D(request IV)) differs: the response was "
                                       "not made for this request",
                           trailer + kHashAfter));
    if (!v6) {
      const bool echoed = d.wire_iv == q.wire_iv;
      checks.push_back(check("IV echo", echoed,
                             echoed ? "response IV = request IV"
                                    : fmt::format("response IV {} differs from the request IV {}",
                                                  hex_block(d.wire_iv), hex_block(q.wire_iv)),
                             at + 4));
    } else {
      const bool held = equal_constant_time(d.xored_ivs, dec_iv);
      checks.push_back(check("XoredIVs", held,
                             held ? "= D(request IV)"
                                  : fmt::format("{} differs from D(request IV) {}", hex_block(d.xored_ivs),
                                                hex_block(dec_iv)),
                             trailer + kXoredAfter));
    }
  }
  if (v6) {
    std::optional<int> slot;
    for (int s : {0, -1, 1})
      if (equal_constant_time(kms_v6_hmac_tag(d.response.client_time, d.authenticated, s), d.hmac)) {
        slot = s;
        break;
      }
    checks.push_back(check("HMAC", slot.has_value(),
                           slot ? fmt::format("matches time slot {:+d} of the response time", *slot)
                                : "matches no time slot (-1, 0, +1) of the response time",
                           trailer + kHmacAfter));
  }
  if (request == nullptr) {
    checks.push_back({"request", CheckOutcome::note,
                      v4 ? "not in the capture: the version and echo checks need it (put the request "
                           "PDU before the response, or use --request)"
                         : "not in the capture: the version, hash, IV and echo checks need it (put the "
                           "request PDU before the response, or use --request)",
                      at});
    return;
  }
  const KmsRequest& sent = request->parsed.request;
  checks.push_back(check("CMID echo", d.response.cmid == sent.cmid,
                         fmt::format("sent {}, got {}", sent.cmid.to_string(), d.response.cmid.to_string()),
                         trailer - kCmidBack));
  checks.push_back(check("time echo", d.response.client_time == sent.client_time,
                         fmt::format("sent {}, got {}", sent.client_time, d.response.client_time),
                         trailer - kTimeBack));
  if (v6 && d.wire_iv == request->parsed.wire_iv)
    checks.push_back({"response IV", CheckOutcome::note,
                      "equals the request IV: vlmcs flags this as a sign of an emulator", at + 4});

  // The library's own verifier must agree; a disagreement is reported rather than hidden.
  auto verified = verify_response(response.payload, request->client_request());
  if (verified) {
    response.verified = std::move(*verified);
  } else if (std::none_of(checks.begin(), checks.end(),
                          [](const CaptureCheck& c) { return c.outcome == CheckOutcome::fail; })) {
    checks.push_back(check("verify_response", false, verified.error().message(),
                           at + verified.error().offset));
  }
}

}  // namespace kmslab::protocol::detail
