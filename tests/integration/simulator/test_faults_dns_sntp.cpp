// Every DNS and SNTP fault against a running site: the DNS ones over UDP and TCP with real
// sockets, the SNTP ones read with kmslab's own SNTP client codec.
#include "dns_test_util.hpp"
#include "fault_test_util.hpp"
#include "sntp_test_support.hpp"

#include "kmslab/protocol/dns_message.hpp"

#include <gtest/gtest.h>

namespace kmslab::test {
namespace {

namespace dns = kmslab::protocol::dns;
namespace sntp = kmslab::protocol::sntp;

class DnsFaults : public ::testing::Test {
 protected:
  std::uint16_t port() { return site_->dns()->udp_endpoint().port(); }
  protocol::Bytes query(const char* name = "_vlmcs._tcp.lab.test.", dns::Type type = dns::Type::srv) {
    return dns::encode(dns::make_query(0x5151, *dns::Name::parse(name), type)).value();
  }
  std::optional<dns::Message> udp(const char* name = "_vlmcs._tcp.lab.test.", dns::Type type = dns::Type::srv,
                                  Millis timeout = 2000ms) {
    auto reply = udp_exchange(port(), query(name, type), timeout);
    if (!reply) return std::nullopt;
    auto decoded = dns::decode(*reply);
    EXPECT_TRUE(decoded) << decoded.error().message();
    return decoded ? std::optional(*decoded) : std::nullopt;
  }
  std::optional<dns::Message> tcp(Millis timeout = 2000ms) {
    auto reply = tcp_exchange(port(), query(), timeout);
    if (!reply) return std::nullopt;
    return dns::decode(*reply).value();
  }
  RunningSite site_{lab_site()};
};

TEST_F(DnsFaults, HealthyControl) {
  auto m = udp();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rcode(), dns::Rcode::noerror);
  EXPECT_EQ(m->answers.size(), 2u);
  EXPECT_FALSE(m->additional.empty());
}

TEST_F(DnsFaults, RcodeActions) {
  for (auto [action, rcode] : {std::pair{"nxdomain", dns::Rcode::nxdomain}, std::pair{"nodata", dns::Rcode::noerror},
                               std::pair{"servfail", dns::Rcode::servfail}, std::pair{"refused", dns::Rcode::refused}}) {
    site_.faults().clear();
    site_.add(fmt::format(R"({{"target": "dns", "match": {{"name": "_vlmcs._tcp.*", "type": "SRV"}},
                              "action": "{}"}})", action).c_str());
    for (auto m : {udp(), tcp()}) {
      ASSERT_TRUE(m) << action;
      EXPECT_EQ(m->rcode(), rcode) << action;
      EXPECT_TRUE(m->answers.empty()) << action;
    }
    // The match is honoured: other names and types are answered normally.
    auto a = udp("kms1.lab.test.", dns::Type::a);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->rcode(), dns::Rcode::noerror);
    EXPECT_EQ(a->answers.size(), 1u);
  }
}

TEST_F(DnsFaults, DropAndDelay) {
  site_.add(R"({"name": "d", "target": "dns", "action": "drop"})");
  EXPECT_FALSE(udp_exchange(port(), query(), 300ms)) << "no answer over UDP";
  TcpClient c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_frame(query()));
  EXPECT_FALSE(c.read_frame(300ms)) << "no answer over TCP either";
  site_.faults().clear();

  site_.add(R"({"target": "dns", "action": "delay", "params": {"delay_ms": 80, "jitter_ms": 20}})");
  const auto t0 = std::chrono::steady_clock::now();
  auto m = udp();
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(m);
  EXPECT_GE(took, 80ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(m->answers.size(), 2u);
}

TEST_F(DnsFaults, TruncateSendsClientsToTcpAndTcpClosedStopsThem) {
  site_.add(R"({"name": "tc", "target": "dns", "action": "truncate"})");
  auto over_udp = udp();
  ASSERT_TRUE(over_udp);
  EXPECT_TRUE(over_udp->header.tc);
  EXPECT_TRUE(over_udp->answers.empty());
  auto over_tcp = tcp();
  ASSERT_TRUE(over_tcp);
  EXPECT_FALSE(over_tcp->header.tc);
  EXPECT_EQ(over_tcp->answers.size(), 2u) << "the retry over TCP gets the whole answer";

  site_.add(R"({"target": "dns", "action": "tcp_closed"})");
  TcpClient c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_frame(query()));
  EXPECT_TRUE(c.closed_by_peer()) << "closed without an answer";
  EXPECT_TRUE(udp()->header.tc) << "UDP still truncated";
}

TEST_F(DnsFaults, RewriteStripTtlMalformed) {
  site_.add(R"({"name": "w", "target": "dns", "action": "rewrite_srv", "params": {"port": 9, "target": "gone.lab.test."}})");
  auto m = udp();
  ASSERT_TRUE(m);
  for (const auto& rr : m->answers) {
    const auto& srv = std::get<dns::SrvData>(rr.data);
    EXPECT_EQ(srv.port, 9);
    EXPECT_EQ(srv.target.to_string(), "gone.lab.test.");
  }
  site_.faults().clear();

  site_.add(R"({"target": "dns", "action": "strip_additional"})");
  site_.add(R"({"target": "dns", "action": "ttl", "params": {"ttl_s": 7}})");
  m = udp();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->answers.size(), 2u);
  EXPECT_TRUE(m->additional.empty());
  for (const auto& rr : m->answers) EXPECT_EQ(rr.ttl, 7u);
  site_.faults().clear();

  site_.add(R"({"target": "dns", "action": "malformed"})");
  auto raw = udp_exchange(port(), query());
  ASSERT_TRUE(raw);
  auto decoded = dns::decode(*raw);
  ASSERT_FALSE(decoded) << "a client's parser must reject it";
  EXPECT_EQ(decoded.error().code, protocol::Errc::truncated);
  EXPECT_FALSE(dns::decode_header(*raw)->tc);
}

TEST_F(DnsFaults, LimitFirstAndDig) {
  site_.add(R"({"name": "n", "target": "dns", "action": "nxdomain", "limit_first": 2})");
  EXPECT_EQ(udp()->rcode(), dns::Rcode::nxdomain);
  EXPECT_EQ(tcp()->rcode(), dns::Rcode::nxdomain);
  EXPECT_EQ(udp()->rcode(), dns::Rcode::noerror);
  auto status = site_.faults().find("n");
  EXPECT_EQ(status->applied, 2u);
  EXPECT_FALSE(status->active);
  if (!dig_available()) GTEST_SKIP() << "dig not installed";
  site_.add(R"({"target": "dns", "action": "servfail"})");
  auto run = run_dig(port(), "_vlmcs._tcp.lab.test SRV");
  EXPECT_NE(run.output.find("SERVFAIL"), std::string::npos) << run.output;
}

class SntpFaults : public ::testing::Test {
 protected:
  simulator::testing::Query ask(Millis timeout = 2000ms) {
    simulator::testing::UdpClient client(site_->sntp()->local_endpoint());
    return simulator::testing::query(client, rng_, timeout);
  }
  RunningSite site_{lab_site()};
  std::mt19937_64 rng_{9};
};

TEST_F(SntpFaults, SkewDropDelay) {
  auto healthy = ask();
  ASSERT_TRUE(healthy.answered && healthy.result);
  EXPECT_LT(std::chrono::abs(healthy.result->measured.offset), 1s);

  site_.add(R"({"name": "s", "target": "sntp", "action": "skew", "params": {"offset_ms": 5000}})");
  auto skewed = ask();
  ASSERT_TRUE(skewed.answered && skewed.result);
  EXPECT_GT(skewed.result->measured.offset, 4s);
  EXPECT_LT(skewed.result->measured.offset, 6s);
  site_.faults().clear();

  site_.add(R"({"target": "sntp", "action": "skew", "params": {"offset_ms": -7200000}})");
  auto behind = ask();
  ASSERT_TRUE(behind.result);
  EXPECT_LT(behind.result->measured.offset, -7199s);
  site_.faults().clear();

  site_.add(R"({"target": "sntp", "action": "drop"})");
  EXPECT_FALSE(ask(300ms).answered);
  site_.faults().clear();

  site_.add(R"({"target": "sntp", "action": "delay", "params": {"delay_ms": 80}})");
  auto slow = ask();
  ASSERT_TRUE(slow.answered && slow.result);
  EXPECT_GE(slow.elapsed, 80ms);
  EXPECT_LT(std::chrono::abs(slow.result->measured.offset), 1s) << "a slow server is not a skewed one";
}

TEST_F(SntpFaults, KissOfDeathAndStratum16) {
  site_.add(R"({"target": "sntp", "action": "kiss_of_death", "params": {"code": "RATE"}})");
  auto kod = ask();
  ASSERT_TRUE(kod.answered);
  ASSERT_FALSE(kod.result);
  EXPECT_EQ(kod.result.error().problem, sntp::ReplyProblem::kiss_of_death);
  EXPECT_EQ(kod.result.error().kiss_code, "RATE");
  site_.faults().clear();

  site_.add(R"({"target": "sntp", "action": "stratum_16"})");
  auto s16 = ask();
  ASSERT_TRUE(s16.answered);
  ASSERT_FALSE(s16.result);
  EXPECT_EQ(s16.result.error().problem, sntp::ReplyProblem::unsynchronised);
}

}  // namespace
}  // namespace kmslab::test
