// Each class of malformed or forged KMS payload yields its typed error, never a crash or a read
// past the end (ASan runs these too).
#include "kmslab/protocol/kms_message.hpp"
#include "kms_exchange_support.hpp"

#include <gtest/gtest.h>

namespace kmslab::protocol {
namespace {

using test::expect_error;
using test::reseal;
using test::sample_request;
using test::sample_response;

struct Valid {
  ClientRequest client;
  HostRequest host;
  Bytes response;
};

Valid valid_exchange(KmsVersion v, std::uint64_t seed = 99) {
  SeededRandom rng(seed);
  Valid out;
  out.client = *build_request(sample_request(v), rng);
  out.host = *parse_request(out.client.payload);
  out.response = *build_response(sample_response(out.client.request), out.host, rng);
  return out;
}

Bytes response_with(const Valid& e, const std::function<void(KmsResponse&)>& edit, std::uint64_t seed = 5) {
  KmsResponse s = sample_response(e.client.request);
  edit(s);
  SeededRandom rng(seed);
  return *build_response(s, e.host, rng);
}

class KmsMalformed : public ::testing::TestWithParam<KmsVersion> {};

TEST_P(KmsMalformed, RequestCutAtEveryLengthIsTruncated) {
  const Valid e = valid_exchange(GetParam());
  for (std::size_t len = 0; len < e.client.payload.size(); ++len) {
    auto r = parse_request(ByteSpan(e.client.payload).first(len));
    ASSERT_FALSE(r) << len;
    EXPECT_EQ(r.error().code, Errc::truncated) << len << ": " << r.error().message();
  }
}

TEST_P(KmsMalformed, RequestWithExtraBytesIsTrailingData) {
  Bytes payload = valid_exchange(GetParam()).client.payload;
  payload.push_back(0);
  expect_error(parse_request(payload).error(), Errc::trailing_data, "expected", "one extra byte");
}

TEST_P(KmsMalformed, ResponseCutAtEveryLengthFails) {
  const Valid e = valid_exchange(GetParam());
  const bool v4 = GetParam().major == 4;
  for (std::size_t len = 0; len < e.response.size(); ++len) {
    auto r = verify_response(ByteSpan(e.response).first(len), e.client);
    ASSERT_FALSE(r) << len;
    if (v4 || len <= 20) {
      EXPECT_EQ(r.error().code, Errc::truncated) << len << ": " << r.error().message();
    } else if ((len - 20) % 16 != 0) {
      EXPECT_EQ(r.error().code, Errc::bad_length) << len << ": " << r.error().message();
    }
    // Whole blocks cut off: CBC still decrypts what is left; the last block is then data, not
    // pad, so the pad or (if it happens to look like a pad) a later check fails.
  }
}

TEST_P(KmsMalformed, UnknownVersionsAreBadVersion) {
  const Valid e = valid_exchange(GetParam());
  for (auto [minor, major] : {std::pair{0, 3}, std::pair{0, 7}, std::pair{1, int{GetParam().major}}}) {
    Bytes req = e.client.payload, resp = e.response;
    req[0] = resp[0] = static_cast<std::uint8_t>(minor);
    req[2] = resp[2] = static_cast<std::uint8_t>(major);
    expect_error(parse_request(req).error(), Errc::bad_version, "version", "request");
    expect_error(verify_response(resp, e.client).error(), Errc::bad_version, "version", "response");
  }
}

TEST_P(KmsMalformed, ResponseOfAnotherVersionIsBadVersion) {
  const KmsVersion v = GetParam();
  const KmsVersion other = v.major == 6 ? kKmsV5 : kKmsV6;
  const Valid mine = valid_exchange(v), theirs = valid_exchange(other);
  expect_error(verify_response(theirs.response, mine.client).error(), Errc::bad_version,
               "response to a " + to_string(v) + " request", "other version");
}

TEST_P(KmsMalformed, InnerVersionDifferentFromOuterIsBadVersion) {
  const KmsVersion v = GetParam();
  const Valid e = valid_exchange(v);
  // The host frames by the request's version but writes the response's own version field: a
  // response claiming another version inside is caught (v4: against the request).
  const Bytes resp = response_with(e, [](KmsResponse& s) { s.version = KmsVersion{5, 1}; });
  expect_error(verify_response(resp, e.client).error(), Errc::bad_version, "5.1", "inner response");
  if (v.major == 4) return;
  // Request: encrypted base says 4.0, cleartext says v.
  KmsRequest q = sample_request(v);
  q.version = kKmsV4;
  const Bytes forged = reseal(e.client.payload, [&](Bytes& body) {
    const Bytes base = *encode_base_request(q);
    std::copy(base.begin(), base.end(), body.begin());
  });
  expect_error(parse_request(forged).error(), Errc::bad_version, "differs from the cleartext",
               "inner request");
}

TEST_P(KmsMalformed, CmidOrTimeNotEchoedIsBadValue) {
  const Valid e = valid_exchange(GetParam());
  const Bytes cmid = response_with(e, [](KmsResponse& s) { s.cmid = test::guid("11111111-2222-3333-4444-555555555556"); });
  expect_error(verify_response(cmid, e.client).error(), Errc::bad_value, "CMID not echoed", "cmid");
  const Bytes time = response_with(e, [](KmsResponse& s) { s.client_time += 10'000'000; });
  expect_error(verify_response(time, e.client).error(), Errc::bad_value, "client time not echoed", "time");
  // A far-off response time (any u64 off the wire) is the same finding, compared as a u64; for v6
  // the HMAC key is derived from it first, in unsigned arithmetic.
  for (const std::uint64_t far : {0ull, 9223372036854775807ull, 9223372036854775808ull, 18446744073709551615ull}) {
    const Bytes off = response_with(e, [&](KmsResponse& s) { s.client_time = far; });
    expect_error(verify_response(off, e.client).error(), Errc::bad_value, "client time not echoed", "far time");
  }
}

TEST_P(KmsMalformed, EpidSizeChecks) {
  const KmsVersion v = GetParam();
  const Valid e = valid_exchange(v);
  // Edits the u32 ePID size P at plaintext offset 4 (v5/v6 re-encrypted; v4 MAC not involved
  // because the size checks come first).
  auto with_p = [&](std::uint32_t p) {
    if (v.major == 4) {
      Bytes out = e.response;
      for (std::size_t i = 0; i < 4; ++i) out[4 + i] = static_cast<std::uint8_t>(p >> (8 * i));
      return out;
    }
    return reseal(e.response, [&](Bytes& body) {
      for (std::size_t i = 0; i < 4; ++i) body[4 + i] = static_cast<std::uint8_t>(p >> (8 * i));
    });
  };
  expect_error(verify_response(with_p(101), e.client).error(), Errc::bad_length, "odd", "P odd");
  expect_error(verify_response(with_p(0), e.client).error(), Errc::bad_value, "NUL", "P zero");
  expect_error(verify_response(with_p(130), e.client).error(), Errc::too_large, "ePID size", "P 130");
  expect_error(verify_response(with_p(0xFFFFFFFE), e.client).error(), Errc::too_large, "ePID size", "P huge");
  // Smaller or larger than the real ePID: its last unit is not the NUL, or the real NUL sits
  // inside it.
  expect_error(verify_response(with_p(98), e.client).error(), Errc::bad_value, "not NUL-terminated", "P 98");
  expect_error(verify_response(with_p(128), e.client).error(), Errc::bad_value, "NUL at unit 49", "P 128");
}

TEST_P(KmsMalformed, EpidSizeBeyondThePayloadIsTruncated) {
  const KmsVersion v = GetParam();
  const Valid e = valid_exchange(v);
  // An empty ePID makes the payload short enough that P = 128 points past its end.
  const Bytes small = response_with(e, [](KmsResponse& s) { s.epid.clear(); });
  ASSERT_TRUE(verify_response(small, e.client));
  Bytes forged = small;
  if (v.major == 4) {
    forged[4] = 128;
  } else {
    forged = reseal(small, [](Bytes& body) { body[4] = 128; });
  }
  expect_error(verify_response(forged, e.client).error(), Errc::truncated, "ePID", "P 128");
}

TEST_P(KmsMalformed, EpidWithInnerNulIsBadValue) {
  const KmsVersion v = GetParam();
  const Valid e = valid_exchange(v);
  auto edit = [](Bytes& base) { base[8 + 10] = base[8 + 11] = 0; };  // unit 5 -> NUL
  Bytes forged = e.response;
  if (v.major == 4) {
    edit(forged);
  } else {
    forged = reseal(e.response, edit);
  }
  expect_error(verify_response(forged, e.client).error(), Errc::bad_value, "NUL at unit 5", "inner NUL");
}

INSTANTIATE_TEST_SUITE_P(Versions, KmsMalformed, ::testing::Values(kKmsV4, kKmsV5, kKmsV6),
                         test::version_test_name);

TEST(KmsMalformedV4, FlippedByteInMacOrAuthenticatedTailIsBadIntegrity) {
  const Valid e = valid_exchange(kKmsV4);
  // Past the ePID: CMID, time, count, intervals (bytes 108..143) and the MAC (144..159).
  for (std::size_t i = 8 + 100; i < e.response.size(); ++i) {
    Bytes forged = e.response;
    forged[i] ^= 0x20;
    auto r = verify_response(forged, e.client);
    ASSERT_FALSE(r) << i;
    expect_error(r.error(), Errc::bad_integrity, "v4 MAC", "byte " + std::to_string(i));
    EXPECT_EQ(r.error().offset, 144u);
  }
  // Any byte at all: never accepted.
  for (std::size_t i = 0; i < e.response.size(); ++i) {
    Bytes forged = e.response;
    forged[i] ^= 0x01;
    EXPECT_FALSE(verify_response(forged, e.client)) << i;
  }
}

TEST(KmsMalformedV5, FlippedHashOrSaltIsBadIntegrity) {
  const Valid e = valid_exchange(kKmsV5);
  // Plaintext: base (144) | salt XOR (16) | hash (32) | pad (16).
  for (std::size_t i = 144; i < 144 + 48; ++i) {
    const Bytes forged = reseal(e.response, [&](Bytes& body) { body[i] ^= 0x01; });
    auto r = verify_response(forged, e.client);
    ASSERT_FALSE(r) << i;
    expect_error(r.error(), Errc::bad_integrity, "SHA-256", "plaintext byte " + std::to_string(i));
    EXPECT_EQ(r.error().offset, 20u + 144u + 16u);
  }
  // Ciphertext flips in the hash blocks or the pad block are caught as well.
  for (std::size_t i = 20 + 144; i < e.response.size(); ++i) {
    Bytes forged = e.response;
    forged[i] ^= 0x01;
    EXPECT_FALSE(verify_response(forged, e.client)) << i;
  }
}

TEST(KmsMalformedV5, ResponseIvNotEchoedIsBadIntegrity) {
  const Valid e = valid_exchange(kKmsV5);
  // A host that picks its own IV but still binds the salt to D(request IV).
  HostRequest host = e.host;
  host.wire_iv[0] ^= 0xFF;
  SeededRandom rng(1);
  const Bytes resp = *build_response(sample_response(e.client.request), host, rng);
  expect_error(verify_response(resp, e.client).error(), Errc::bad_integrity, "v5 response IV",
               "iv not echoed");
}

TEST(KmsMalformedV6, FlippedByteAnywhereIsRejected) {
  const Valid e = valid_exchange(kKmsV6);
  for (std::size_t i = 0; i < e.response.size(); ++i) {
    Bytes forged = e.response;
    forged[i] ^= 0x01;
    EXPECT_FALSE(verify_response(forged, e.client)) << i;
  }
}

TEST(KmsMalformedV6, ForgedTrailerFieldsNameTheirCheck) {
  const Valid e = valid_exchange(kKmsV6);
  // Plaintext: base (144) | salt XOR 16 | hash 32 | HwId 8 | XoredIVs 16 | HMAC 16 | pad 8.
  struct Case { std::size_t at; const char* words; bool resign; };
  for (const Case c : {Case{144, "SHA-256", true}, Case{160 + 31, "SHA-256", true},
                       Case{200, "XoredIVs", true}, Case{215, "XoredIVs", true},
                       Case{216, "HMAC", false}, Case{231, "HMAC", false},
                       Case{20, "HMAC", false},      // base response byte, tag not re-signed
                       Case{192, "HMAC", false}}) {  // HwId byte, tag not re-signed
    const Bytes forged =
        reseal(e.response, [&](Bytes& body) { body[c.at] ^= 0x01; },
               c.resign ? std::optional<int>(0) : std::nullopt);
    auto r = verify_response(forged, e.client);
    ASSERT_FALSE(r) << c.at;
    expect_error(r.error(), Errc::bad_integrity, c.words, "plaintext byte " + std::to_string(c.at));
  }
  // A re-signed HwId change is legitimate: the HwId is the host's to choose.
  const Bytes hwid = reseal(e.response, [](Bytes& body) { body[192] ^= 0x01; }, 0);
  auto ok = verify_response(hwid, e.client);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ((*ok->hwid)[0], kDefaultKmsHwid[0] ^ 0x01);
}

TEST(KmsMalformedV6, BadPadIsBadIntegrity) {
  const Valid e = valid_exchange(kKmsV6);
  struct Case { std::size_t from_end; std::uint8_t value; };
  for (const Case c : {Case{1, 0x00}, Case{1, 0x11}, Case{1, 0x09}, Case{3, 0x07}}) {
    const Bytes forged = reseal(e.response, [&](Bytes& body) { body[body.size() - c.from_end] = c.value; });
    auto r = verify_response(forged, e.client);
    ASSERT_FALSE(r) << c.from_end << "/" << int{c.value};
    expect_error(r.error(), Errc::bad_integrity, "PKCS#7", "pad");
  }
}

TEST(KmsMalformedV6, ExtraPlaintextBeforeThePadIsTrailingData) {
  const Valid e = valid_exchange(kKmsV6);
  const Bytes forged = reseal(e.response, [](Bytes& body) {
    body.insert(body.end() - 8, 16, 0xAB);  // 16 more bytes between HMAC and pad
  });
  expect_error(verify_response(forged, e.client).error(), Errc::trailing_data, "after the last", "extra");
}

TEST(KmsMalformedV6, OversizedCiphertextIsRefusedBeforeDecrypting) {
  const Valid e = valid_exchange(kKmsV6);
  Bytes big = e.response;
  big.resize(20 + 288, 0x10);
  expect_error(verify_response(big, e.client).error(), Errc::too_large, "ciphertext", "288 bytes");
  Bytes max = e.response;
  max.resize(20 + 272, 0x10);  // the largest legal size gets past the size check
  EXPECT_NE(verify_response(max, e.client).error().code, Errc::too_large);
}

TEST(KmsMalformedV4, ExtraBytesAfterMacAreTrailingData) {
  const Valid e = valid_exchange(kKmsV4);
  Bytes longer = e.response;
  longer.push_back(0);
  expect_error(verify_response(longer, e.client).error(), Errc::trailing_data, "after the v4 MAC", "extra");
}

}  // namespace
}  // namespace kmslab::protocol
