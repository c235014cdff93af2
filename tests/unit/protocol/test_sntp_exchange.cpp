// Server reply / kiss-o'-death builders and the client's validation of replies.
#include "kmslab/protocol/sntp.hpp"

#include <gtest/gtest.h>

namespace kmslab::protocol::sntp {
namespace {

using namespace std::chrono_literals;

const Timestamp kNonce{0x5BA2'A744, 0xFA2F'D33E};
const Timestamp kT2{0xEEB1'6771, 0x1000'0000};
const Timestamp kT3{0xEEB1'6771, 0x2000'0000};

ServerParams params() {
  ServerParams p;
  p.stratum = 2;
  p.precision = -20;
  p.reference_id = reference_id_from_ipv4({192, 0, 2, 1});
  p.root_delay = to_short(2ms);
  p.root_dispersion = to_short(1ms);
  p.reference = {0xEEB1'6700, 0};
  return p;
}

TEST(SntpServerReply, FollowsRfc4330Section5) {
  Packet request = make_client_request(kNonce);
  request.poll = 6;
  auto reply = make_server_reply(request, kT2, kT3, params());
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(reply->mode, Mode::server);
  EXPECT_EQ(reply->version, 4);
  EXPECT_EQ(reply->leap, LeapIndicator::none);
  EXPECT_EQ(reply->stratum, 2);
  EXPECT_EQ(reply->poll, 6);  // copied
  EXPECT_EQ(reply->precision, -20);
  EXPECT_EQ(reply->reference_id, 0xC000'0201u);
  EXPECT_EQ(reply->root_delay, to_short(2ms));
  EXPECT_EQ(reply->originate, kNonce);
  EXPECT_EQ(reply->receive, kT2);
  EXPECT_EQ(reply->transmit, kT3);
  EXPECT_EQ(reply->reference, (Timestamp{0xEEB1'6700, 0}));
}

TEST(SntpServerReply, EchoesVersionAndAnswersSymmetricActiveAsPassive) {
  Packet request = make_client_request(kNonce, kVersion3);
  request.mode = Mode::symmetric_active;
  auto reply = make_server_reply(request, kT2, kT3, params());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->version, 3);
  EXPECT_EQ(reply->mode, Mode::symmetric_passive);
  ServerParams fixed_poll = params();
  fixed_poll.poll = 10;
  EXPECT_EQ(make_server_reply(make_client_request(kNonce), kT2, kT3, fixed_poll)->poll, 10);
}

TEST(SntpServerReply, RefusesNonRequests) {
  for (Mode m : {Mode::server, Mode::broadcast, Mode::symmetric_passive}) {
    Packet request = make_client_request(kNonce);
    request.mode = m;
    auto reply = make_server_reply(request, kT2, kT3, params());
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, Errc::bad_type);
  }
}

TEST(SntpKissOfDeath, CarriesTheCodeAndIsRecognisedByTheClient) {
  const Packet request = make_client_request(kNonce);
  auto kod = make_kiss_of_death(request, "RATE", kT2, kT3);
  ASSERT_TRUE(kod);
  EXPECT_EQ(kod->stratum, 0);
  EXPECT_EQ(kod->leap, LeapIndicator::alarm);
  EXPECT_EQ(kod->mode, Mode::server);
  EXPECT_EQ(kod->originate, kNonce);
  const Bytes wire = encode(*kod).value();
  EXPECT_EQ(wire[1], 0);                                       // stratum
  EXPECT_EQ(std::string(wire.begin() + 12, wire.begin() + 16), "RATE");  // reference id
  auto r = read_reply(wire, kNonce, kNonce, kT3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problem, ReplyProblem::kiss_of_death);
  EXPECT_EQ(r.error().kiss_code, "RATE");
  EXPECT_NE(r.error().message().find("RATE"), std::string::npos);
}

TEST(SntpKissOfDeath, RejectsBadCodes) {
  auto kod = make_kiss_of_death(make_client_request(kNonce), "RATELIMIT", kT2, kT3);
  ASSERT_FALSE(kod);
  EXPECT_EQ(kod.error().code, Errc::bad_value);
}

TEST(SntpClient, RequestIsAllZeroButVersionModeAndTransmit) {
  const Bytes wire = encode(make_client_request(kNonce)).value();
  ASSERT_EQ(wire.size(), kHeaderSize);
  EXPECT_EQ(wire[0], 0x23);
  for (std::size_t i = 1; i < 40; ++i) EXPECT_EQ(wire[i], 0) << i;
  EXPECT_EQ(decode(wire)->transmit, kNonce);
}

TEST(SntpClient, ReadsAGoodReplyWithNonceAndLocalT1) {
  // The client sent a nonce; its own clock said t1 when it did. Server is 3 h ahead.
  const TimePoint t1 = std::chrono::sys_days{std::chrono::year{2026} / 11 / 25} + 12h;
  const Packet request = make_client_request(kNonce);
  auto reply = make_server_reply(request, to_ntp(t1 + 3h + 5ms), to_ntp(t1 + 3h + 6ms), params());
  const Bytes wire = encode(*reply).value();
  auto s = read_reply(wire, kNonce, to_ntp(t1), to_ntp(t1 + 11ms));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->measured.offset, 3h);
  EXPECT_EQ(s->measured.delay, 10ms);
  EXPECT_EQ(s->reply.stratum, 2);
}

struct BadReply {
  const char* name;
  void (*mutate)(Packet&);
  ReplyProblem problem;
};

TEST(SntpClient, EachValidationFailureIsTyped) {
  const std::vector<BadReply> cases = {
      {"client mode", [](Packet& p) { p.mode = Mode::client; }, ReplyProblem::wrong_mode},
      {"broadcast", [](Packet& p) { p.mode = Mode::broadcast; }, ReplyProblem::wrong_mode},
      {"symmetric passive", [](Packet& p) { p.mode = Mode::symmetric_passive; }, ReplyProblem::wrong_mode},
      {"stale originate", [](Packet& p) { p.originate.fraction ^= 1; }, ReplyProblem::origin_mismatch},
      {"zero originate", [](Packet& p) { p.originate = {}; }, ReplyProblem::origin_mismatch},
      {"stratum 0", [](Packet& p) { p.stratum = 0; p.reference_id = 0x4445'4E59; }, ReplyProblem::kiss_of_death},
      {"stratum 16", [](Packet& p) { p.stratum = 16; }, ReplyProblem::unsynchronised},
      {"stratum 200", [](Packet& p) { p.stratum = 200; }, ReplyProblem::unsynchronised},
      {"LI alarm", [](Packet& p) { p.leap = LeapIndicator::alarm; }, ReplyProblem::leap_alarm},
      {"zero transmit", [](Packet& p) { p.transmit = {}; }, ReplyProblem::zero_transmit},
      // A forged KoD that does not echo our transmit is rejected as a mismatch, not obeyed.
      {"forged KoD", [](Packet& p) { p.stratum = 0; p.originate = {1, 2}; }, ReplyProblem::origin_mismatch},
      // stratum 16 usually comes with LI 3: reported as unsynchronised.
      {"unsynchronised + alarm", [](Packet& p) { p.stratum = 16; p.leap = LeapIndicator::alarm; }, ReplyProblem::unsynchronised},
  };
  const Packet good = make_server_reply(make_client_request(kNonce), kT2, kT3, params()).value();
  ASSERT_TRUE(validate_reply(good, kNonce));
  for (const auto& c : cases) {
    Packet p = good;
    c.mutate(p);
    auto v = validate_reply(p, kNonce);
    ASSERT_FALSE(v) << c.name;
    EXPECT_EQ(v.error().problem, c.problem) << c.name << ": " << v.error().message();
    // The whole client step reports the same.
    auto r = read_reply(encode(p).value(), kNonce, kNonce, kT3);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().problem, c.problem) << c.name;
  }
  EXPECT_EQ(validate_reply(good, {}).error().problem, ReplyProblem::origin_mismatch);
}

TEST(SntpClient, MalformedReplyCarriesTheDecodeError) {
  auto r = read_reply(Bytes(30, 0x24), kNonce, kNonce, kT3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problem, ReplyProblem::malformed);
  ASSERT_TRUE(r.error().decode_error);
  EXPECT_EQ(r.error().decode_error->code, Errc::truncated);
  EXPECT_NE(r.error().message().find("truncated"), std::string::npos) << r.error().message();
}

TEST(SntpClient, ValueOnAFailedResultThrowsTheTypedException) {
  auto r = read_reply(Bytes(30, 0x24), kNonce, kNonce, kT3);
  EXPECT_THROW((void)r.value(), ReplyException);
}

}  // namespace
}  // namespace kmslab::protocol::sntp
