// The answer cache: a hit must be byte for byte what serve() would have sent for that query
// (ID, question case, EDNS size and flags included), only plain queries are cached, and the
// cache stays within its bounds.
#include "dns_fixtures.hpp"
#include "kmslab/simulator/dns_answer_cache.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

using dns::Rcode;
using dns::Type;
using protocol::Bytes;

using test::N;

Bytes wire_of(const dns::Message& m) { return dns::encode(m).value(); }

using test::query_bytes;

class AnswerCache : public ::testing::Test {
 protected:
  ZoneSet zones = test::corp_zones();
  DnsHandlerOptions options;
  DnsAnswerCache cache;

  DnsOutcome fresh(const Bytes& query, DnsTransport t = DnsTransport::udp) {
    return serve(query, t, 1, zones, {}, options);
  }
  // Stores serve()'s answer to `query`, as the responder does on a miss.
  void prime(const Bytes& query, DnsTransport t = DnsTransport::udp) {
    ASSERT_TRUE(cache.store(query, t, options, fresh(query, t)));
  }
  std::optional<Bytes> cached(const Bytes& query, DnsTransport t = DnsTransport::udp) {
    Bytes out{0xEE};  // stale contents must be replaced
    if (!cache.answer(query, t, options, out)) return std::nullopt;
    return out;
  }
};

TEST_F(AnswerCache, MissThenHitEqualsServe) {
  const auto q = query_bytes("_vlmcs._tcp.corp.example", Type::srv);
  EXPECT_FALSE(cached(q));
  EXPECT_EQ(cache.misses(), 1u);
  prime(q);
  const auto hit = cached(q);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit, fresh(q).wire);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(AnswerCache, EachQueryGetsItsOwnId) {
  prime(query_bytes("kms1.corp.example", Type::a, std::nullopt, 1));
  for (std::uint16_t id : {std::uint16_t{2}, std::uint16_t{0xBEEF}, std::uint16_t{0}}) {
    const auto q = query_bytes("kms1.corp.example", Type::a, std::nullopt, id);
    const auto hit = cached(q);
    ASSERT_TRUE(hit);
    EXPECT_EQ(dns::decode(*hit).value().header.id, id);
    EXPECT_EQ(*hit, fresh(q).wire);
  }
}

TEST_F(AnswerCache, QuestionComesBackInTheCaseTheClientSent) {
  prime(query_bytes("_vlmcs._tcp.corp.example", Type::srv));
  for (std::string_view asked : {"_VLMCS._TCP.CORP.EXAMPLE", "_vLmCs._tCp.Corp.Example", "_vlmcs._tcp.corp.example"}) {
    const auto q = query_bytes(asked, Type::srv);
    const auto hit = cached(q);
    ASSERT_TRUE(hit) << asked;
    EXPECT_EQ(*hit, fresh(q).wire) << asked;
    const auto m = dns::decode(*hit).value();
    ASSERT_EQ(m.questions.size(), 1u);
    EXPECT_EQ(m.questions[0].name.to_string(), std::string(asked) + ".");
    // Answers point at the question, so they carry its case too, exactly as serve() gives.
    EXPECT_EQ(m.answers.at(0).name.to_string(), std::string(asked) + ".");
  }
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(AnswerCache, EdnsSizeIsPartOfTheKey) {
  const auto plain = query_bytes("_big._tcp.corp.example", Type::srv);           // 512: truncated
  const auto small = query_bytes("_big._tcp.corp.example", Type::srv, 600);      // 600: truncated
  const auto large = query_bytes("_big._tcp.corp.example", Type::srv, 4096);     // whole answer
  const auto clamped = query_bytes("_big._tcp.corp.example", Type::srv, 65000);  // capped at 4096
  prime(plain);
  EXPECT_FALSE(cached(small));
  EXPECT_FALSE(cached(large));
  prime(small);
  prime(large);
  EXPECT_EQ(cache.size(), 3u);
  for (const auto* q : {&plain, &small, &large, &clamped}) {
    const auto hit = cached(*q);
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit, fresh(*q).wire);
  }
  EXPECT_LE(cached(plain)->size(), 512u);
  EXPECT_TRUE(dns::decode(*cached(plain)).value().header.tc);
  EXPECT_LE(cached(small)->size(), 600u);
  EXPECT_FALSE(dns::decode(*cached(large)).value().header.tc);
  EXPECT_GT(cached(large)->size(), 1232u);
}

TEST_F(AnswerCache, FlagsTypeClassAndTransportArePartOfTheKey) {
  auto base = dns::make_query(7, N("kms1.corp.example"), Type::a, 1232);
  prime(wire_of(base));
  auto with = [&](auto edit) {
    auto m = base;
    edit(m);
    return wire_of(m);
  };
  const std::vector<Bytes> others = {
      with([](dns::Message& m) { m.header.rd = false; }),
      with([](dns::Message& m) { m.header.cd = true; }),
      with([](dns::Message& m) { m.edns->dnssec_ok = true; }),
      with([](dns::Message& m) { m.edns->version = 1; }),  // BADVERS
      with([](dns::Message& m) { m.edns.reset(); }),
      with([](dns::Message& m) { m.questions[0].type = Type::aaaa; }),
      with([](dns::Message& m) { m.questions[0].qclass = dns::Class::any; }),
      with([](dns::Message& m) { m.questions[0].qclass = dns::Class::ch; }),  // REFUSED
  };
  for (const auto& q : others) EXPECT_FALSE(cached(q));
  EXPECT_FALSE(cached(wire_of(base), DnsTransport::tcp));
  for (const auto& q : others) prime(q);
  prime(wire_of(base), DnsTransport::tcp);
  EXPECT_EQ(cache.size(), others.size() + 2);
  for (const auto& q : others) EXPECT_EQ(cached(q), fresh(q).wire);
  const auto badvers = cached(others[3]);
  EXPECT_EQ(dns::decode(*badvers).value().rcode(), Rcode::badvers);
}

TEST_F(AnswerCache, ReportsRcodeAndTruncation) {
  const auto nx = query_bytes("nothing.corp.example", Type::srv);
  const auto big = query_bytes("_big._tcp.corp.example", Type::srv);
  prime(nx);
  prime(big);
  Bytes out;
  const auto nx_reply = cache.answer(nx, DnsTransport::udp, options, out);
  ASSERT_TRUE(nx_reply);
  EXPECT_EQ(nx_reply->rcode, Rcode::nxdomain);
  EXPECT_FALSE(nx_reply->truncated);
  const auto big_reply = cache.answer(big, DnsTransport::udp, options, out);
  ASSERT_TRUE(big_reply);
  EXPECT_EQ(big_reply->rcode, Rcode::noerror);
  EXPECT_TRUE(big_reply->truncated);
}

TEST_F(AnswerCache, OptionsInTheQueryOptAreAccepted) {
  auto m = dns::make_query(9, N("kms1.corp.example"), Type::a, 1232);
  m.edns->options.push_back({10, Bytes(8, 0xAB)});  // a client cookie: ignored by the handler
  const auto q = wire_of(m);
  prime(q);
  EXPECT_EQ(cached(q), fresh(q).wire);
}

// Every shape that is not plain goes to serve(): nothing is stored, nothing is answered.
TEST_F(AnswerCache, OnlyPlainQueriesAreCached) {
  const auto good = query_bytes("kms1.corp.example", Type::a, 1232);
  std::vector<std::pair<std::string, Bytes>> shapes;
  auto edited = [&](std::string what, auto edit) {
    Bytes b = good;
    edit(b);
    shapes.emplace_back(std::move(what), std::move(b));
  };
  edited("QR set", [](Bytes& b) { b[2] |= 0x80; });
  edited("opcode NOTIFY", [](Bytes& b) { b[2] = static_cast<std::uint8_t>(b[2] | (4 << 3)); });
  edited("trailing octet", [](Bytes& b) { b.push_back(0); });
  edited("cut OPT", [](Bytes& b) { b.pop_back(); });
  edited("ARCOUNT 2", [](Bytes& b) { b[11] = 2; });
  edited("ANCOUNT 1", [](Bytes& b) { b[7] = 1; });
  edited("QDCOUNT 0", [](Bytes& b) { b[5] = 0; });
  edited("OPT owner not root", [](Bytes& b) {
    const std::size_t opt = b.size() - 11;
    b[opt] = 1;
  });
  edited("OPT option runs past rdata", [](Bytes& b) {
    const std::size_t rdlen = b.size() - 2;
    b[rdlen + 1] = 4;                                 // rdlength 4
    b.insert(b.end(), {0x00, 0x0A, 0x00, 0x08});       // option 10, length 8, no data
  });
  {
    auto m = dns::make_query(1, N("kms1.corp.example"), Type::a);
    m.questions.push_back(m.questions[0]);
    shapes.emplace_back("two questions", wire_of(m));
  }
  {
    auto m = dns::make_query(1, N("kms1.corp.example"), Type::a);
    m.additional.push_back(dns::ResourceRecord::make(N("x.corp.example"), 1, dns::AData{}));
    shapes.emplace_back("additional A record", wire_of(m));
  }
  // A compressed question name: legal for the decoder (it points into the header), never
  // produced by real clients.
  shapes.emplace_back("pointer in question",
                      Bytes{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                            0xC0, 0x04, 0x00, 0x01, 0x00, 0x01});
  shapes.emplace_back("header only", Bytes(good.begin(), good.begin() + 12));
  for (const auto& [what, q] : shapes) {
    EXPECT_FALSE(cache.store(q, DnsTransport::udp, options, fresh(q))) << what;
    EXPECT_FALSE(cached(q)) << what;
  }
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.misses(), 0u);  // not plain: not even looked up
}

TEST_F(AnswerCache, OnlyPlainRepliesSentAtOnceAreStored) {
  const auto q = query_bytes("kms1.corp.example", Type::a);
  DnsOutcome dropped = fresh(q);
  dropped.action = DnsAction::drop;
  EXPECT_FALSE(cache.store(q, DnsTransport::udp, options, dropped));
  DnsOutcome delayed = fresh(q);
  delayed.delay = std::chrono::milliseconds(5);
  EXPECT_FALSE(cache.store(q, DnsTransport::udp, options, delayed));
  DnsOutcome other_question = fresh(query_bytes("kms2.corp.example", Type::a));
  EXPECT_FALSE(cache.store(q, DnsTransport::udp, options, other_question));
  DnsOutcome raw = fresh(q);
  raw.wire.resize(12);  // header only, as a raw interceptor reply might be
  EXPECT_FALSE(cache.store(q, DnsTransport::udp, options, raw));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(AnswerCache, ClearForgetsEverything) {
  const auto q = query_bytes("kms1.corp.example", Type::a);
  prime(q);
  ASSERT_TRUE(cached(q));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_FALSE(cached(q));
}

TEST_F(AnswerCache, StaysWithinItsEntryAndByteBounds) {
  DnsAnswerCache two(2, 1 << 20);
  for (const char* name : {"kms1.corp.example", "kms2.corp.example", "ns1.corp.example"}) {
    const auto q = query_bytes(name, Type::a);
    EXPECT_TRUE(two.store(q, DnsTransport::udp, options, fresh(q)));
    EXPECT_LE(two.size(), 2u);
  }
  Bytes out;
  EXPECT_TRUE(two.answer(query_bytes("ns1.corp.example", Type::a), DnsTransport::udp, options, out));

  const auto big = query_bytes("_big._tcp.corp.example", Type::srv, 4096);
  const auto big_answer = fresh(big);
  DnsAnswerCache tiny(100, big_answer.wire.size() - 1);
  EXPECT_FALSE(tiny.store(big, DnsTransport::udp, options, big_answer));  // larger than the whole cache
  const auto small = query_bytes("kms1.corp.example", Type::a);
  EXPECT_TRUE(tiny.store(small, DnsTransport::udp, options, fresh(small)));
  EXPECT_LE(tiny.bytes(), big_answer.wire.size() - 1);

  DnsAnswerCache off(0, 1 << 20);
  EXPECT_FALSE(off.store(small, DnsTransport::udp, options, fresh(small)));
}

}  // namespace
}  // namespace kmslab::simulator
