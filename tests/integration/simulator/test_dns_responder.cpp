// The DNS responder on loopback, queried with kmslab's own codec: every case over UDP and TCP,
// then the TCP-specific limits (framing, pipelining, deadlines, connection cap) and the fault hook.
#include "dns_fixtures.hpp"
#include "dns_test_util.hpp"

#include <thread>
#include <gtest/gtest.h>

#include <random>

namespace kmslab::simulator {
namespace {

using namespace std::chrono_literals;
using dns::Rcode;
using dns::Type;
using protocol::Bytes;
using test::RunningDns;

using test::N;

using test::transport_name;

using test::eventually;

class DnsOverTransport : public ::testing::TestWithParam<DnsTransport> {
 protected:
  RunningDns server{test::corp_zones()};

  std::optional<Bytes> exchange(const Bytes& wire, std::chrono::milliseconds timeout = 2000ms) {
    return GetParam() == DnsTransport::udp ? test::udp_exchange(server.port(), wire, timeout)
                                           : test::tcp_exchange(server.port(), wire, timeout);
  }
  dns::Message ask(const dns::Message& query) {
    auto reply = exchange(dns::encode(query).value());
    if (!reply) throw std::runtime_error("no reply");
    auto m = dns::decode(*reply);
    if (!m) throw std::runtime_error("undecodable reply: " + m.error().message());
    return *m;
  }
  dns::Message ask(std::string_view name, Type type, std::optional<std::uint16_t> edns = std::nullopt) {
    return ask(dns::make_query(0x5151, N(name), type, edns));
  }
};

TEST_P(DnsOverTransport, SrvWithAdditionalAddresses) {
  const auto r = ask("_vlmcs._tcp.corp.example", Type::srv);
  EXPECT_EQ(r.header.id, 0x5151);
  EXPECT_TRUE(r.header.aa);
  EXPECT_EQ(r.rcode(), Rcode::noerror);
  ASSERT_EQ(r.answers.size(), 3u);
  EXPECT_EQ(std::get<dns::SrvData>(r.answers[0].data).port, 1688);
  EXPECT_EQ(r.additional.size(), 3u);
  EXPECT_TRUE(eventually([&] { return server.counters().responses_with(Rcode::noerror) == 1; }));
}

TEST_P(DnsOverTransport, NxdomainWithSoaInAuthority) {
  const auto r = ask("_vlmcs._tcp.missing.corp.example", Type::srv);
  EXPECT_EQ(r.rcode(), Rcode::nxdomain);
  EXPECT_TRUE(r.header.aa);
  EXPECT_TRUE(r.answers.empty());
  ASSERT_EQ(r.authority.size(), 1u);
  EXPECT_EQ(r.authority[0].type, Type::soa);
  EXPECT_TRUE(eventually([&] { return server.counters().responses_with(Rcode::nxdomain) == 1; }));
}

TEST_P(DnsOverTransport, NodataWithSoaInAuthority) {
  const auto r = ask("kms1.corp.example", Type::srv);
  EXPECT_EQ(r.rcode(), Rcode::noerror);
  EXPECT_TRUE(r.answers.empty());
  ASSERT_EQ(r.authority.size(), 1u);
  EXPECT_EQ(r.authority[0].type, Type::soa);
}

TEST_P(DnsOverTransport, NamesAreCaseInsensitiveAndTheQuestionKeepsItsCase) {
  const auto r = ask("_VLMCS._TCP.Corp.Example", Type::srv);
  EXPECT_EQ(r.answers.size(), 3u);
  ASSERT_EQ(r.questions.size(), 1u);
  EXPECT_EQ(r.questions[0].name.to_string(), "_VLMCS._TCP.Corp.Example.");
}

TEST_P(DnsOverTransport, RefusedOutsideTheZones) {
  const auto r = ask("_vlmcs._tcp.other.example", Type::srv);
  EXPECT_EQ(r.rcode(), Rcode::refused);
  EXPECT_FALSE(r.header.aa);
}

TEST_P(DnsOverTransport, BadversForEdnsVersion1) {
  auto q = dns::make_query(9, N("kms1.corp.example"), Type::a, 1232);
  q.edns->version = 1;
  const auto r = ask(q);
  EXPECT_EQ(r.rcode(), Rcode::badvers);
  ASSERT_TRUE(r.edns);
  EXPECT_EQ(r.edns->version, 0);
}

TEST_P(DnsOverTransport, LargeResponseWithoutEdns) {
  const auto wire = dns::encode(dns::make_query(3, N("_big._tcp.corp.example"), Type::srv)).value();
  const auto reply = exchange(wire);
  ASSERT_TRUE(reply);
  const auto r = dns::decode(*reply).value();
  if (GetParam() == DnsTransport::udp) {
    EXPECT_LE(reply->size(), 512u);
    EXPECT_TRUE(r.header.tc);
    EXPECT_LT(r.answers.size(), 40u);
    EXPECT_TRUE(eventually([&] { return server.counters().truncated == 1; }));
  } else {
    EXPECT_GT(reply->size(), 1232u);
    EXPECT_FALSE(r.header.tc);
    EXPECT_EQ(r.answers.size(), 40u);
    EXPECT_EQ(server.counters().truncated, 0u);
  }
}

TEST_P(DnsOverTransport, EdnsBufferSizeIsHonoured) {
  const auto full = ask("_big._tcp.corp.example", Type::srv, 4096);
  EXPECT_FALSE(full.header.tc);
  EXPECT_EQ(full.answers.size(), 40u);
  ASSERT_TRUE(full.edns);
  EXPECT_EQ(full.edns->udp_payload_size, 1232);
  const auto mid_wire = exchange(dns::encode(dns::make_query(4, N("_big._tcp.corp.example"), Type::srv, 1232)).value());
  ASSERT_TRUE(mid_wire);
  const auto mid = dns::decode(*mid_wire).value();
  if (GetParam() == DnsTransport::udp) {
    EXPECT_TRUE(mid.header.tc);
    EXPECT_LE(mid_wire->size(), 1232u);
    EXPECT_GT(mid_wire->size(), 512u);
  } else {
    EXPECT_FALSE(mid.header.tc);  // the EDNS size limits UDP only
    EXPECT_EQ(mid.answers.size(), 40u);
  }
}

TEST_P(DnsOverTransport, MalformedQueriesAreCountedAndServingGoesOn) {
  auto q = dns::encode(dns::make_query(0x7777, N("kms1.corp.example"), Type::a)).value();
  Bytes broken = q;
  broken[12] = 0xC0;  // question name: pointer to itself
  broken[13] = 12;
  const auto formerr = exchange(broken);
  ASSERT_TRUE(formerr);
  const auto f = dns::decode(*formerr).value();
  EXPECT_EQ(f.rcode(), Rcode::formerr);
  EXPECT_EQ(f.header.id, 0x7777);
  if (GetParam() == DnsTransport::udp) {
    EXPECT_FALSE(test::udp_exchange(server.port(), Bytes{1, 2, 3}, 300ms));  // header unreadable
  } else {
    EXPECT_FALSE(test::tcp_exchange(server.port(), Bytes{1, 2, 3}, 300ms));
  }
  EXPECT_TRUE(eventually([&] { return server.counters().malformed == 2; })) << server.counters().malformed;
  EXPECT_TRUE(eventually([&] { return server.counters().dropped == 1; }));
  EXPECT_EQ(ask("kms1.corp.example", Type::a).answers.size(), 1u);
  EXPECT_TRUE(eventually([&] { return server.counters().responses_with(Rcode::formerr) == 1; }));
}

TEST_P(DnsOverTransport, InterceptorDropsTheFirstQueryOnly) {
  server.responder()
      .update([](ZoneSet&, std::vector<DnsInterceptor>& chain) {
        chain.push_back([](DnsExchange& ex) {
          if (ex.sequence == 1) ex.action = DnsAction::drop;
        });
      })
      .get();
  const auto wire = dns::encode(dns::make_query(1, N("kms1.corp.example"), Type::a)).value();
  if (GetParam() == DnsTransport::udp) {
    EXPECT_FALSE(test::udp_exchange(server.port(), wire, 300ms));
    EXPECT_TRUE(test::udp_exchange(server.port(), wire));
  } else {
    test::TcpClient c(server.port());  // a dropped TCP query leaves the connection open
    ASSERT_TRUE(c.send_frame(wire));
    EXPECT_FALSE(c.read_frame(300ms));
    ASSERT_TRUE(c.send_frame(wire));
    EXPECT_TRUE(c.read_frame());
  }
  EXPECT_EQ(server.counters().dropped, 1u);
  EXPECT_EQ(server.counters().queries(), 2u);
}

TEST_P(DnsOverTransport, InterceptorDelaysTheReply) {
  server.responder()
      .update([](ZoneSet&, std::vector<DnsInterceptor>& chain) {
        chain.push_back([](DnsExchange& ex) { ex.delay = 200ms; });
      })
      .get();
  const auto start = std::chrono::steady_clock::now();
  const auto r = ask("kms1.corp.example", Type::a);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.answers.size(), 1u);
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1900ms);
}

TEST_P(DnsOverTransport, ZonesChangeAtRuntime) {
  EXPECT_EQ(ask("_vlmcs._tcp.corp.example", Type::srv).answers.size(), 3u);
  server.responder()
      .update([](ZoneSet& zones, std::vector<DnsInterceptor>&) {
        zones.find(N("corp.example"))->remove(N("_vlmcs._tcp.corp.example"), Type::srv);
      })
      .get();
  EXPECT_EQ(ask("_vlmcs._tcp.corp.example", Type::srv).rcode(), Rcode::nxdomain);
}

INSTANTIATE_TEST_SUITE_P(Transports, DnsOverTransport,
                         ::testing::Values(DnsTransport::udp, DnsTransport::tcp), transport_name);

// --------------------------------------------------------------------------------------------
// TCP specifics

DnsResponderConfig tight_config() {
  DnsResponderConfig c;
  c.tcp_idle_timeout = 300ms;
  c.max_tcp_connections = 2;
  c.max_tcp_message = 512;
  return c;
}

TEST(DnsResponder, ServesUdpAndTcpOnTheSamePort) {
  RunningDns server{test::corp_zones()};
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.responder().udp_endpoint().port(), server.responder().tcp_endpoint().port());
  EXPECT_EQ(server.responder().udp_endpoint().address().to_string(), "127.0.0.1");
}

TEST(DnsResponder, FixedPortInUseIsReported) {
  RunningDns first{test::corp_zones()};
  DnsResponderConfig config;
  config.port = first.port();
  net::asio::io_context io;
  DnsResponder second(io.get_executor(), test::corp_zones(), config);
  EXPECT_EQ(second.start(), boost::system::errc::address_in_use);
  DnsResponderConfig bad;
  bad.address = "not-an-address";
  DnsResponder third(io.get_executor(), test::corp_zones(), bad);
  EXPECT_TRUE(third.start());
}

TEST(DnsResponder, SeveralQueriesPipelinedOnOneConnection) {
  RunningDns server{test::corp_zones()};
  test::TcpClient c(server.port());
  ASSERT_TRUE(c.connected());
  Bytes batch;
  const char* names[] = {"kms1.corp.example", "kms2.corp.example", "nope.corp.example"};
  for (std::uint16_t i = 0; i < 3; ++i) {
    const auto q = dns::encode(dns::make_query(static_cast<std::uint16_t>(100 + i), N(names[i]), Type::a)).value();
    batch.push_back(static_cast<std::uint8_t>(q.size() >> 8));
    batch.push_back(static_cast<std::uint8_t>(q.size()));
    batch.insert(batch.end(), q.begin(), q.end());
  }
  ASSERT_TRUE(c.send_raw(batch));
  for (std::uint16_t i = 0; i < 3; ++i) {
    const auto frame = c.read_frame();
    ASSERT_TRUE(frame) << i;
    const auto r = dns::decode(*frame).value();
    EXPECT_EQ(r.header.id, 100 + i);
    EXPECT_EQ(r.rcode(), i == 2 ? Rcode::nxdomain : Rcode::noerror);
  }
  EXPECT_EQ(server.counters().tcp_connections_total, 1u);
  EXPECT_EQ(server.counters().queries_tcp, 3u);
}

TEST(DnsResponder, IdleAndHalfSentConnectionsHitTheReadDeadline) {
  RunningDns server{test::corp_zones(), tight_config()};
  const auto start = std::chrono::steady_clock::now();
  test::TcpClient idle(server.port());
  test::TcpClient partial(server.port());
  ASSERT_TRUE(partial.send_raw(Bytes{0, 40, 1, 2, 3}));  // announces 40 octets, sends 3
  EXPECT_TRUE(idle.closed_by_peer(3000ms));
  EXPECT_TRUE(partial.closed_by_peer(3000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  EXPECT_TRUE(eventually([&] { return server.counters().tcp_timeouts == 2; }));
  EXPECT_TRUE(eventually([&] { return server.counters().tcp_connections_open == 0; }));
}

TEST(DnsResponder, ConnectionsBeyondTheLimitAreClosed) {
  RunningDns server{test::corp_zones(), tight_config()};
  const auto q = dns::encode(dns::make_query(1, N("kms1.corp.example"), Type::a)).value();
  test::TcpClient a(server.port());
  auto b = std::make_unique<test::TcpClient>(server.port());
  ASSERT_TRUE(a.send_frame(q) && a.read_frame());
  ASSERT_TRUE(b->send_frame(q) && b->read_frame());
  test::TcpClient c(server.port());
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(server.counters().tcp_connections_rejected, 1u);
  EXPECT_EQ(server.counters().tcp_connections_open, 2u);
  ASSERT_TRUE(a.send_frame(q) && a.read_frame());  // the admitted ones still work
  b.reset();                                        // a place frees up once b is gone
  ASSERT_TRUE(eventually([&] { return server.counters().tcp_connections_open == 1; }));
  test::TcpClient d(server.port());
  ASSERT_TRUE(d.send_frame(q));
  EXPECT_TRUE(d.read_frame());
}

TEST(DnsResponder, BadFrameLengthsCloseTheConnection) {
  RunningDns server{test::corp_zones(), tight_config()};
  test::TcpClient zero(server.port());
  ASSERT_TRUE(zero.send_raw(Bytes{0, 0}));
  EXPECT_TRUE(zero.closed_by_peer());
  test::TcpClient huge(server.port());
  ASSERT_TRUE(huge.send_raw(Bytes{0xFF, 0xFF, 0, 0}));  // over max_tcp_message (512)
  EXPECT_TRUE(huge.closed_by_peer());
  EXPECT_TRUE(eventually([&] { return server.counters().malformed == 2; }));
  const auto q = dns::encode(dns::make_query(1, N("kms1.corp.example"), Type::a)).value();
  EXPECT_TRUE(test::tcp_exchange(server.port(), q));
}

TEST(DnsResponder, SeededGarbageNeverStopsTheServer) {
  RunningDns server{test::corp_zones(), tight_config()};
  std::mt19937 rng(1688);
  const auto good = dns::encode(dns::make_query(1, N("_vlmcs._tcp.corp.example"), Type::srv)).value();
  for (int i = 0; i < 40; ++i) {
    Bytes junk(1 + rng() % 200);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (i % 2 == 0) {
      Bytes mutated = good;  // a readable header with a damaged body
      mutated[12 + rng() % (mutated.size() - 12)] = static_cast<std::uint8_t>(rng());
      junk = mutated;
    }
    (void)test::udp_exchange(server.port(), junk, 50ms);
    test::TcpClient c(server.port());
    (void)c.send_raw(junk);
  }
  const auto r = test::udp_exchange(server.port(), good);
  ASSERT_TRUE(r);
  EXPECT_EQ(dns::decode(*r)->answers.size(), 3u);
  // The junk connections close from the client side; the server may not have read their EOF
  // yet, and with max_tcp_connections = 2 a new connection would be turned away until it has.
  for (int wait = 0; wait < 200 && server.counters().tcp_connections_open > 0; ++wait)
    std::this_thread::sleep_for(10ms);
  const auto t = test::tcp_exchange(server.port(), good);
  ASSERT_TRUE(t);
  EXPECT_EQ(dns::decode(*t)->answers.size(), 3u);
  EXPECT_GT(server.counters().malformed, 0u);
}

TEST(DnsResponder, InterceptorClosesTcpWithoutAnswer) {
  RunningDns server{test::corp_zones()};
  server.responder()
      .update([](ZoneSet&, std::vector<DnsInterceptor>& chain) {
        chain.push_back([](DnsExchange& ex) {
          if (ex.transport == DnsTransport::tcp) ex.action = DnsAction::close;
        });
      })
      .get();
  const auto q = dns::encode(dns::make_query(1, N("kms1.corp.example"), Type::a)).value();
  test::TcpClient c(server.port());
  ASSERT_TRUE(c.send_frame(q));
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_TRUE(test::udp_exchange(server.port(), q));  // UDP is unaffected
}

TEST(DnsResponder, StopsPromptlyWithOpenConnectionsAndDelayedReplies) {
  const auto start = std::chrono::steady_clock::now();
  {
    RunningDns server{test::corp_zones()};
    server.responder()
        .update([](ZoneSet&, std::vector<DnsInterceptor>& chain) {
          chain.push_back([](DnsExchange& ex) { ex.delay = 30s; });
        })
        .get();
    const auto q = dns::encode(dns::make_query(1, N("kms1.corp.example"), Type::a)).value();
    test::TcpClient idle(server.port());
    test::TcpClient waiting(server.port());
    ASSERT_TRUE(waiting.send_frame(q));
    EXPECT_FALSE(test::udp_exchange(server.port(), q, 100ms));  // its reply is parked for 30 s
    ASSERT_TRUE(eventually([&] { return server.counters().queries() == 2; }));
  }  // ~RunningDns fails the test if the io_context has not drained 2 s after stop()
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace kmslab::simulator
