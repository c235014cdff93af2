// The responder's fast path on loopback: answers replayed from the cache (per-query ID, the
// question's case, EDNS size per entry, emptied by update(), bypassed while an interceptor is
// installed) and bursts of datagrams taken and answered in batches.
#include "dns_fixtures.hpp"
#include "dns_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>

namespace kmslab::simulator {
namespace {

using namespace std::chrono_literals;
using dns::Rcode;
using dns::Type;
using protocol::Bytes;
using test::RunningDns;

using test::N;

using test::eventually;

using test::transport_name;

class CachedOverTransport : public ::testing::TestWithParam<DnsTransport> {
 protected:
  RunningDns server{test::corp_zones()};

  Bytes exchange(const Bytes& wire) {
    auto reply = GetParam() == DnsTransport::udp ? test::udp_exchange(server.port(), wire)
                                                 : test::tcp_exchange(server.port(), wire);
    if (!reply) throw std::runtime_error("no reply");
    return *reply;
  }
  Bytes ask(std::uint16_t id, std::string_view name, Type type, std::optional<std::uint16_t> edns = std::nullopt) {
    return exchange(dns::encode(dns::make_query(id, N(name), type, edns)).value());
  }
  std::uint64_t hits() const { return server.counters().answer_cache_hits; }
};

TEST_P(CachedOverTransport, RepeatsAreServedFromTheCacheWithTheirOwnId) {
  const auto first = ask(1, "_vlmcs._tcp.corp.example", Type::srv);
  EXPECT_EQ(hits(), 0u);
  const auto second = ask(2, "_vlmcs._tcp.corp.example", Type::srv);
  EXPECT_TRUE(eventually([&] { return hits() == 1; }));
  EXPECT_EQ(dns::decode(first).value().header.id, 1);
  EXPECT_EQ(dns::decode(second).value().header.id, 2);
  // Apart from the ID, the replayed answer is the one the pipeline produced.
  EXPECT_TRUE(std::equal(first.begin() + 2, first.end(), second.begin() + 2, second.end()));
  EXPECT_TRUE(eventually([&] { return server.counters().responses_with(Rcode::noerror) == 2; }));
}

TEST_P(CachedOverTransport, TheQuestionKeepsTheClientsCase) {
  ask(1, "kms1.corp.example", Type::a);
  const auto mixed = dns::decode(ask(2, "KmS1.CoRp.ExAmPlE", Type::a)).value();
  EXPECT_TRUE(eventually([&] { return hits() == 1; }));
  ASSERT_EQ(mixed.questions.size(), 1u);
  EXPECT_EQ(mixed.questions[0].name.to_string(), "KmS1.CoRp.ExAmPlE.");
  ASSERT_EQ(mixed.answers.size(), 1u);
  EXPECT_EQ(std::get<dns::AData>(mixed.answers[0].data).address, (std::array<std::uint8_t, 4>{127, 0, 0, 1}));
}

TEST_P(CachedOverTransport, UpdateEmptiesTheCache) {
  EXPECT_EQ(dns::decode(ask(1, "_vlmcs._tcp.corp.example", Type::srv)).value().answers.size(), 3u);
  EXPECT_EQ(dns::decode(ask(2, "_vlmcs._tcp.corp.example", Type::srv)).value().answers.size(), 3u);
  EXPECT_TRUE(eventually([&] { return hits() == 1; }));
  server.responder()
      .update([](ZoneSet& zones, std::vector<DnsInterceptor>&) {
        zones.find(N("corp.example"))->remove(N("_vlmcs._tcp.corp.example"), Type::srv);
      })
      .get();
  EXPECT_EQ(dns::decode(ask(3, "_vlmcs._tcp.corp.example", Type::srv)).value().rcode(), Rcode::nxdomain);
  EXPECT_EQ(dns::decode(ask(4, "_vlmcs._tcp.corp.example", Type::srv)).value().rcode(), Rcode::nxdomain);
  EXPECT_TRUE(eventually([&] { return hits() == 2; }));  // the NXDOMAIN, replayed once
}

TEST_P(CachedOverTransport, InterceptorsBypassTheCache) {
  ask(1, "kms1.corp.example", Type::a);
  server.responder()
      .update([](ZoneSet&, std::vector<DnsInterceptor>& chain) {
        chain.push_back([](DnsExchange& ex) { ex.response.header.ra = true; });
      })
      .get();
  for (std::uint16_t id = 2; id < 5; ++id)
    EXPECT_TRUE(dns::decode(ask(id, "kms1.corp.example", Type::a)).value().header.ra);
  EXPECT_EQ(hits(), 0u);
  server.responder().update([](ZoneSet&, std::vector<DnsInterceptor>& chain) { chain.clear(); }).get();
  EXPECT_FALSE(dns::decode(ask(5, "kms1.corp.example", Type::a)).value().header.ra);
  EXPECT_FALSE(dns::decode(ask(6, "kms1.corp.example", Type::a)).value().header.ra);
  EXPECT_TRUE(eventually([&] { return hits() == 1; }));
}

INSTANTIATE_TEST_SUITE_P(Transports, CachedOverTransport,
                         ::testing::Values(DnsTransport::udp, DnsTransport::tcp), transport_name);

TEST(DnsResponderCache, EdnsSizeIsHonouredPerEntry) {
  RunningDns server{test::corp_zones()};
  auto ask = [&](std::optional<std::uint16_t> edns) {
    const auto q = dns::encode(dns::make_query(3, N("_big._tcp.corp.example"), Type::srv, edns)).value();
    const auto reply = test::udp_exchange(server.port(), q);
    if (!reply) throw std::runtime_error("no reply");
    return *reply;
  };
  for (int round = 0; round < 2; ++round) {  // the second round comes from the cache
    const auto plain = ask(std::nullopt);
    const auto small = ask(700);
    const auto large = ask(4096);
    EXPECT_LE(plain.size(), 512u);
    EXPECT_TRUE(dns::decode(plain).value().header.tc);
    EXPECT_LE(small.size(), 700u);
    EXPECT_GT(small.size(), 512u);
    EXPECT_TRUE(dns::decode(small).value().header.tc);
    EXPECT_GT(large.size(), 1232u);
    EXPECT_FALSE(dns::decode(large).value().header.tc);
    EXPECT_EQ(dns::decode(large).value().answers.size(), 40u);
  }
  EXPECT_TRUE(eventually([&] { return server.counters().answer_cache_hits == 3; }));
  EXPECT_TRUE(eventually([&] { return server.counters().truncated == 4; }));
}

TEST(DnsResponderCache, DisabledCacheStillAnswers) {
  DnsResponderConfig config;
  config.answer_cache_entries = 0;
  RunningDns server{test::corp_zones(), config};
  for (std::uint16_t id = 0; id < 3; ++id) {
    const auto q = dns::encode(dns::make_query(id, N("kms1.corp.example"), Type::a)).value();
    const auto reply = test::udp_exchange(server.port(), q);
    ASSERT_TRUE(reply);
    EXPECT_EQ(dns::decode(*reply).value().header.id, id);
  }
  EXPECT_EQ(server.counters().answer_cache_hits, 0u);
}

// A burst sent before any reply is read reaches the server as a queue of datagrams, which it
// takes in batches; every query must still get its own answer.
void burst(std::size_t udp_batch) {
  DnsResponderConfig config;
  config.udp_batch = udp_batch;
  RunningDns server{test::corp_zones(), config};
  test::Fd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  const int rcvbuf = 1 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  const auto to = test::loopback(server.port());
  const char* names[] = {"kms1.corp.example", "kms2.corp.example", "nope.corp.example", "KMS1.corp.example"};
  constexpr std::uint16_t kQueries = 120;
  for (std::uint16_t id = 0; id < kQueries; ++id) {
    const auto q = dns::encode(dns::make_query(id, N(names[id % 4]), Type::a)).value();
    ASSERT_EQ(::sendto(fd.get(), q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(q.size()));
  }
  std::set<std::uint16_t> seen;
  Bytes buf(65536);
  while (seen.size() < kQueries && test::wait_readable(fd.get(), 2000ms)) {
    const auto n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    ASSERT_GT(n, 0);
    const auto m = dns::decode(protocol::ByteSpan(buf.data(), static_cast<std::size_t>(n))).value();
    const auto id = m.header.id;
    EXPECT_TRUE(seen.insert(id).second) << "duplicate reply " << id;
    ASSERT_LT(id, kQueries);
    EXPECT_EQ(m.questions.at(0).name.to_string(), std::string(names[id % 4]) + ".");
    EXPECT_EQ(m.rcode(), id % 4 == 2 ? Rcode::nxdomain : Rcode::noerror);
  }
  EXPECT_EQ(seen.size(), kQueries);
  EXPECT_TRUE(eventually([&] { return server.counters().responses == kQueries; }));
  EXPECT_EQ(server.counters().queries_udp, kQueries);
}

TEST(DnsResponderBatch, BurstIsAnsweredInFull) { burst(32); }
TEST(DnsResponderBatch, BurstIsAnsweredInFullOneDatagramAtATime) { burst(1); }

// Delayed replies leave the batch; the others in the same batch are not held back by them.
TEST(DnsResponderBatch, DelayedRepliesDoNotHoldBackTheRest) {
  RunningDns server{test::corp_zones()};
  server.responder()
      .update([](ZoneSet&, std::vector<DnsInterceptor>& chain) {
        chain.push_back([](DnsExchange& ex) {
          if (ex.query.header.id % 2 == 0) ex.delay = 300ms;
        });
      })
      .get();
  test::Fd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  const auto to = test::loopback(server.port());
  for (std::uint16_t id = 0; id < 10; ++id) {
    const auto q = dns::encode(dns::make_query(id, N("kms1.corp.example"), Type::a)).value();
    ::sendto(fd.get(), q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  std::vector<std::uint16_t> order;
  Bytes buf(65536);
  while (order.size() < 10 && test::wait_readable(fd.get(), 2000ms)) {
    const auto n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    ASSERT_GT(n, 0);
    order.push_back(dns::decode(protocol::ByteSpan(buf.data(), static_cast<std::size_t>(n))).value().header.id);
  }
  ASSERT_EQ(order.size(), 10u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(order[i] % 2, 1) << "reply " << i << " was id " << order[i];
}

}  // namespace
}  // namespace kmslab::simulator
