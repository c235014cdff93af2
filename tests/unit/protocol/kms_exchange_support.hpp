// Shared fixtures for the KMS message tests: a sample request and response, replaying a captured
// request, and "resealing" a v5/v6 response after editing its plaintext, so a test can forge one
// field while keeping the encryption (and, for v6, optionally the HMAC) valid.
#pragma once

#include "kmslab/protocol/kms_crypto.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kms_test_support.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>

namespace kmslab::test {

inline protocol::Guid guid(const char* text) {
  auto g = protocol::Guid::parse(text);
  if (!g) throw std::runtime_error(std::string("bad GUID in test: ") + text);
  return *g;
}

// The main captured runs' request (README "What was requested"), for a given version.
inline protocol::KmsRequest sample_request(protocol::KmsVersion version) {
  protocol::KmsRequest q;
  q.version = version;
  q.vm_flag = 0;
  q.license_status = 2;
  q.binding_expiration_min = 43200;
  q.app_id = guid("55c92734-d682-4d71-983e-d6ec3f16059f");
  q.sku_id = guid("2de67392-b7a7-462a-b1ca-108dd189f588");
  q.kms_count_id = guid("58e2134f-8e11-4d17-9cb2-91069c151148");
  q.cmid = guid("11111111-2222-3333-4444-555555555555");
  q.n_policy = 25;
  q.client_time = 134400863370000000ull;
  q.workstation = "ws-test.example.test";
  return q;
}

inline protocol::KmsResponse sample_response(const protocol::KmsRequest& q) {
  return protocol::KmsResponse{q.version, "03612-00206-560-338962-03-1056-14393.0000-2462019",
                               q.cmid, q.client_time, 50, 120, 10080};
}

template <class T>
T expect_ok(protocol::Result<T> r, const std::string& what) {
  if (!r) throw std::runtime_error(what + ": " + r.error().message());
  return std::move(*r);
}

// Host view of a captured request plus the ClientRequest that reproduces it (request IV replayed).
struct ReplayedRequest {
  protocol::Bytes payload;
  protocol::HostRequest host;
  protocol::ClientRequest client;
};

inline ReplayedRequest replay_request(const std::string& capture) {
  ReplayedRequest out;
  out.payload = kms_payload(capture + "_request.hex");
  out.host = expect_ok(protocol::parse_request(out.payload), capture + " parse_request");
  protocol::ReplayRandom rng(out.host.request.version.major == 4
                                 ? protocol::Bytes{}
                                 : protocol::Bytes(out.host.wire_iv.begin(), out.host.wire_iv.end()));
  out.client = expect_ok(protocol::build_request(out.host.request, rng), capture + " build_request");
  return out;
}

// Decrypts a v5/v6 payload body (incl. pad), lets `edit` change it, re-encrypts with the same
// wire IV. With `resign_slot` (v6 responses), the HMAC is then recomputed over the edited bytes
// with that time-slot offset, so only the edited field (or the slot) is wrong.
inline protocol::Bytes reseal(const protocol::Bytes& payload,
                              const std::function<void(protocol::Bytes& body)>& edit,
                              std::optional<int> resign_slot = std::nullopt) {
  using namespace protocol;
  const KmsCipher cipher = payload[2] == 6 ? KmsCipher::v6 : KmsCipher::v5;
  Block iv{};
  std::copy(payload.begin() + 4, payload.begin() + 20, iv.begin());
  Bytes body = kms_cbc_decrypt(cipher, iv, ByteSpan(payload).subspan(20));
  edit(body);
  if (resign_slot) {
    const std::size_t n = *pkcs7_unpadded_size(body);
    const std::size_t p = std::size_t{body[4]} | (std::size_t{body[5]} << 8);
    std::uint64_t time = 0;
    for (std::size_t i = 0; i < 8; ++i) time |= std::uint64_t{body[8 + p + 16 + i]} << (8 * i);
    Bytes message(16);
    const Block r = kms_decrypt_block(cipher, iv);
    std::copy(r.begin(), r.end(), message.begin());
    message.insert(message.end(), body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n - 16));
    const Block tag = kms_v6_hmac_tag(time, message, *resign_slot);
    std::copy(tag.begin(), tag.end(), body.begin() + static_cast<std::ptrdiff_t>(n - 16));
  }
  Bytes out(payload.begin(), payload.begin() + 20);
  const Bytes ct = kms_cbc_encrypt(cipher, iv, body);
  out.insert(out.end(), ct.begin(), ct.end());
  return out;
}

// Names parameterised cases "v4", "v5", "v6".
inline std::string version_test_name(const ::testing::TestParamInfo<protocol::KmsVersion>& p) {
  std::string name = "v";  // not "v" + ...: GCC 12 -O3 raises a false -Wrestrict on that
  name += std::to_string(p.param.major);
  return name;
}

inline void expect_error(const protocol::Error& e, protocol::Errc code, const std::string& words,
                         const std::string& context) {
  EXPECT_EQ(e.code, code) << context << ": " << e.message();
  EXPECT_NE(e.message().find(words), std::string::npos)
      << context << ": '" << words << "' not in: " << e.message();
}

}  // namespace kmslab::test
