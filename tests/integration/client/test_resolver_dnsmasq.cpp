// The resolver against a real DNS server (dnsmasq) on loopback: answers, negative answers and
// error rcodes, over UDP and TCP, with the evidence each one must carry.
#include "dns_test_support.hpp"
#include "kmslab/client/resolver.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace kmslab::client {
namespace {

using namespace std::chrono_literals;
using test::Dnsmasq;
using test::run_bounded;

// The lab site: two KMS hosts behind _vlmcs._tcp.corp.test, one with an IPv6 address too.
const std::vector<std::string> kCorpZone = {
    "--local=/corp.test/",
    "--srv-host=_vlmcs._tcp.corp.test,kms1.corp.test,1688,0,100",
    "--srv-host=_vlmcs._tcp.corp.test,kms2.corp.test,1689,10,5",
    "--host-record=kms1.corp.test,127.0.0.2",
    "--host-record=kms2.corp.test,127.0.0.3,::1",
};

class ResolverDnsmasq : public ::testing::Test {
 protected:
  void SetUp() override { start(kCorpZone); }

  void start(const std::vector<std::string>& args) {
    std::string why;
    dns_ = Dnsmasq::start(args, why);
    if (!dns_) GTEST_SKIP() << "skipping: " << why;
  }

  Resolver make(ResolverOptions options = {}) {
    if (options.servers.empty()) options.servers = {dns_->server()};
    options.seed = 7;
    auto r = Resolver::create(io_.get_executor(), std::move(options));
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return std::move(r).value();
  }

  asio::io_context io_;
  std::unique_ptr<Dnsmasq> dns_;
};

TEST_F(ResolverDnsmasq, SrvAnswerCarriesTargetsAdditionalAddressesAndEvidence) {
  auto resolver = make();
  auto result = run_bounded(io_, resolver.query_srv("_vlmcs._tcp.corp.test"));
  ASSERT_TRUE(result);
  const auto& info = result->info;
  EXPECT_EQ(info.status, ResolveStatus::ok) << info.detail;
  EXPECT_EQ(info.rcode, 0);
  EXPECT_EQ(info.server, dns_->server());
  EXPECT_EQ(info.transport, DnsTransport::udp);
  EXPECT_FALSE(info.truncated_udp);
  EXPECT_EQ(info.servers_asked, std::vector<std::string>{dns_->server()});
  EXPECT_EQ(info.sends, 1);
  EXPECT_EQ(info.timeouts, 0);
  EXPECT_GT(info.elapsed.count(), 0);
  EXPECT_LT(info.elapsed, 2s);
  EXPECT_FALSE(info.response.empty());

  ASSERT_EQ(result->records.size(), 2u);
  auto records = result->records;
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.priority < b.priority; });
  EXPECT_EQ(records[0], (SrvRecord{0, 100, 1688, "kms1.corp.test", records[0].ttl}));
  EXPECT_EQ(records[1], (SrvRecord{10, 5, 1689, "kms2.corp.test", records[1].ttl}));

  // dnsmasq puts the targets' addresses in the additional section; c-ares' parser would drop them.
  auto has = [&](const std::string& host, const std::string& address) {
    return std::any_of(result->additional.begin(), result->additional.end(), [&](const HostAddress& a) {
      return a.host == host && a.address == asio::ip::make_address(address);
    });
  };
  EXPECT_TRUE(has("kms1.corp.test", "127.0.0.2"));
  EXPECT_TRUE(has("kms2.corp.test", "127.0.0.3"));
  EXPECT_TRUE(has("kms2.corp.test", "::1"));

  // The records feed the ordering directly.
  std::mt19937_64 rng(1);
  EXPECT_EQ(order_targets(result->records, DiscoveryModel::rfc2782, rng).front().target, "kms1.corp.test");
}

TEST_F(ResolverDnsmasq, AddressQueriesReturnAAndAaaa) {
  auto resolver = make();
  auto a = run_bounded(io_, resolver.query_a("kms2.corp.test"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->info.status, ResolveStatus::ok) << a->info.detail;
  ASSERT_EQ(a->addresses.size(), 1u);
  EXPECT_EQ(a->addresses[0].address, asio::ip::make_address("127.0.0.3"));
  EXPECT_EQ(a->addresses[0].host, "kms2.corp.test");

  auto aaaa = run_bounded(io_, resolver.query_aaaa("kms2.corp.test"));
  ASSERT_TRUE(aaaa);
  EXPECT_EQ(aaaa->info.status, ResolveStatus::ok) << aaaa->info.detail;
  ASSERT_EQ(aaaa->addresses.size(), 1u);
  EXPECT_EQ(aaaa->addresses[0].address, asio::ip::make_address("::1"));
}

TEST_F(ResolverDnsmasq, MissingSrvNameIsNxdomain) {
  auto resolver = make();
  auto result = run_bounded(io_, resolver.query_srv("_vlmcs._tcp.branch.corp.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::nxdomain);
  EXPECT_EQ(result->info.rcode, 3);
  EXPECT_EQ(result->info.server, dns_->server());
  EXPECT_TRUE(result->records.empty());
  EXPECT_NE(result->info.detail.find("NXDOMAIN"), std::string::npos) << result->info.detail;
}

TEST_F(ResolverDnsmasq, NameWithoutThatTypeIsNodata) {
  auto resolver = make();
  auto srv = run_bounded(io_, resolver.query_srv("kms1.corp.test"));  // has A, no SRV
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->info.status, ResolveStatus::nodata);
  EXPECT_EQ(srv->info.rcode, 0);
  EXPECT_TRUE(srv->records.empty());

  auto aaaa = run_bounded(io_, resolver.query_aaaa("kms1.corp.test"));  // IPv4 only
  ASSERT_TRUE(aaaa);
  EXPECT_EQ(aaaa->info.status, ResolveStatus::nodata);
  EXPECT_TRUE(aaaa->addresses.empty());
}

TEST_F(ResolverDnsmasq, ServerWithoutUpstreamRefuses) {
  // dnsmasq has no upstream (--no-resolv) and serves only corp.test: other names are REFUSED.
  auto resolver = make();
  auto result = run_bounded(io_, resolver.query_srv("_vlmcs._tcp.elsewhere.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::refused);
  EXPECT_EQ(result->info.rcode, 5);
  EXPECT_EQ(result->info.server, dns_->server());
}

TEST_F(ResolverDnsmasq, TcpModeUsesTcp) {
  ResolverOptions options;
  options.use_tcp = true;
  auto resolver = make(options);
  auto result = run_bounded(io_, resolver.query_srv("_vlmcs._tcp.corp.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::ok) << result->info.detail;
  EXPECT_EQ(result->info.transport, DnsTransport::tcp);
  EXPECT_FALSE(result->info.truncated_udp);
  EXPECT_EQ(result->info.server, dns_->server());
  EXPECT_EQ(result->info.sends, 1);
  EXPECT_EQ(result->records.size(), 2u);
}

TEST_F(ResolverDnsmasq, ConcurrentQueriesAllComplete) {
  auto resolver = make();
  constexpr int kQueries = 24;
  int done = 0;
  int ok = 0;
  for (int i = 0; i < kQueries; ++i) {
    asio::co_spawn(io_, resolver.query_srv(i % 2 ? "_vlmcs._tcp.corp.test" : "kms1.corp.test"),
                   [&, i](std::exception_ptr e, SrvResult r) {
                     ++done;
                     if (!e && r.info.status == (i % 2 ? ResolveStatus::ok : ResolveStatus::nodata)) ++ok;
                   });
  }
  io_.run_for(10s);
  EXPECT_EQ(done, kQueries);
  EXPECT_EQ(ok, kQueries);
  EXPECT_EQ(resolver.outstanding(), 0u);
}

TEST_F(ResolverDnsmasq, FailsOverFromASilentServer) {
  test::SilentUdpServer silent(io_);
  ResolverOptions options;
  options.servers = {silent.server(), dns_->server()};
  options.timeout = 200ms;
  options.tries = 1;
  auto resolver = make(options);
  auto result = run_bounded(io_, resolver.query_srv("_vlmcs._tcp.corp.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::ok) << result->info.detail;
  EXPECT_EQ(result->info.server, dns_->server());
  EXPECT_EQ(result->info.servers_asked, (std::vector<std::string>{silent.server(), dns_->server()}));
  EXPECT_EQ(result->info.timeouts, 1);
  EXPECT_GE(result->info.elapsed, 150ms);
}

TEST_F(ResolverDnsmasq, SetServersOnlyWhileIdle) {
  test::SilentUdpServer silent(io_);
  ResolverOptions options;
  options.servers = {silent.server()};
  options.timeout = 300ms;
  options.tries = 1;
  auto resolver = make(options);
  std::optional<protocol::Result<void>> while_busy;
  auto busy = [&]() -> asio::awaitable<SrvResult> {
    auto query = resolver.query_srv("_vlmcs._tcp.corp.test");
    // Let the query reach c-ares, then try to swap servers under it.
    asio::post(io_, [&] { while_busy = resolver.set_servers({dns_->server()}); });
    co_return co_await std::move(query);
  };
  auto first = run_bounded(io_, busy());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->info.status, ResolveStatus::timeout);
  ASSERT_TRUE(while_busy);
  ASSERT_FALSE(*while_busy);
  EXPECT_EQ(while_busy->error().code, protocol::Errc::unsupported);

  ASSERT_TRUE(resolver.set_servers({dns_->server()}));
  EXPECT_EQ(resolver.servers(), std::vector<std::string>{dns_->server()});
  auto second = run_bounded(io_, resolver.query_srv("_vlmcs._tcp.corp.test"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->info.status, ResolveStatus::ok) << second->info.detail;
}

TEST(ResolverDnsmasqIpv6, QueriesAServerOnIpv6Loopback) {
  std::string why;
  auto dns = Dnsmasq::start(kCorpZone, why, "::1");
  if (!dns) GTEST_SKIP() << "skipping (no IPv6 loopback?): " << why;
  asio::io_context io;
  ResolverOptions options;
  options.servers = {dns->server()};
  options.seed = 3;
  auto resolver = Resolver::create(io.get_executor(), options);
  ASSERT_TRUE(resolver) << resolver.error().message();
  for (bool over_tcp : {false, true}) {
    auto result = run_bounded(io, resolver->query_srv("_vlmcs._tcp.corp.test"));
    ASSERT_TRUE(result);
    EXPECT_EQ(result->info.status, ResolveStatus::ok) << result->info.detail;
    EXPECT_EQ(result->info.server, dns->server());
    EXPECT_EQ(result->info.server.front(), '[');
    EXPECT_EQ(result->records.size(), 2u);
    if (!over_tcp) {
      options.use_tcp = true;
      resolver = Resolver::create(io.get_executor(), options);
      ASSERT_TRUE(resolver);
    } else {
      EXPECT_EQ(result->info.transport, DnsTransport::tcp);
    }
  }
}

// Big enough that the UDP answer (no EDNS: 512 bytes) is truncated; c-ares retries over TCP.
std::vector<std::string> big_zone() {
  std::vector<std::string> args = {"--local=/big.test/"};
  for (int i = 1; i <= 30; ++i) {
    const auto host = "kms-host-number-" + std::to_string(i) + ".big.test";
    args.push_back("--srv-host=_vlmcs._tcp.big.test," + host + ",1688,0," + std::to_string(i));
    args.push_back("--host-record=" + host + ",127.0.1." + std::to_string(i));
  }
  return args;
}

class ResolverDnsmasqBig : public ResolverDnsmasq {
 protected:
  void SetUp() override { start(big_zone()); }
};

TEST_F(ResolverDnsmasqBig, TruncatedUdpAnswerIsFetchedOverTcp) {
  auto resolver = make();
  auto result = run_bounded(io_, resolver.query_srv("_vlmcs._tcp.big.test"));
  ASSERT_TRUE(result);
  const auto& info = result->info;
  EXPECT_EQ(info.status, ResolveStatus::ok) << info.detail;
  EXPECT_TRUE(info.truncated_udp) << "the UDP answer should have had TC set";
  EXPECT_EQ(info.transport, DnsTransport::tcp) << "the accepted answer should have come over TCP";
  EXPECT_EQ(info.sends, 2) << "one UDP query, then the same query over TCP";
  EXPECT_GT(info.response.size(), 512u);
  EXPECT_EQ(result->records.size(), 30u);
  EXPECT_EQ(result->additional.size(), 30u);
}

// SERVFAIL from dnsmasq: a validating front (--dnssec with a root trust anchor) whose only
// upstream serves unsigned data, so validation cannot complete.
class ResolverDnsmasqServfail : public ResolverDnsmasq {
 protected:
  void SetUp() override {
    std::string why;
    upstream_ = Dnsmasq::start({"--local=/x.test/", "--host-record=kms.x.test,127.0.0.9"}, why);
    if (!upstream_) GTEST_SKIP() << "skipping: " << why;
    start({"--dnssec",
           "--trust-anchor=.,12345,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
           "--server=127.0.0.1#" + std::to_string(upstream_->port())});
  }
  std::unique_ptr<Dnsmasq> upstream_;
};

TEST_F(ResolverDnsmasqServfail, ValidationFailureIsServfailWithItsRcode) {
  auto resolver = make();
  auto result = run_bounded(io_, resolver.query_a("kms.x.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::servfail) << result->info.detail;
  EXPECT_EQ(result->info.rcode, 2);
  EXPECT_EQ(result->info.server, dns_->server());
}

TEST_F(ResolverDnsmasqServfail, CaresDefaultModeReportsServfailWithoutAResponse) {
  ResolverOptions options;
  options.next_server_on_error_rcode = true;  // c-ares discards the SERVFAIL and retries
  options.timeout = 300ms;
  options.tries = 2;
  auto resolver = make(options);
  auto result = run_bounded(io_, resolver.query_a("kms.x.test"));
  ASSERT_TRUE(result);
  // c-ares itself would say ECONNREFUSED here; the resolver saw the SERVFAIL datagrams.
  EXPECT_EQ(result->info.status, ResolveStatus::servfail) << result->info.detail;
  EXPECT_NE(result->info.detail.find("SERVFAIL"), std::string::npos) << result->info.detail;
  EXPECT_EQ(result->info.rcode, -1);
  EXPECT_TRUE(result->info.response.empty());
  EXPECT_EQ(result->info.sends, 2);
}

}  // namespace
}  // namespace kmslab::client
