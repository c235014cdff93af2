// The probe's pure parts: product choice, config checks, the response-check classifier against
// real responses built by the host codec, and the tolerance result's arithmetic and rendering.
#include "kmslab/client/kms_client.hpp"
#include "kmslab/client/probe.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/kms_ids.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kmslab::client {
namespace {

using namespace std::chrono_literals;
namespace p = kmslab::protocol;

TEST(ChooseProduct, DefaultIsWindows10EnterpriseWithItsPolicy) {
  const auto c = choose_product(kDefaultProduct);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->name, "Windows 10 Enterprise");
  EXPECT_EQ(c->n_policy, 25u);
  EXPECT_EQ(c->protocol, 6);
  EXPECT_EQ(c->sku_id.to_string(), "73111121-5638-40f6-bc11-f1d7b0d64300");
}

TEST(ChooseProduct, ByGuidAndServerPolicy) {
  const auto* sku = p::find_skus("Windows Server 2019 Standard").unique();
  ASSERT_NE(sku, nullptr);
  const auto c = choose_product(sku->guid.to_string());
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->n_policy, 5u);
}

TEST(ChooseProduct, UnknownAndAmbiguousNamesAreUsageErrors) {
  const auto none = choose_product("Windows 95 Ultimate");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, p::Errc::bad_value);
  const auto many = choose_product("Windows 10");
  ASSERT_FALSE(many);
  EXPECT_NE(many.error().detail.find("ambiguous"), std::string::npos) << many.error().detail;
}

TEST(CheckConfig, NamesTheOptionAtFault) {
  ProbeConfig c;
  EXPECT_NE(check_config(c).error().detail.find("nothing to probe"), std::string::npos);
  c.kms = "kms.corp.example";
  EXPECT_TRUE(check_config(c));
  c.ntp = "ntp:0";
  EXPECT_NE(check_config(c).error().detail.find("--ntp"), std::string::npos);
  c.ntp.clear();
  c.workstation = std::string(80, 'w');  // the field holds 63 UTF-16 units
  EXPECT_NE(check_config(c).error().detail.find("--workstation"), std::string::npos);
  c.workstation = "ws";
  c.kms_client.connect_timeout = 0ms;
  EXPECT_FALSE(check_config(c));
}

// A real exchange through the codecs, so the classifier sees the errors verify_response makes.
struct Exchange {
  p::ClientRequest request;
  p::HostRequest host;
  explicit Exchange(std::uint16_t version) {
    p::KmsRequest r;
    r.version = {version, 0};
    r.cmid = *p::Guid::parse("11111111-2222-4333-8444-555555555555");
    r.n_policy = 25;
    r.client_time = p::to_filetime(std::chrono::system_clock::time_point(std::chrono::hours(490000)));
    r.workstation = "ws";
    p::SeededRandom rng(version);
    request = p::build_request(r, rng).value();
    host = p::parse_request(request.payload).value();
  }
  p::Bytes respond(p::KmsResponse response) const {
    p::SeededRandom rng(42);
    return p::build_response(response, host, rng).value();
  }
  p::KmsResponse echo() const {
    p::KmsResponse r;
    r.version = request.version;
    r.epid = "03612-00206-560-338962-03-1033-17763.0000-2462019";
    r.cmid = request.request.cmid;
    r.client_time = request.request.client_time;
    r.current_count = 50;
    r.activation_interval_min = 120;
    r.renewal_interval_min = 10080;
    return r;
  }
  ResponseCheck check(const p::Bytes& payload) const {
    auto decoded = p::decode_response(payload);
    if (!decoded) return classify_response_error(decoded.error(), request.version.major, std::nullopt);
    auto verified = p::verify_response(payload, request);
    if (verified) return ResponseCheck::none;
    return classify_response_error(verified.error(), request.version.major, decoded->trailer_offset);
  }
};

class Classifier : public ::testing::TestWithParam<int> {};

TEST_P(Classifier, NamesTheFailedCheck) {
  const Exchange x(static_cast<std::uint16_t>(GetParam()));
  EXPECT_EQ(x.check(x.respond(x.echo())), ResponseCheck::none);
  auto other_cmid = x.echo();
  other_cmid.cmid = *p::Guid::parse("99999999-2222-4333-8444-555555555555");
  EXPECT_EQ(x.check(x.respond(other_cmid)), ResponseCheck::cmid_echo);
  auto other_time = x.echo();
  other_time.client_time += 10'000'000;
  EXPECT_EQ(x.check(x.respond(other_time)), ResponseCheck::time_echo);
  auto good = x.respond(x.echo());
  good.pop_back();
  EXPECT_EQ(x.check(good), ResponseCheck::size);
}

INSTANTIATE_TEST_SUITE_P(Versions, Classifier, ::testing::Values(4, 5, 6),
                         [](const auto& param_info) { return "V" + std::to_string(param_info.param); });

TEST(Classifier, V4MacIsChecked) {
  const Exchange x(4);
  auto payload = x.respond(x.echo());
  payload.back() ^= 0x01;  // v4 is not encrypted: the last 16 bytes are the MAC
  EXPECT_EQ(x.check(payload), ResponseCheck::mac);
}

TEST(Classifier, IntegrityOffsetsOfTheV5V6Trailer) {
  const std::size_t trailer = 150;
  auto integrity = [](std::size_t offset) { return p::make_error(p::Errc::bad_integrity, offset, "x"); };
  EXPECT_EQ(classify_response_error(integrity(trailer + 16), 5, trailer), ResponseCheck::hash);
  EXPECT_EQ(classify_response_error(integrity(4), 5, trailer), ResponseCheck::iv);
  EXPECT_EQ(classify_response_error(integrity(trailer + 56), 6, trailer), ResponseCheck::iv);
  EXPECT_EQ(classify_response_error(integrity(trailer + 72), 6, trailer), ResponseCheck::hmac);
  EXPECT_EQ(classify_response_error(integrity(230), 6, std::nullopt), ResponseCheck::padding);
  EXPECT_EQ(classify_response_error(p::make_error(p::Errc::bad_version, 0, "x"), 6, trailer), ResponseCheck::version);
}

TEST(Tolerance, ArithmeticAndRendering) {
  ToleranceResult t;
  t.target = "127.0.0.1:1688";
  t.min_accepted = std::chrono::seconds(3600);
  t.max_accepted = std::chrono::seconds(3 * 3600);
  t.resolution = 60s;
  t.requests = 17;
  EXPECT_EQ(t.tolerance(), std::chrono::seconds(3600));
  EXPECT_EQ(t.host_offset(), std::chrono::seconds(7200));
  const auto text = render_text(t);
  EXPECT_NE(text.find("+1h00m00s .. +3h00m00s"), std::string::npos) << text;
  EXPECT_NE(text.find("tolerance   1h00m00s"), std::string::npos) << text;
  const auto j = to_json(t);
  EXPECT_EQ(j.at("tolerance_s"), 3600);
  EXPECT_EQ(j.at("host_offset_s"), 7200);
  t.max_is_bound = true;  // still accepted at the search's edge: the tolerance is unknown
  EXPECT_FALSE(t.tolerance());
  EXPECT_TRUE(to_json(t).at("tolerance_s").is_null());
}

}  // namespace
}  // namespace kmslab::client
