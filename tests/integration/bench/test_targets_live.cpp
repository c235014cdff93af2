// The load targets against the simulator's real servers on loopback ephemeral ports: bounded runs
// of each kind give exact counts and no error; refused ports, silent servers, in-band refusals
// and DNS rcodes are counted by kind; a stalled KMS host shows in p99 under open loop.
#include "nanoseconds.hpp"
#include "kmslab/bench/load_driver.hpp"
#include "kmslab/bench/load_plan.hpp"
#include "kmslab/bench/targets.hpp"
#include "kmslab/simulator/fault_engine.hpp"

#include "probe_site.hpp"

#include <gtest/gtest.h>

namespace kmslab::bench {
namespace {

using namespace std::chrono_literals;
namespace sim = simulator;
using test::ProbeSite;

using test::kMs;

// Plans and runs a load as `kmslab load` does, from its options.
LoadReport run_load(LoadArgs args) {
  auto plan = plan_load(args);
  EXPECT_TRUE(plan) << plan.error().message;
  if (!plan) return {};
  auto factory = make_target_factory(plan->url, plan->settings);
  EXPECT_TRUE(factory) << factory.error().message;
  if (!factory) return {};
  LoadDriver driver(plan->options, std::move(*factory));
  auto report = driver.run();
  EXPECT_TRUE(report) << report.error().message;
  return report ? std::move(*report) : LoadReport{};
}

LoadArgs open_loop(std::string target, double rate, std::uint64_t requests) {
  LoadArgs a;
  a.target = std::move(target);
  a.rate = rate;
  a.requests = requests;
  return a;
}

std::string errors_of(const LoadReport& r) {
  std::string s;
  for (const auto& [k, v] : r.errors) s += k + "=" + std::to_string(v) + " ";
  return s;
}

void expect_all_ok(const LoadReport& r, std::uint64_t n) {
  EXPECT_EQ(r.counts.requests, n);
  EXPECT_EQ(r.counts.ok, n) << errors_of(r);
  EXPECT_EQ(r.counts.errors, 0u) << errors_of(r);
  EXPECT_EQ(r.counts.unsent, 0u);
  EXPECT_EQ(r.latency.total_count(), n);
}

// A zone with the SRV record of one host, glue included, as a site publishes it.
void publish(ProbeSite& site, std::uint16_t kms_port) {
  site.set_zone({ProbeSite::srv(0, 100, kms_port, "kms1"), ProbeSite::a("kms1")});
}

class KmsProtocols : public ::testing::TestWithParam<int> {};

TEST_P(KmsProtocols, NewConnectionPerActivationAllSucceed) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.start();
  auto a = open_loop(fmt::format("kms://127.0.0.1:{}", port), 2000, 200);
  a.protocol = GetParam();
  const auto r = run_load(a);
  expect_all_ok(r, 200);
  const auto& counters = site.host(0).counters();
  EXPECT_EQ(counters.activations.load(), 200u);
  EXPECT_EQ(counters.binds.load(), 200u) << "one bind per new connection";
}
INSTANTIATE_TEST_SUITE_P(V4V5V6, KmsProtocols, ::testing::Values(4, 5, 6));

TEST(KmsTarget, KeepaliveBindsOncePerInFlightSlot) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.start();
  LoadArgs a;
  a.target = fmt::format("kms://127.0.0.1:{}", port);
  a.concurrency = 4;
  a.requests = 300;
  a.keepalive = true;
  const auto r = run_load(a);
  expect_all_ok(r, 300);
  const auto& counters = site.host(0).counters();
  EXPECT_EQ(counters.requests.load(), 300u);
  EXPECT_GE(counters.binds.load(), 1u);
  EXPECT_LE(counters.binds.load(), 4u) << "at most one connection (one bind) per slot";
}

TEST(KmsTarget, RefusedPortCountsRefused) {
  const auto port = ProbeSite::refused_port();
  const auto r = run_load(open_loop(fmt::format("kms://127.0.0.1:{}", port), 500, 50));
  EXPECT_EQ(r.counts.requests, 50u);
  EXPECT_EQ(r.counts.ok, 0u);
  EXPECT_EQ(r.errors.size(), 1u) << errors_of(r);
  EXPECT_EQ(r.errors.count("refused") ? r.errors.at("refused") : 0, 50u) << errors_of(r);
  EXPECT_FALSE(judge(r, 0.5).passed);
}

TEST(KmsTarget, ProductNotServedCountsTheHresult) {
  ProbeSite site;
  sim::KmsHostSpec spec;
  spec.name = "kms1";
  spec.products = {"Windows Server 2019 Datacenter"};
  const auto port = site.add_host(spec);
  site.start();
  const auto r = run_load(open_loop(fmt::format("kms://127.0.0.1:{}", port), 500, 40));  // Windows 10 Enterprise
  EXPECT_EQ(r.counts.errors, 40u) << errors_of(r);
  EXPECT_EQ(r.errors.count("hresult:0xC004F042") ? r.errors.at("hresult:0xC004F042") : 0, 40u) << errors_of(r);
}

// A KMS host that stalls 200 ms on its first request. With one request in flight at a time, the
// generator cannot send while the host stalls; open loop charges every request that was due
// meanwhile from its intended time, so the stall reaches p99. Service time alone would show it in
// one sample only (the max), not in p99.
TEST(KmsTarget, StallShowsInP99UnderOpenLoop) {
  ProbeSite site;
  sim::FaultEngine engine(7);
  auto fault = engine.add_json(nlohmann::json::parse(
      R"({"name":"stall","target":"kms","match":{"stage":"request"},"action":"delay",
          "params":{"delay_ms":200},"limit_first":1})"));
  ASSERT_TRUE(fault) << fault.error().format();
  sim::KmsHostSpec spec;
  spec.name = "kms1";
  spec.listen = {"127.0.0.1:0"};
  // The site starts hosts as it adds them; the engine must be set before that, so build it here.
  net::asio::io_context io;
  sim::SkewedClock clock;
  sim::KmsHost host(io.get_executor(), spec, clock, 11);
  host.set_fault_engine(&engine);
  auto bound = host.start();
  ASSERT_TRUE(bound) << bound.error();
  std::thread server([&io] { io.run(); });

  // 100/s leaves the host 10 ms per request, far above its service time even in a sanitizer build.
  auto a = open_loop(fmt::format("kms://127.0.0.1:{}", bound->front().port()), 100, 200);
  a.max_in_flight = 1;
  a.keepalive = true;
  const auto r = run_load(a);
  host.stop();
  io.stop();
  server.join();

  expect_all_ok(r, 200);
  EXPECT_EQ(engine.find("stall")->applied, 1u);
  // 20 requests were due during the stall (10 ms apart): they waited ~200, 190, 180 ... ms, so
  // p99 (the 198th of 200) is ~180 ms, though only one request was itself slow. Generous bounds:
  // the machine is shared.
  EXPECT_GE(r.latency.max(), 190 * kMs);
  EXPECT_GE(r.latency.percentile(99), 150 * kMs);
  EXPECT_LT(r.latency.percentile(50), 50 * kMs);
}

TEST(DnsTarget, SrvQueriesAllAnswered) {
  ProbeSite site;
  publish(site, 1688);
  site.start();
  auto a = open_loop("dns://" + site.dns_server(), 2000, 300);
  a.domain = "corp.example";
  expect_all_ok(run_load(a), 300);
  // Several generator threads, each with its own socket and IDs.
  auto b = open_loop("dns://" + site.dns_server(), 4000, 400);
  b.domain = "corp.example";
  b.threads = 2;
  expect_all_ok(run_load(b), 400);
}

TEST(DnsTarget, MissingNameCountsNxdomainAsTheWindowsCode) {
  ProbeSite site;
  publish(site, 1688);
  site.start();
  auto a = open_loop("dns://" + site.dns_server(), 1000, 50);
  a.domain = "nowhere.corp.example";
  const auto r = run_load(a);
  EXPECT_EQ(r.counts.errors, 50u) << errors_of(r);
  EXPECT_EQ(r.errors.count("hresult:0x8007232B") ? r.errors.at("hresult:0x8007232B") : 0, 50u) << errors_of(r);
}

TEST(DnsTarget, ClosedUdpPortCountsRefused) {
  std::uint16_t port = 0;
  {
    net::asio::io_context io;
    net::udp::socket s(io, net::udp::endpoint(net::asio::ip::address_v4::loopback(), 0));
    port = s.local_endpoint().port();
  }
  auto a = open_loop(fmt::format("dns://127.0.0.1:{}", port), 200, 20);
  a.domain = "corp.example";
  a.timeout = "500ms";
  const auto r = run_load(a);
  EXPECT_EQ(r.counts.requests, 20u);
  // ICMP port unreachable comes back as ECONNREFUSED on the connected socket. The kernel keeps one
  // pending error per socket: when two ICMPs land before the generator reads the first (a busy
  // machine delays it), one is lost and its query times out, so allow a few.
  const auto refused = r.errors.count("refused") ? r.errors.at("refused") : 0;
  const auto timeouts = r.errors.count("timeout") ? r.errors.at("timeout") : 0;
  EXPECT_GE(refused, 15u) << errors_of(r);
  EXPECT_EQ(refused + timeouts, 20u) << errors_of(r);
}

TEST(DnsTarget, SilentServerCountsTimeouts) {
  net::asio::io_context io;
  net::udp::socket silent(io, net::udp::endpoint(net::asio::ip::address_v4::loopback(), 0));  // never reads
  auto a = open_loop(fmt::format("dns://127.0.0.1:{}", silent.local_endpoint().port()), 200, 20);
  a.domain = "corp.example";
  a.timeout = "100ms";
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_load(a);
  EXPECT_EQ(r.counts.requests, 20u);
  EXPECT_EQ(r.errors.count("timeout") ? r.errors.at("timeout") : 0, 20u) << errors_of(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "every request is bounded by --timeout";
}

TEST(SntpTarget, RequestsAllAnswered) {
  ProbeSite site;
  site.add_sntp(0s);
  site.start();
  expect_all_ok(run_load(open_loop("sntp://" + site.sntp_server(), 2000, 300)), 300);
}

TEST(ProbeTarget, WholePipelineActivates) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  publish(site, port);
  site.start();
  const auto r = run_load(open_loop("probe://corp.example?dns=" + site.dns_server(), 200, 40));
  expect_all_ok(r, 40);
  EXPECT_EQ(site.host(0).counters().activations.load(), 40u);
}

TEST(ProbeTarget, SrvPointingAtARefusedPortCountsRefused) {
  ProbeSite site;
  publish(site, ProbeSite::refused_port());
  site.start();
  const auto r = run_load(open_loop("probe://corp.example?dns=" + site.dns_server(), 200, 20));
  EXPECT_EQ(r.counts.requests, 20u);
  EXPECT_EQ(r.errors.count("refused") ? r.errors.at("refused") : 0, 20u) << errors_of(r);
}

}  // namespace
}  // namespace kmslab::bench
