// The SNTP responder on loopback, in-process, queried with kmslab's own client codec.
#include "sntp_test_support.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator::testing {
namespace {

namespace sntp = protocol::sntp;
using namespace std::chrono;

bool near(nanoseconds a, nanoseconds b, nanoseconds tolerance) {
  return (a > b ? a - b : b - a) <= tolerance;
}

TEST(SntpResponder, MeasuredOffsetIsTheClockSkew) {
  SkewedClock clock(3h);
  RunningResponder server(clock);
  ASSERT_FALSE(server.start());
  const udp::endpoint ep = server->local_endpoint();
  EXPECT_TRUE(ep.address().is_loopback());
  EXPECT_NE(ep.port(), 0);

  UdpClient client(ep);
  std::mt19937_64 rng(1);
  Query q = query(client, rng);
  ASSERT_TRUE(q.answered);
  ASSERT_TRUE(q.result) << q.result.error().message();
  EXPECT_TRUE(near(q.result->measured.offset, 3h, 500ms)) << q.result->measured.offset.count();
  EXPECT_GE(q.result->measured.delay, -1ms);
  EXPECT_LT(q.result->measured.delay, 500ms);
  EXPECT_EQ(q.result->reply.stratum, 2);
  EXPECT_EQ(q.result->reply.reference_id, kDefaultSntpReferenceId);

  // Skew changes at runtime, without restarting anything.
  clock.set_skew(-1h);
  q = query(client, rng);
  ASSERT_TRUE(q.answered && q.result);
  EXPECT_TRUE(near(q.result->measured.offset, -1h, 500ms)) << q.result->measured.offset.count();

  EXPECT_TRUE(eventually([&] { return server->counters().responses == 2; }));
  EXPECT_EQ(server->counters().requests, 2u);
  EXPECT_EQ(server->counters().malformed, 0u);
  EXPECT_EQ(server->counters().dropped, 0u);
}

TEST(SntpResponder, UnsynchronisedServerIsReportedAsSuch) {
  SkewedClock clock;
  SntpConfig config;
  config.stratum = sntp::kUnsynchronisedStratum;
  config.leap = sntp::LeapIndicator::alarm;
  RunningResponder server(clock, config);
  ASSERT_FALSE(server.start());
  UdpClient client(server->local_endpoint());
  std::mt19937_64 rng(2);
  Query q = query(client, rng);
  ASSERT_TRUE(q.answered);
  ASSERT_FALSE(q.result);
  EXPECT_EQ(q.result.error().problem, sntp::ReplyProblem::unsynchronised);

  // Back to healthy at runtime.
  server->set_config(SntpConfig{});
  q = query(client, rng);
  ASSERT_TRUE(q.answered);
  EXPECT_TRUE(q.result) << q.result.error().message();
}

TEST(SntpResponder, FaultHookCanSendAKissOfDeath) {
  SkewedClock clock;
  RunningResponder server(clock);
  server->set_fault_hook([](SntpReplyPlan& plan) {
    plan.reply = sntp::make_kiss_of_death(plan.request, "RATE", plan.reply.receive,
                                          plan.reply.transmit).value();
  });
  ASSERT_FALSE(server.start());
  UdpClient client(server->local_endpoint());
  std::mt19937_64 rng(3);
  Query q = query(client, rng);
  ASSERT_TRUE(q.answered);
  ASSERT_FALSE(q.result);
  EXPECT_EQ(q.result.error().problem, sntp::ReplyProblem::kiss_of_death);
  EXPECT_EQ(q.result.error().kiss_code, "RATE");

  server->set_fault_hook({});
  q = query(client, rng);
  ASSERT_TRUE(q.answered);
  EXPECT_TRUE(q.result);
}

TEST(SntpResponder, MalformedDatagramsAreCountedAndTheServerKeepsAnswering) {
  SkewedClock clock(2500ms);
  RunningResponder server(clock);
  ASSERT_FALSE(server.start());
  UdpClient client(server->local_endpoint());

  protocol::Bytes good = sntp::encode(sntp::make_client_request({1, 2})).value();
  protocol::Bytes reply_mode = good;
  reply_mode[0] = 0x24;  // a server reply: answering it could loop two servers
  protocol::Bytes control = good;
  control[0] = 0x26;
  protocol::Bytes bad_version = good;
  bad_version[0] = 0x3B;
  const std::vector<protocol::Bytes> junk = {
      {},                                         // empty datagram
      protocol::Bytes(10, 0xFF),                  // short
      protocol::Bytes(sntp::kMaxPacketSize + 100, 0x23),  // oversized
      reply_mode, control, bad_version,
      [&] { auto b = good; b.resize(good.size() + 7, 0); return b; }(),  // junk trailer
  };
  for (const auto& j : junk) client.send(j);
  // Nothing comes back for any of them.
  EXPECT_FALSE(client.receive(300ms));

  std::mt19937_64 rng(4);
  Query q = query(client, rng);
  ASSERT_TRUE(q.answered);
  ASSERT_TRUE(q.result) << q.result.error().message();
  EXPECT_TRUE(near(q.result->measured.offset, 2500ms, 500ms));

  EXPECT_TRUE(eventually([&] { return server->counters().responses == 1; }));
  EXPECT_EQ(server->counters().requests, junk.size() + 1);
  EXPECT_EQ(server->counters().malformed, junk.size());
  EXPECT_EQ(server->counters().dropped, 0u);
}

TEST(SntpResponder, DelayedReplyDoesNotStallOtherRequests) {
  SkewedClock clock;
  RunningResponder server(clock);
  const sntp::Timestamp slow_nonce{0xDEAD'BEEF, 1};
  server->set_fault_hook([slow_nonce](SntpReplyPlan& plan) {
    if (plan.request.transmit == slow_nonce) {
      plan.delay = 1500ms;
      plan.restamp_transmit = false;  // looks like network delay to the client
    }
  });
  ASSERT_FALSE(server.start());
  UdpClient slow(server->local_endpoint());
  UdpClient fast(server->local_endpoint());

  const auto t0 = steady_clock::now();
  const sntp::Timestamp slow_t1 = sntp::to_ntp(system_clock::now());
  slow.send(sntp::encode(sntp::make_client_request(slow_nonce)).value());
  std::mt19937_64 rng(5);
  Query q = query(fast, rng);  // sent after the slow one, answered first
  ASSERT_TRUE(q.answered);
  ASSERT_TRUE(q.result) << q.result.error().message();
  EXPECT_LT(steady_clock::now() - t0, 1000ms);

  auto held = slow.receive(5000ms);
  const auto waited = steady_clock::now() - t0;
  ASSERT_TRUE(held);
  EXPECT_GE(waited, 1400ms);
  auto s = sntp::read_reply(*held, slow_nonce, slow_t1, sntp::to_ntp(system_clock::now()));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_GE(s->measured.delay, 1400ms);  // the hold shows up as round-trip delay
  EXPECT_TRUE(eventually([&] { return server->counters().responses == 2; }));
}

TEST(SntpResponder, DroppedRepliesAreCounted) {
  SkewedClock clock;
  RunningResponder server(clock);
  server->set_fault_hook([](SntpReplyPlan& plan) { plan.drop = true; });
  ASSERT_FALSE(server.start());
  UdpClient client(server->local_endpoint());
  std::mt19937_64 rng(6);
  EXPECT_FALSE(query(client, rng, 300ms).answered);
  EXPECT_TRUE(eventually([&] { return server->counters().dropped == 1; }));
  EXPECT_EQ(server->counters().requests, 1u);
  EXPECT_EQ(server->counters().responses, 0u);
}

TEST(SntpResponder, HookCanSendRawBytesAndAThrowingHookCostsOneReply) {
  SkewedClock clock;
  RunningResponder server(clock);
  int calls = 0;  // touched only on the responder's thread, read after join
  server->set_fault_hook([&calls](SntpReplyPlan& plan) {
    ++calls;
    if (calls == 1) plan.raw_reply = protocol::Bytes{0x24, 0x02};  // truncated reply
    if (calls == 2) throw std::runtime_error("hook bug");
  });
  ASSERT_FALSE(server.start());
  UdpClient client(server->local_endpoint());
  std::mt19937_64 rng(7);
  Query q = query(client, rng);
  ASSERT_TRUE(q.answered);
  ASSERT_FALSE(q.result);
  EXPECT_EQ(q.result.error().problem, sntp::ReplyProblem::malformed);
  EXPECT_EQ(q.result.error().decode_error->code, protocol::Errc::truncated);
  EXPECT_FALSE(query(client, rng, 300ms).answered);  // the hook threw
  q = query(client, rng);
  ASSERT_TRUE(q.answered);
  EXPECT_TRUE(q.result);
  server.stop_and_join();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(server->counters().responses, 2u);
  EXPECT_EQ(server->counters().dropped, 1u);
}

TEST(SntpResponder, StopCancelsHeldRepliesPromptly) {
  SkewedClock clock;
  RunningResponder server(clock);
  server->set_fault_hook([](SntpReplyPlan& plan) { plan.delay = 60s; });
  ASSERT_FALSE(server.start());
  UdpClient client(server->local_endpoint());
  std::mt19937_64 rng(8);
  EXPECT_FALSE(query(client, rng, 200ms).answered);
  const auto t0 = steady_clock::now();
  server.stop_and_join();  // fails the test if the 60 s hold kept the io_context busy
  EXPECT_LT(steady_clock::now() - t0, 2s);
  EXPECT_EQ(server->counters().dropped, 1u);
  EXPECT_EQ(server->counters().responses, 0u);
}

TEST(SntpResponder, ServesIpv6Loopback) {
  SkewedClock clock(-3600s);
  RunningResponder server(clock, {}, udp::endpoint(asio::ip::address_v6::loopback(), 0));
  if (auto ec = server.start()) GTEST_SKIP() << "no IPv6 loopback here: " << ec.message();
  EXPECT_TRUE(server->local_endpoint().address().is_v6());
  UdpClient client(server->local_endpoint());
  std::mt19937_64 rng(9);
  Query q = query(client, rng);
  ASSERT_TRUE(q.answered);
  ASSERT_TRUE(q.result) << q.result.error().message();
  EXPECT_TRUE(near(q.result->measured.offset, -1h, 500ms));
}

TEST(SntpResponder, BindErrorIsReturnedNotThrown) {
  SkewedClock clock;
  RunningResponder first(clock);
  ASSERT_FALSE(first.start());
  RunningResponder second(clock, {}, first->local_endpoint());
  const auto ec = second.start();
  EXPECT_EQ(ec, boost::asio::error::address_in_use) << ec.message();

  // Starting a running responder again is refused and leaves it serving.
  EXPECT_EQ((*first).start(), boost::asio::error::already_open);
  UdpClient client(first->local_endpoint());
  std::mt19937_64 rng(10);
  Query q = query(client, rng);
  ASSERT_TRUE(q.answered);
  EXPECT_TRUE(q.result);
}

}  // namespace
}  // namespace kmslab::simulator::testing
