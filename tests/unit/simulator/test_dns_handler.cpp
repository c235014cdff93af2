// The pure request pipeline: handle() rules, serve() on bytes, size limits and interceptors.
#include "dns_fixtures.hpp"
#include "kmslab/simulator/dns_handler.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

using dns::Rcode;
using dns::Type;
using protocol::Bytes;

using test::N;

using test::query_bytes;

class Handler : public ::testing::Test {
 protected:
  ZoneSet zones = test::corp_zones();
  DnsHandlerOptions options;

  DnsOutcome run(const Bytes& query, DnsTransport t = DnsTransport::udp,
                 std::vector<DnsInterceptor> chain = {}) {
    return serve(query, t, ++sequence, zones, chain, options);
  }
  static dns::Message parsed(const DnsOutcome& o) { return dns::decode(o.wire).value(); }
  std::uint64_t sequence = 0;
};

TEST_F(Handler, AnswersAuthoritativelyAndEchoesTheQuery) {
  auto q = dns::make_query(77, N("_vlmcs._tcp.corp.example"), Type::srv);
  q.header.cd = true;
  const auto r = handle(q, zones, options);
  EXPECT_EQ(r.header.id, 77);
  EXPECT_TRUE(r.header.qr);
  EXPECT_TRUE(r.header.aa);
  EXPECT_TRUE(r.header.rd);
  EXPECT_FALSE(r.header.ra);
  EXPECT_TRUE(r.header.cd);
  ASSERT_EQ(r.questions.size(), 1u);
  EXPECT_EQ(r.answers.size(), 3u);
  EXPECT_EQ(r.additional.size(), 3u);
  EXPECT_FALSE(r.edns);  // no EDNS0 asked, none sent
}

TEST_F(Handler, EchoesEdnsAndTheDoBit) {
  auto q = dns::make_query(1, N("kms1.corp.example"), Type::a, 4096);
  q.edns->dnssec_ok = true;
  const auto r = handle(q, zones, options);
  ASSERT_TRUE(r.edns);
  EXPECT_EQ(r.edns->udp_payload_size, 1232);
  EXPECT_TRUE(r.edns->dnssec_ok);
  EXPECT_EQ(r.rcode(), Rcode::noerror);
}

TEST_F(Handler, BadversForEdnsVersionAboveZero) {
  auto q = dns::make_query(1, N("kms1.corp.example"), Type::a, 1232);
  q.edns->version = 1;
  const auto r = handle(q, zones, options);
  EXPECT_EQ(r.rcode(), Rcode::badvers);
  ASSERT_TRUE(r.edns);
  EXPECT_EQ(r.edns->version, 0);
  EXPECT_TRUE(r.answers.empty());
  const auto wire = dns::encode(r).value();
  EXPECT_EQ(dns::decode(wire)->rcode(), Rcode::badvers);
}

TEST_F(Handler, RejectsWhatAnAuthoritativeServerDoesNotServe) {
  auto notify = dns::make_query(1, N("corp.example"), Type::soa);
  notify.header.opcode = dns::Opcode::notify;
  EXPECT_EQ(handle(notify, zones, options).rcode(), Rcode::notimp);
  auto none = dns::make_query(1, N("corp.example"), Type::soa);
  none.questions.clear();
  EXPECT_EQ(handle(none, zones, options).rcode(), Rcode::formerr);
  auto two = dns::make_query(1, N("corp.example"), Type::soa);
  two.questions.push_back(two.questions[0]);
  EXPECT_EQ(handle(two, zones, options).rcode(), Rcode::formerr);
  auto chaos = dns::make_query(1, N("version.bind"), Type::txt);
  chaos.questions[0].qclass = dns::Class::ch;
  EXPECT_EQ(handle(chaos, zones, options).rcode(), Rcode::refused);
  EXPECT_EQ(handle(dns::make_query(1, N("corp.example"), Type::axfr), zones, options).rcode(), Rcode::refused);
  EXPECT_EQ(handle(dns::make_query(1, N("other.example"), Type::a), zones, options).rcode(), Rcode::refused);
}

TEST_F(Handler, UnreadableHeaderIsDroppedAndCountedMalformed) {
  const auto o = run(Bytes{0x12, 0x34, 0x01});
  EXPECT_EQ(o.action, DnsAction::drop);
  EXPECT_TRUE(o.malformed);
  EXPECT_TRUE(o.wire.empty());
}

TEST_F(Handler, ResponsesAreNeverAnswered) {
  Bytes q = query_bytes("corp.example", Type::soa);
  q[2] |= 0x80;  // QR
  const auto o = run(q);
  EXPECT_EQ(o.action, DnsAction::drop);
  EXPECT_FALSE(o.malformed);
}

TEST_F(Handler, BrokenBodyGetsFormerrWithTheQueryId) {
  Bytes q = query_bytes("corp.example", Type::soa, std::nullopt, 0xBEEF);
  q.push_back(0xFF);  // trailing garbage
  const auto o = run(q);
  EXPECT_EQ(o.action, DnsAction::reply);
  EXPECT_TRUE(o.malformed);
  EXPECT_EQ(o.rcode, Rcode::formerr);
  const auto r = parsed(o);
  EXPECT_EQ(r.header.id, 0xBEEF);
  EXPECT_TRUE(r.header.qr);
  EXPECT_TRUE(r.header.rd);
  EXPECT_TRUE(r.questions.empty());
  Bytes loop = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};  // self pointer
  EXPECT_EQ(run(loop).rcode, Rcode::formerr);
}

TEST_F(Handler, UdpWithoutEdnsIsTruncatedTo512AndTcpIsNot) {
  const Bytes q = query_bytes("_big._tcp.corp.example", Type::srv);
  const auto udp = run(q);
  EXPECT_LE(udp.wire.size(), 512u);
  EXPECT_TRUE(udp.truncated);
  EXPECT_TRUE(parsed(udp).header.tc);
  EXPECT_LT(parsed(udp).answers.size(), 40u);
  const auto tcp = run(q, DnsTransport::tcp);
  EXPECT_FALSE(tcp.truncated);
  EXPECT_GT(tcp.wire.size(), 1232u);
  EXPECT_EQ(parsed(tcp).answers.size(), 40u);
}

TEST_F(Handler, UdpHonoursTheClientsEdnsSizeWithinTheCap) {
  const auto mid = run(query_bytes("_big._tcp.corp.example", Type::srv, 1232));
  EXPECT_TRUE(mid.truncated);
  EXPECT_LE(mid.wire.size(), 1232u);
  EXPECT_GT(mid.wire.size(), 1000u);
  EXPECT_TRUE(parsed(mid).edns);  // the OPT record survives truncation
  const auto big = run(query_bytes("_big._tcp.corp.example", Type::srv, 4096));
  EXPECT_FALSE(big.truncated);
  EXPECT_EQ(parsed(big).answers.size(), 40u);
  const auto tiny = run(query_bytes("_big._tcp.corp.example", Type::srv, 100));  // below 512: 512
  EXPECT_LE(tiny.wire.size(), 512u);
  EXPECT_GT(tiny.wire.size(), 400u);
  options.max_udp_payload = 1024;
  const auto capped = run(query_bytes("_big._tcp.corp.example", Type::srv, 4096));
  EXPECT_TRUE(capped.truncated);
  EXPECT_LE(capped.wire.size(), 1024u);
}

TEST_F(Handler, InterceptorsRunInOrderAndMayEditTheResponse) {
  std::vector<std::uint64_t> seen;
  std::vector<DnsInterceptor> chain = {
      [&](DnsExchange& ex) {  // rewrite SRV ports, as a wrong_port fault would
        seen.push_back(ex.sequence);
        for (auto& rr : ex.response.answers)
          if (auto* srv = std::get_if<dns::SrvData>(&rr.data)) srv->port = 9999;
      },
      [&](DnsExchange& ex) {  // sees the first one's edit; strips additional
        auto& first = std::get<dns::SrvData>(ex.response.answers.at(0).data);
        EXPECT_EQ(first.port, 9999);
        EXPECT_EQ(ex.transport, DnsTransport::tcp);
        ex.response.additional.clear();
      },
  };
  const auto o = run(query_bytes("_vlmcs._tcp.corp.example", Type::srv), DnsTransport::tcp, chain);
  const auto r = parsed(o);
  EXPECT_EQ(std::get<dns::SrvData>(r.answers[0].data).port, 9999);
  EXPECT_TRUE(r.additional.empty());
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1}));
}

TEST_F(Handler, InterceptorsMayDropCloseDelayOrSendRawBytes) {
  const Bytes q = query_bytes("kms1.corp.example", Type::a);
  bool later_ran = false;
  const auto dropped = run(q, DnsTransport::udp,
                           {[](DnsExchange& ex) { ex.action = DnsAction::drop; },
                            [&](DnsExchange&) { later_ran = true; }});
  EXPECT_EQ(dropped.action, DnsAction::drop);
  EXPECT_FALSE(dropped.malformed);
  EXPECT_FALSE(later_ran);
  const auto closed = run(q, DnsTransport::tcp, {[](DnsExchange& ex) {
                            ex.action = DnsAction::close;
                            ex.delay = std::chrono::milliseconds(20);
                          }});
  EXPECT_EQ(closed.action, DnsAction::close);
  EXPECT_EQ(closed.delay, std::chrono::milliseconds(20));
  const auto delayed = run(q, DnsTransport::udp,
                           {[](DnsExchange& ex) { ex.delay = std::chrono::milliseconds(150); }});
  EXPECT_EQ(delayed.action, DnsAction::reply);
  EXPECT_EQ(delayed.delay, std::chrono::milliseconds(150));
  EXPECT_EQ(parsed(delayed).answers.size(), 1u);
  const auto raw = run(q, DnsTransport::udp, {[](DnsExchange& ex) {
                         Bytes b = dns::encode(ex.response).value();
                         b[3] = static_cast<std::uint8_t>((b[3] & 0xF0) | 2);  // SERVFAIL
                         b.erase(b.begin() + 40, b.end());                    // cut inside the answer
                         ex.raw_response = b;
                       }});
  EXPECT_EQ(raw.rcode, Rcode::servfail);
  EXPECT_FALSE(dns::decode(raw.wire));
}

TEST_F(Handler, InterceptorsMayForceTruncation) {
  const auto o = run(query_bytes("_vlmcs._tcp.corp.example", Type::srv), DnsTransport::tcp,
                     {[](DnsExchange& ex) { ex.size_limit = 100; }});
  EXPECT_TRUE(o.truncated);
  EXPECT_LE(o.wire.size(), 100u);
  const auto r = parsed(o);
  EXPECT_TRUE(r.header.tc);
  EXPECT_EQ(r.answers.size(), 1u);
}

TEST_F(Handler, UnencodableEditsFallBackToServfail) {
  const auto o = run(query_bytes("kms1.corp.example", Type::a), DnsTransport::udp, {[](DnsExchange& ex) {
                       ex.response.answers[0].type = Type::srv;  // A rdata labelled SRV
                     }});
  EXPECT_EQ(o.rcode, Rcode::servfail);
  EXPECT_EQ(parsed(o).questions.size(), 1u);
}

}  // namespace
}  // namespace kmslab::simulator
