// Every KMS payload captured from vlmcs <-> vlmcsd (and the clean-room probe) decodes to the
// documented fields, verifies, and is rebuilt byte for byte from its decoded fields plus the
// random bytes recovered from the capture.
#include "kmslab/protocol/kms_message.hpp"
#include "kms_exchange_support.hpp"

#include <gtest/gtest.h>

namespace kmslab::protocol {
namespace {

using test::guid;
using test::hex;
using test::hex_of;
using test::intermediate;
using test::kms_payload;

constexpr const char* kCmid = "11111111-2222-3333-4444-555555555555";
constexpr const char* kEpid = "03612-00206-560-338962-03-1056-14393.0000-2462019";

// A captured request and what it must decode to (0 / nullptr = not documented for this capture).
struct RequestCapture {
  const char* name;
  KmsVersion version;
  const char* workstation;
  std::uint64_t client_time;
  const char* kms_count_id;
  std::uint32_t n_policy;
};

const RequestCapture kRequests[] = {
    {"v4", kKmsV4, "ws-v4.example.test", 134400863230000000ull, "58e2134f-8e11-4d17-9cb2-91069c151148", 25},
    {"v4_ndr64", kKmsV4, "ws-v4.example.test", 134400864240000000ull, "58e2134f-8e11-4d17-9cb2-91069c151148", 25},
    {"v4_err_C004F042", kKmsV4, "ws-err.example.test", 134400864740000000ull, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", 25},
    {"v4_odd_size_epid48", kKmsV4, "probe.example.test", 0, nullptr, 0},
    {"v5", kKmsV5, "ws-v5.example.test", 134400863300000000ull, "58e2134f-8e11-4d17-9cb2-91069c151148", 25},
    {"v5_ndr32only", kKmsV5, "ws-srv.example.test", 134400864360000000ull, "8449b1fb-f0ea-497a-99ab-66ca96e9a0f5", 5},
    {"v6", kKmsV6, "ws-v6.example.test", 134400863370000000ull, "58e2134f-8e11-4d17-9cb2-91069c151148", 25},
    {"v6_ndr64", kKmsV6, "ws-v6.example.test", 134400864180000000ull, "58e2134f-8e11-4d17-9cb2-91069c151148", 25},
    {"v6_office2016", kKmsV6, "ws-office.example.test", 134400864610000000ull, "85b5f61b-320b-4be3-814a-b76b2bfafc82", 5},
    {"v6_err_8007000D", kKmsV6, "ws-err.example.test", 134400864490000000ull, "58e2134f-8e11-4d17-9cb2-91069c151148", 1001},
    {"v6_err_C004F06C_clock_plus5h", kKmsV6, "probe.example.test", 0, nullptr, 0},
    {"probe_v4", kKmsV4, "probe.example.test", 0, nullptr, 0},
    {"probe_v5", kKmsV5, "probe.example.test", 0, nullptr, 0},
    {"probe_v6", kKmsV6, "probe.example.test", 0, nullptr, 0},
};

struct ResponseCapture {
  const char* name;
  const char* epid;
  std::uint32_t count;
};

const ResponseCapture kResponses[] = {
    {"v4", kEpid, 50},
    {"v4_ndr64", kEpid, 50},
    {"v4_odd_size_epid48", "55041-00206-559-924941-03-1102-6002.0000-1202024", 0},
    {"v5", kEpid, 50},
    {"v5_ndr32only", kEpid, 10},
    {"v6", kEpid, 50},
    {"v6_ndr64", kEpid, 50},
    {"v6_office2016", "03612-00206-451-729212-03-1056-14393.0000-0992019", 10},
    {"probe_v4", nullptr, 0},
    {"probe_v5", nullptr, 0},
    {"probe_v6", nullptr, 0},
};

TEST(KmsVectors, SlicedPayloadsEqualTheIntermediatesFiles) {
  for (const char* v : {"v4", "v5", "v6"}) {
    const std::string file = std::string(v) + "_intermediates.txt";
    EXPECT_EQ(hex_of(kms_payload(std::string(v) + "_request.hex")),
              intermediate(file, "kms_request_payload_hex")) << v;
    EXPECT_EQ(hex_of(kms_payload(std::string(v) + "_response.hex")),
              intermediate(file, "kms_response_payload_hex")) << v;
  }
}

TEST(KmsVectors, EveryCapturedRequestParses) {
  for (const auto& c : kRequests) {
    SCOPED_TRACE(c.name);
    const Bytes payload = kms_payload(std::string(c.name) + "_request.hex");
    EXPECT_EQ(payload.size(), c.version.major == 4 ? kKmsV4RequestSize : kKmsV5V6RequestSize);
    ASSERT_EQ(*peek_version(payload), c.version);
    auto parsed = parse_request(payload);
    ASSERT_TRUE(parsed) << parsed.error().message();
    const KmsRequest& q = parsed->request;
    EXPECT_EQ(q.version, c.version);
    EXPECT_EQ(q.workstation, c.workstation);
    EXPECT_EQ(q.vm_flag, 0u);
    EXPECT_EQ(q.license_status, 2u);
    EXPECT_EQ(q.binding_expiration_min, 43200u);
    EXPECT_TRUE(q.previous_cmid.is_nil());
    if (c.client_time != 0) {
      EXPECT_EQ(q.client_time, c.client_time);
      EXPECT_EQ(q.cmid.to_string(), kCmid);
      EXPECT_EQ(q.kms_count_id.to_string(), c.kms_count_id);
      EXPECT_EQ(q.n_policy, c.n_policy);
    }
    if (c.version.major == 4) {
      EXPECT_TRUE(parsed->v4_mac_valid);
    } else {
      EXPECT_TRUE(parsed->pad_valid);
      EXPECT_EQ(parsed->decrypted_iv, kms_decrypt_block(c.version.major == 6 ? KmsCipher::v6 : KmsCipher::v5,
                                                        parsed->wire_iv));
    }
  }
}

TEST(KmsVectors, MainRunRequestsCarryTheReadmeFields) {
  for (const char* name : {"v4", "v5", "v6"}) {
    SCOPED_TRACE(name);
    const KmsRequest q = parse_request(kms_payload(std::string(name) + "_request.hex"))->request;
    EXPECT_EQ(q.app_id, guid("55c92734-d682-4d71-983e-d6ec3f16059f"));
    EXPECT_EQ(q.sku_id, guid("2de67392-b7a7-462a-b1ca-108dd189f588"));
    EXPECT_EQ(q.kms_count_id, guid("58e2134f-8e11-4d17-9cb2-91069c151148"));
    EXPECT_EQ(q.cmid, guid(kCmid));
  }
  const KmsRequest office = parse_request(kms_payload("v6_office2016_request.hex"))->request;
  EXPECT_EQ(office.app_id, guid("0ff1ce15-a989-479d-af46-f275c6370663"));
  EXPECT_EQ(office.sku_id, guid("d450596f-894d-49e0-966a-fd39ed4c4c64"));
}

TEST(KmsVectors, WorkstationGarbageAfterTheNulIsKeptApartFromTheName) {
  // vlmcs leaves stack bytes after the name's NUL (v6 capture: "00 0c 00 00 ..." from offset
  // 108 + 38); the tail keeps them, trailing zeros trimmed.
  const KmsRequest q = parse_request(kms_payload("v6_request.hex"))->request;
  EXPECT_EQ(q.workstation, "ws-v6.example.test");
  EXPECT_EQ(hex_of(q.workstation_tail).substr(0, 24), "000c000000000000000c0000");
  ASSERT_FALSE(q.workstation_tail.empty());
  EXPECT_NE(q.workstation_tail.back(), 0x00);
  const KmsRequest v4 = parse_request(kms_payload("v4_request.hex"))->request;
  EXPECT_TRUE(v4.workstation_tail.empty());
}

TEST(KmsVectors, EveryCapturedResponseVerifiesAgainstItsRequest) {
  for (const auto& c : kResponses) {
    SCOPED_TRACE(c.name);
    const auto replayed = test::replay_request(c.name);
    const Bytes payload = kms_payload(std::string(c.name) + "_response.hex");
    auto verified = verify_response(payload, replayed.client);
    ASSERT_TRUE(verified) << verified.error().message();
    const KmsResponse& s = verified->response;
    const KmsVersion v = replayed.host.request.version;
    EXPECT_EQ(s.version, v);
    EXPECT_EQ(s.cmid, replayed.host.request.cmid);
    EXPECT_EQ(s.client_time, replayed.host.request.client_time);
    EXPECT_EQ(s.activation_interval_min, 120u);
    EXPECT_EQ(s.renewal_interval_min, 10080u);
    EXPECT_EQ(s.current_count, 2 * replayed.host.request.n_policy);  // vlmcsd default: 2 x N
    if (c.epid) {
      EXPECT_EQ(s.epid, c.epid);
    }
    if (c.count) {
      EXPECT_EQ(s.current_count, c.count);
    }
    EXPECT_EQ(verified->hmac_slot_offset, 0);
    if (v.major == 6) {
      ASSERT_TRUE(verified->hwid);
      EXPECT_EQ(*verified->hwid, kDefaultKmsHwid);
      EXPECT_FALSE(verified->response_iv_equals_request_iv);
    } else {
      EXPECT_FALSE(verified->hwid);
      EXPECT_EQ(verified->response_iv_equals_request_iv, v.major == 5);
    }
    // P = 2 x (characters + 1); the response size follows from it (§3).
    const std::size_t p = 2 * (s.epid.size() + 1);
    const std::size_t base = 44 + p;
    const std::size_t expected = v.major == 4   ? base + 16
                                 : v.major == 5 ? 20 + (base + 48) / 16 * 16 + 16
                                                : 20 + (base + 88) / 16 * 16 + 16;
    EXPECT_EQ(payload.size(), expected);
  }
}

TEST(KmsVectors, ResponseSizesAndEpidSizesAreTheDocumentedOnes) {
  EXPECT_EQ(kms_payload("v4_response.hex").size(), 160u);
  EXPECT_EQ(kms_payload("v5_response.hex").size(), 228u);
  EXPECT_EQ(kms_payload("v6_response.hex").size(), 260u);
  const Bytes odd = kms_payload("v4_odd_size_epid48_response.hex");
  EXPECT_EQ(odd.size(), 158u);
  EXPECT_EQ(odd[4], 98);  // P = 98: 48 characters + NUL
  auto d = decode_response(odd);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->response.epid.size(), 48u);
  EXPECT_EQ(d->trailer_offset, 8u + 98u + 36u);
}

TEST(KmsVectors, CapturedV6ResponseYieldsTheDocumentedIntermediates) {
  auto d = decode_response(kms_payload("v6_response.hex"));
  ASSERT_TRUE(d) << d.error().message();
  const std::string plain = intermediate("v6_intermediates.txt", "response_plaintext_from_IV_field_incl_pad");
  EXPECT_EQ(hex_of(d->plain_iv), plain.substr(0, 32));  // R
  EXPECT_EQ(hex_of(d->xored_ivs), intermediate("v6_intermediates.txt", "D(request IV)"));
  EXPECT_EQ(hex_of(d->hmac), "3a2e3ae20e7c88760c58af82cff11c4a");
  EXPECT_EQ(hex_of(kms_v6_hmac_key(d->response.client_time)), "089dde93ef1baa4f536f34f80a7af1bf");
  EXPECT_EQ(hex_of(kms_v6_hmac_tag(d->response.client_time, d->authenticated)), hex_of(d->hmac));
  // The authenticated bytes are the decrypted response from its IV field minus tag and pad.
  EXPECT_EQ(hex_of(d->authenticated), plain.substr(0, plain.size() - 2 * (16 + 8)));
  EXPECT_EQ(d->response.client_time, 134400863370000000ull);
}

TEST(KmsVectors, CapturedV5ResponseReusesTheRequestIvAndBindsD) {
  auto d = decode_response(kms_payload("v5_response.hex"));
  ASSERT_TRUE(d) << d.error().message();
  const std::string plain = intermediate("v5_intermediates.txt", "response_plaintext_from_IV_field_incl_pad");
  EXPECT_EQ(hex_of(d->plain_iv), intermediate("v5_intermediates.txt", "D(request IV)"));
  EXPECT_EQ(hex_of(d->plain_iv), plain.substr(0, 32));
  EXPECT_EQ(hex_of(d->wire_iv), hex_of(ByteSpan(kms_payload("v5_request.hex")).subspan(4, 16)));
  EXPECT_EQ(d->trailer_offset, 20u + 144u);
}

TEST(KmsVectors, ErrorResponsesCarryNoKmsPayload) {
  for (const char* name : {"v4_err_C004F042_response.hex", "v6_err_8007000D_response.hex",
                           "v6_err_C004F06C_clock_plus5h_response.hex"})
    EXPECT_FALSE(test::kms_payload_of_pdu(test::load_vector(name))) << name;
}

TEST(KmsVectors, BuildRequestReproducesEveryCaptureByteForByte) {
  for (const auto& c : kRequests) {
    SCOPED_TRACE(c.name);
    const auto replayed = test::replay_request(c.name);
    EXPECT_EQ(hex_of(replayed.client.payload), hex_of(replayed.payload));
    EXPECT_EQ(replayed.client.iv, replayed.host.request.version.major == 4 ? Block{} : replayed.host.wire_iv);
  }
}

TEST(KmsVectors, BuildResponseReproducesEveryCaptureByteForByte) {
  for (const auto& c : kResponses) {
    SCOPED_TRACE(c.name);
    const auto replayed = test::replay_request(c.name);
    const Bytes captured = kms_payload(std::string(c.name) + "_response.hex");
    auto d = decode_response(captured);
    ASSERT_TRUE(d) << d.error().message();
    // Random bytes in the order build_response draws them: salt S (= SaltXor ^ D), then R (v6).
    Bytes random;
    if (replayed.host.request.version.major != 4) {
      const Block salt = xor_blocks(d->salt_xor, replayed.host.decrypted_iv);
      random.insert(random.end(), salt.begin(), salt.end());
    }
    if (replayed.host.request.version.major == 6) random.insert(random.end(), d->plain_iv.begin(), d->plain_iv.end());
    ReplayRandom rng(random);
    HostResponseOptions options;
    if (d->hwid) options.hwid = *d->hwid;
    auto built = build_response(d->response, replayed.host, rng, options);
    ASSERT_TRUE(built) << built.error().message();
    EXPECT_EQ(hex_of(*built), hex_of(captured));
    EXPECT_EQ(rng.remaining(), 0u);
  }
}

}  // namespace
}  // namespace kmslab::protocol
