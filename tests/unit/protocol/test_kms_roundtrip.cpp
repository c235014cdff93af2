// Client build -> host parse -> host build -> client verify, for every version and edge size.
#include "kmslab/protocol/kms_message.hpp"
#include "kms_exchange_support.hpp"

#include <gtest/gtest.h>

namespace kmslab::protocol {
namespace {

using test::sample_request;
using test::sample_response;

struct Exchange {
  ClientRequest client;
  HostRequest host;
  Bytes response;
};

Exchange run_exchange(const KmsRequest& q, const KmsResponse& s, std::uint64_t seed,
                      const HostResponseOptions& options = {}) {
  SeededRandom rng(seed);
  Exchange e;
  e.client = test::expect_ok(build_request(q, rng), "build_request");
  e.host = test::expect_ok(parse_request(e.client.payload), "parse_request");
  e.response = test::expect_ok(build_response(s, e.host, rng, options), "build_response");
  return e;
}

class KmsRoundTrip : public ::testing::TestWithParam<KmsVersion> {};

TEST_P(KmsRoundTrip, ClientHostClient) {
  const KmsVersion v = GetParam();
  const KmsRequest q = sample_request(v);
  const KmsResponse s = sample_response(q);
  const Exchange e = run_exchange(q, s, 42);

  EXPECT_EQ(e.client.payload.size(), v.major == 4 ? 252u : 260u);
  EXPECT_EQ(e.client.version, v);
  EXPECT_EQ(e.host.request, q);
  if (v.major == 4) {
    EXPECT_TRUE(e.host.v4_mac_valid);
    EXPECT_EQ(e.client.iv, Block{});
  } else {
    EXPECT_TRUE(e.host.pad_valid);
    EXPECT_EQ(e.host.wire_iv, e.client.iv);
  }
  // P = 100 gives the captured sizes (§3).
  EXPECT_EQ(e.response.size(), v.major == 4 ? 160u : v.major == 5 ? 228u : 260u);

  auto verified = verify_response(e.response, e.client);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->response, s);
  EXPECT_EQ(verified->hmac_slot_offset, 0);
  if (v.major == 6) {
    EXPECT_EQ(verified->hwid, kDefaultKmsHwid);
    EXPECT_FALSE(verified->response_iv_equals_request_iv);
    EXPECT_FALSE(std::equal(e.client.iv.begin(), e.client.iv.end(), e.response.begin() + 4));
  } else if (v.major == 5) {
    EXPECT_TRUE(verified->response_iv_equals_request_iv);
    EXPECT_TRUE(std::equal(e.client.iv.begin(), e.client.iv.end(), e.response.begin() + 4));
  }
}

TEST_P(KmsRoundTrip, EveryEpidLengthRoundTrips) {
  const KmsVersion v = GetParam();
  const KmsRequest q = sample_request(v);
  for (std::size_t chars = 0; chars < kKmsMaxEpidUnits; ++chars) {
    KmsResponse s = sample_response(q);
    s.epid = std::string(chars, static_cast<char>('0' + chars % 10));
    const Exchange e = run_exchange(q, s, chars);
    const std::size_t base = 44 + 2 * (chars + 1);
    const std::size_t expected = v.major == 4   ? base + 16
                                 : v.major == 5 ? 20 + (base + 48) / 16 * 16 + 16
                                                : 20 + (base + 88) / 16 * 16 + 16;
    EXPECT_EQ(e.response.size(), expected) << chars;
    auto verified = verify_response(e.response, e.client);
    ASSERT_TRUE(verified) << chars << ": " << verified.error().message();
    EXPECT_EQ(verified->response.epid, s.epid);
  }
}

TEST_P(KmsRoundTrip, SameSeedSameBytesOtherSeedOtherBytes) {
  const KmsVersion v = GetParam();
  const KmsRequest q = sample_request(v);
  const KmsResponse s = sample_response(q);
  const Exchange a = run_exchange(q, s, 7), b = run_exchange(q, s, 7), c = run_exchange(q, s, 8);
  EXPECT_EQ(a.client.payload, b.client.payload);
  EXPECT_EQ(a.response, b.response);
  if (v.major != 4) {
    EXPECT_NE(a.client.payload, c.client.payload);
    EXPECT_NE(a.response, c.response);
  } else {
    EXPECT_EQ(a.response, c.response);  // v4 has no randomness at all
  }
}

TEST_P(KmsRoundTrip, NonAsciiWorkstationAndEpid) {
  const KmsVersion v = GetParam();
  KmsRequest q = sample_request(v);
  q.workstation = "pc-\xC3\xBC\xE2\x82\xAC-\xF0\x9F\x94\x91";  // ü € and a key (surrogate pair)
  KmsResponse s = sample_response(q);
  s.epid = "\xE2\x80\x94" "epid\xF0\x9F\x94\x91";
  const Exchange e = run_exchange(q, s, 3);
  EXPECT_EQ(e.host.request.workstation, q.workstation);
  auto verified = verify_response(e.response, e.client);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->response.epid, s.epid);
}

INSTANTIATE_TEST_SUITE_P(Versions, KmsRoundTrip, ::testing::Values(kKmsV4, kKmsV5, kKmsV6),
                         test::version_test_name);

TEST(KmsRoundTripV6, EchoedRequestIvIsFlaggedButValid) {
  const KmsRequest q = sample_request(kKmsV6);
  HostResponseOptions options;
  options.v6_echo_request_iv = true;
  const Exchange e = run_exchange(q, sample_response(q), 11, options);
  EXPECT_TRUE(std::equal(e.client.iv.begin(), e.client.iv.end(), e.response.begin() + 4));
  auto verified = verify_response(e.response, e.client);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_TRUE(verified->response_iv_equals_request_iv);
}

TEST(KmsRoundTripV6, CustomHwidIsCarried) {
  const KmsRequest q = sample_request(kKmsV6);
  HostResponseOptions options;
  options.hwid = {1, 2, 3, 4, 5, 6, 7, 8};
  const Exchange e = run_exchange(q, sample_response(q), 12, options);
  auto verified = verify_response(e.response, e.client);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->hwid, options.hwid);
}

TEST(KmsRoundTripV6, HmacFromAdjacentTimeSlotIsAcceptedAndRecorded) {
  const KmsRequest q = sample_request(kKmsV6);
  const Exchange e = run_exchange(q, sample_response(q), 13);
  for (int slot : {-2, -1, 1, 2}) {
    // Re-sign with the key of a neighbouring slot, as a host with a skewed slot would.
    const Bytes forged = test::reseal(e.response, [](Bytes&) {}, slot);
    auto verified = verify_response(forged, e.client);
    if (slot == -1 || slot == 1) {
      ASSERT_TRUE(verified) << slot << ": " << verified.error().message();
      EXPECT_EQ(verified->hmac_slot_offset, slot);
    } else {
      ASSERT_FALSE(verified) << slot;
      test::expect_error(verified.error(), Errc::bad_integrity, "HMAC", "slot " + std::to_string(slot));
    }
  }
}

TEST(KmsRoundTripV4, TamperedRequestMacIsReportedNotRefused) {
  const KmsRequest q = sample_request(kKmsV4);
  SeededRandom rng(1);
  ClientRequest c = *build_request(q, rng);
  c.payload.back() ^= 0x01;
  auto host = parse_request(c.payload);
  ASSERT_TRUE(host) << host.error().message();  // vlmcsd answers regardless
  EXPECT_FALSE(host->v4_mac_valid);
  EXPECT_EQ(host->request, q);
}

TEST(KmsRoundTripV5, BadRequestPadIsReportedNotRefused) {
  const KmsRequest q = sample_request(kKmsV5);
  SeededRandom rng(2);
  const ClientRequest c = *build_request(q, rng);
  const Bytes bad = test::reseal(c.payload, [](Bytes& body) { body.back() = 0x05; });
  auto host = parse_request(bad);
  ASSERT_TRUE(host) << host.error().message();
  EXPECT_FALSE(host->pad_valid);
  EXPECT_EQ(host->request, q);
}

TEST(KmsBaseCodecs, WorkstationTailRoundTripsAndLimitsHold) {
  KmsRequest q = sample_request(kKmsV6);
  q.workstation_tail = {0x00, 0x00, 0x0C, 0x00, 0x41};
  const Bytes base = *encode_base_request(q);
  ASSERT_EQ(base.size(), kKmsBaseRequestSize);
  EXPECT_EQ(*decode_base_request(base), q);

  // 63 units + NUL fill the field exactly; 64 units leave no room for the NUL.
  q.workstation_tail.clear();
  q.workstation = std::string(63, 'w');
  EXPECT_TRUE(encode_base_request(q));
  q.workstation_tail = {1};
  test::expect_error(encode_base_request(q).error(), Errc::too_large, "tail", "63 + tail");
  q.workstation_tail.clear();
  q.workstation = std::string(64, 'w');
  test::expect_error(encode_base_request(q).error(), Errc::too_large, "workstation", "64 units");
  q.workstation = std::string("a\0b", 3);
  test::expect_error(encode_base_request(q).error(), Errc::bad_value, "NUL", "embedded NUL");
  q.workstation = "\xC3";
  test::expect_error(encode_base_request(q).error(), Errc::bad_value, "UTF-8", "bad UTF-8");
}

TEST(KmsBaseCodecs, WorkstationWithoutNulKeepsAllSixtyFourUnits) {
  Bytes base = *encode_base_request(sample_request(kKmsV6));
  std::fill(base.begin() + 108, base.end(), 0);
  for (std::size_t i = 0; i < 64; ++i) base[108 + 2 * i] = 'x';
  auto q = decode_base_request(base);
  ASSERT_TRUE(q) << q.error().message();
  EXPECT_EQ(q->workstation, std::string(64, 'x'));
  EXPECT_TRUE(q->workstation_tail.empty());
}

TEST(KmsBaseCodecs, EpidLimits) {
  KmsResponse s = sample_response(sample_request(kKmsV6));
  s.epid = std::string(63, 'e');
  EXPECT_EQ(encode_base_response(s)->size(), 44u + 128u);
  s.epid = std::string(64, 'e');
  test::expect_error(encode_base_response(s).error(), Errc::too_large, "ePID", "64 units");
  s.epid = std::string("0\0", 2);
  test::expect_error(encode_base_response(s).error(), Errc::bad_value, "NUL", "embedded NUL");
  s.epid.clear();
  const Bytes empty = *encode_base_response(s);
  EXPECT_EQ(empty.size(), 46u);
  ByteReader r(empty);
  EXPECT_EQ(read_base_response(r)->epid, "");
}

TEST(KmsBaseCodecs, BuildRefusesUnknownVersions) {
  SeededRandom rng(1);
  for (KmsVersion v : {KmsVersion{3, 0}, KmsVersion{7, 0}, KmsVersion{6, 1}, KmsVersion{0, 0}}) {
    KmsRequest q = sample_request(kKmsV6);
    q.version = v;
    test::expect_error(build_request(q, rng).error(), Errc::bad_version, to_string(v), to_string(v));
    HostRequest host;
    host.request.version = v;
    test::expect_error(build_response(sample_response(q), host, rng).error(), Errc::bad_version,
                       to_string(v), to_string(v));
  }
}

TEST(KmsBaseCodecs, PeekVersion) {
  EXPECT_EQ(*peek_version(Bytes{0, 0, 4, 0}), kKmsV4);
  EXPECT_EQ(*peek_version(Bytes{0, 0, 6, 0, 0xFF}), kKmsV6);
  EXPECT_EQ(peek_version(Bytes{0, 0, 6}).error().code, Errc::truncated);
  EXPECT_EQ(peek_version(Bytes{1, 0, 6, 0}).error().code, Errc::bad_version);
  EXPECT_EQ(peek_version(Bytes{0, 0, 7, 0}).error().code, Errc::bad_version);
  EXPECT_EQ(to_string(kKmsV5), "5.0");
}

}  // namespace
}  // namespace kmslab::protocol
