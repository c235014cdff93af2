// The responder's pure decision: request bytes + simulator time -> reply plan.
#include "kmslab/simulator/sntp_handler.hpp"

#include "kmslab/protocol/hex.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
namespace sntp = protocol::sntp;

const sntp::Timestamp kNonce{0x5BA2'A744, 0xFA2F'D33E};
const system_clock::time_point kNow = sys_days{year{2026} / 11 / 25} + 13h + 56min + 1s + 250ms;

protocol::Bytes request_bytes(std::uint8_t version = 4, std::int8_t poll = 6) {
  auto p = sntp::make_client_request(kNonce, version);
  p.poll = poll;
  return sntp::encode(p).value();
}

TEST(SntpHandler, DefaultConfigAnswersAsAHealthyStratum2Server) {
  auto plan = plan_sntp_reply(SntpConfig{}, request_bytes(), kNow);
  ASSERT_TRUE(plan) << plan.error().message();
  const sntp::Packet& r = plan->reply;
  EXPECT_EQ(r.mode, sntp::Mode::server);
  EXPECT_EQ(r.version, 4);
  EXPECT_EQ(r.stratum, 2);
  EXPECT_EQ(r.leap, sntp::LeapIndicator::none);
  EXPECT_EQ(r.poll, 6);
  EXPECT_EQ(r.precision, -20);
  EXPECT_EQ(r.reference_id, kDefaultSntpReferenceId);
  EXPECT_EQ(r.originate, kNonce);
  EXPECT_EQ(r.receive, sntp::to_ntp(kNow));
  EXPECT_EQ(r.transmit, sntp::to_ntp(kNow));
  EXPECT_EQ(r.reference, sntp::to_ntp(kNow - 32s));
  EXPECT_EQ(r.root_delay, sntp::to_short(10ms));  // 16.16 seconds: 655 units
  EXPECT_EQ(r.root_delay, 655u);
  EXPECT_EQ(r.root_dispersion, sntp::to_short(5ms));
  EXPECT_EQ(plan->request.transmit, kNonce);
  EXPECT_FALSE(plan->drop);
  EXPECT_EQ(plan->delay, 0ns);
  EXPECT_TRUE(plan->restamp_transmit);
  EXPECT_FALSE(plan->raw_reply);
  // A client sees the simulator's time exactly.
  auto s = sntp::read_reply(sntp::encode(r).value(), kNonce, sntp::to_ntp(kNow - 3h),
                            sntp::to_ntp(kNow - 3h));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->measured.offset, 3h);
}

TEST(SntpHandler, ConfigShapesTheReply) {
  SntpConfig c;
  c.stratum = 16;
  c.leap = sntp::LeapIndicator::alarm;
  c.reference_id = sntp::reference_id_from_code("INIT").value();
  c.precision = -10;
  c.poll = 4;
  c.root_delay = 0ns;
  c.root_dispersion = 1s;
  c.reference_age = 0s;
  auto plan = plan_sntp_reply(c, request_bytes(3, 10), kNow);
  ASSERT_TRUE(plan);
  const sntp::Packet& r = plan->reply;
  EXPECT_EQ(r.version, 3);  // echoed
  EXPECT_EQ(r.stratum, 16);
  EXPECT_EQ(r.leap, sntp::LeapIndicator::alarm);
  EXPECT_EQ(sntp::code_from_reference_id(r.reference_id), "INIT");
  EXPECT_EQ(r.precision, -10);
  EXPECT_EQ(r.poll, 4);
  EXPECT_EQ(r.root_delay, 0u);
  EXPECT_EQ(r.root_dispersion, 0x0001'0000u);
  EXPECT_EQ(r.reference, sntp::to_ntp(kNow));
  auto v = sntp::validate_reply(r, kNonce);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().problem, sntp::ReplyProblem::unsynchronised);
}

TEST(SntpHandler, MalformedAndNonRequestsAreErrors) {
  struct Case {
    const char* name;
    protocol::Bytes datagram;
    protocol::Errc code;
  };
  protocol::Bytes server_mode = request_bytes();
  server_mode[0] = 0x24;
  protocol::Bytes broadcast = request_bytes();
  broadcast[0] = 0x25;
  protocol::Bytes control = request_bytes();
  control[0] = 0x26;
  const std::vector<Case> cases = {
      {"empty", {}, protocol::Errc::truncated},
      {"short", protocol::Bytes(40, 0x23), protocol::Errc::truncated},
      {"server reply", server_mode, protocol::Errc::bad_type},
      {"broadcast", broadcast, protocol::Errc::bad_type},
      {"control", control, protocol::Errc::unsupported},
      {"oversized", protocol::Bytes(sntp::kMaxPacketSize + 1, 0x23), protocol::Errc::too_large},
  };
  for (const auto& c : cases) {
    auto plan = plan_sntp_reply(SntpConfig{}, c.datagram, kNow);
    ASSERT_FALSE(plan) << c.name;
    EXPECT_EQ(plan.error().code, c.code) << c.name << ": " << plan.error().message();
  }
}

TEST(SntpHandler, RequestsWithAMacAreAnsweredWithoutOne) {
  auto p = sntp::make_client_request(kNonce);
  p.mac = sntp::Mac{5, protocol::Bytes(16, 0x77)};
  auto plan = plan_sntp_reply(SntpConfig{}, sntp::encode(p).value(), kNow);
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_TRUE(plan->request.mac);
  EXPECT_FALSE(plan->reply.mac);
  EXPECT_EQ(sntp::encode(plan->reply).value().size(), sntp::kHeaderSize);
}

}  // namespace
}  // namespace kmslab::simulator
