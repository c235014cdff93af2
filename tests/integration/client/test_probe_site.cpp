// The probe end to end against the embedded simulator on loopback ephemeral ports: healthy
// v4/v5/v6, and every finding the simulator can produce without the fault engine, each with its
// finding code, the Windows code and the ladder's verdict.
#include "kmslab/client/probe.hpp"
#include "kmslab/protocol/kms_ids.hpp"
#include "dig_run.hpp"
#include "dns_test_support.hpp"
#include "probe_site.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace kmslab::client {
namespace {

using namespace std::chrono_literals;
using test::ProbeSite;

ProbeConfig config_for(const ProbeSite& site) {
  ProbeConfig c;
  c.domains = {ProbeSite::kDomain};
  c.dns_servers = {site.dns_server()};
  c.resolv_conf = "/dev/null";  // never the machine's resolver
  c.dns_timeout = 500ms;
  c.dns_tries = 1;
  c.kms_client.connect_timeout = 500ms;
  c.kms_client.bind_timeout = 1s;
  c.kms_client.request_timeout = 1s;
  c.workstation = "probe-test.corp.example";
  c.seed = 5;
  return c;
}

ProbeRun probe(ProbeConfig config) {
  auto r = run_probe_blocking(std::move(config));
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}

const Finding* find(const ProbeRun& run, FindingCode code) {
  for (const auto& f : run.diagnosis.findings)
    if (f.code == code) return &f;
  return nullptr;
}

std::string codes(const ProbeRun& run) {
  std::string out;
  for (const auto& f : run.diagnosis.findings) out += std::string(to_string(f.code)) + " ";
  return out + "| " + run.diagnosis.summary;
}

// A site with one good host published in DNS.
struct OneHost {
  ProbeSite site;
  explicit OneHost(simulator::KmsHostSpec spec = {}) {
    if (spec.name.empty()) spec.name = "kms1";
    const auto port = site.add_host(std::move(spec));
    site.set_zone({ProbeSite::srv(0, 100, port, "kms1"), ProbeSite::a("kms1")});
    site.start();
  }
};

class Healthy : public ::testing::TestWithParam<int> {};

TEST_P(Healthy, ActivatesOverSrvDiscovery) {
  OneHost one;
  auto config = config_for(one.site);
  config.protocol = static_cast<std::uint16_t>(GetParam());
  const auto run = probe(config);
  EXPECT_EQ(run.diagnosis.verdict, Verdict::healthy) << codes(run);
  EXPECT_EQ(run.diagnosis.windows_code, 0u);
  EXPECT_EQ(run.diagnosis.exit_code, 0);
  // The only finding: the ephemeral port in the SRV record, as information (the host answers there).
  ASSERT_EQ(run.diagnosis.findings.size(), 1u) << codes(run);
  EXPECT_EQ(run.diagnosis.findings[0].code, FindingCode::dns_wrong_port);
  EXPECT_EQ(run.diagnosis.findings[0].severity, Severity::info);
  ASSERT_EQ(run.observations.dns.size(), 1u);
  EXPECT_EQ(run.observations.dns[0].outcome, DnsOutcome::ok);
  ASSERT_EQ(run.observations.attempts.size(), 1u);
  const auto& a = run.observations.attempts[0];
  EXPECT_EQ(a.source, TargetSource::srv);
  EXPECT_EQ(a.host, "kms1.corp.example");
  EXPECT_EQ(a.address.source, AddressSource::additional);  // the responder adds kms1's A record
  EXPECT_EQ(a.connect.outcome, ConnectOutcome::ok);
  EXPECT_EQ(a.bind.outcome, BindOutcome::accepted);
  EXPECT_TRUE(a.bind.alter_context_used);  // NDR64 host: NDR32 refused in the bind, as vlmcsd does
  EXPECT_EQ(a.bind.syntax, TransferSyntax::ndr32);
  EXPECT_TRUE(a.bind.btfn_acked);
  EXPECT_EQ(a.activation.outcome, ActivationOutcome::ok) << a.activation.detail;
  EXPECT_EQ(a.activation.protocol_major, GetParam());
  EXPECT_EQ(a.activation.response.version_major, GetParam());
  EXPECT_EQ(a.activation.response.current_count, 50u);  // 2 x N-policy 25
  EXPECT_EQ(a.activation.response.activation_interval_min, 120u);
  EXPECT_EQ(a.activation.response.renewal_interval_min, 10080u);
  EXPECT_EQ(a.activation.response.hwid.empty(), GetParam() != 6);
  EXPECT_NE(a.activation.detail.find("ePID: host"), std::string::npos) << a.activation.detail;
  EXPECT_EQ(run.observations.options.product, "Windows 10 Enterprise");
  EXPECT_EQ(run.observations.options.n_policy, 25u);
  EXPECT_FALSE(run.observations.ladder.ran);
  // Every phase the client ran is on the timeline, in order.
  std::vector<Phase> phases;
  for (const auto& row : run.diagnosis.timeline) phases.push_back(row.phase);
  EXPECT_EQ(phases, (std::vector<Phase>{Phase::dns_srv, Phase::tcp_connect, Phase::rpc_bind, Phase::kms_activate}));
  EXPECT_GT(run.observations.total.count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Protocols, Healthy, ::testing::Values(4, 5, 6),
                         [](const auto& p) { return "V" + std::to_string(p.param); });

TEST(ProbeSite, KmsOptionSkipsDiscovery) {
  OneHost one;
  auto config = config_for(one.site);
  config.kms = "127.0.0.1:" + std::to_string(one.site.port_of("kms1"));
  const auto run = probe(config);
  EXPECT_EQ(run.diagnosis.verdict, Verdict::healthy) << codes(run);
  EXPECT_TRUE(run.observations.dns.empty());
  ASSERT_EQ(run.observations.attempts.size(), 1u);
  EXPECT_EQ(run.observations.attempts[0].source, TargetSource::kms);
  EXPECT_EQ(run.observations.attempts[0].address.source, AddressSource::literal);
}

TEST(ProbeSite, SrvTargetWithoutAdditionalIsResolved) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.set_zone({ProbeSite::srv(0, 100, port, "kms1"), ProbeSite::a("kms1")}, /*glue=*/false);
  site.start();
  const auto run = probe(config_for(site));
  EXPECT_EQ(run.diagnosis.verdict, Verdict::healthy) << codes(run);
  ASSERT_EQ(run.observations.attempts.size(), 1u);
  const auto& lookup = run.observations.attempts[0].address;
  EXPECT_EQ(lookup.source, AddressSource::query);
  EXPECT_EQ(lookup.addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(lookup.server, site.dns_server());
  // The separate lookup is a timeline row of its own.
  const auto rows = std::count_if(run.diagnosis.timeline.begin(), run.diagnosis.timeline.end(),
                                  [](const PhaseRecord& r) { return r.phase == Phase::dns_address; });
  EXPECT_EQ(rows, 1);
}

TEST(ProbeSite, MissingSrvWithHintBlamesTheSrvRecord) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.set_zone({ProbeSite::a("kms1")});  // no _vlmcs._tcp at all
  site.start();
  auto config = config_for(site);
  config.kms_hint = "kms1.corp.example:" + std::to_string(port);
  const auto run = probe(config);
  EXPECT_EQ(run.diagnosis.verdict, Verdict::failed);
  EXPECT_EQ(run.diagnosis.exit_code, 1);
  const auto* f = find(run, FindingCode::dns_srv_missing);
  ASSERT_NE(f, nullptr) << codes(run);
  EXPECT_EQ(f->hresult, 0x8007232Bu);
  EXPECT_EQ(run.diagnosis.windows_code, kNoKmsContacted);
  EXPECT_EQ(run.diagnosis.underlying_code, 0x8007232Bu);
  EXPECT_TRUE(run.observations.ladder.ran);
  EXPECT_EQ(run.diagnosis.ladder.verdict, LadderVerdict::srv_record) << run.diagnosis.ladder.text;
  ASSERT_EQ(run.observations.attempts.size(), 1u);  // by name answered: no by-IP rung
  EXPECT_EQ(run.observations.attempts[0].source, TargetSource::ladder_name);
}

// `--kms-hint 127.0.0.1:PORT`: an IP address has no name step, so the ladder has one rung
// (by IP) and its answer blames the SRV record, not name resolution.
TEST(ProbeSite, MissingSrvWithAnIpHintBlamesTheSrvRecordNotTheName) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.set_zone({ProbeSite::a("kms1")});  // no _vlmcs._tcp at all
  site.start();
  auto config = config_for(site);
  config.kms_hint = "127.0.0.1:" + std::to_string(port);
  const auto run = probe(config);
  ASSERT_NE(find(run, FindingCode::dns_srv_missing), nullptr) << codes(run);
  EXPECT_TRUE(run.observations.ladder.ran);
  for (const auto& a : run.observations.attempts)
    EXPECT_NE(a.source, TargetSource::ladder_name) << "an IP address has no by-name rung";
  EXPECT_EQ(run.diagnosis.ladder.verdict, LadderVerdict::srv_record) << run.diagnosis.ladder.text;
  EXPECT_EQ(run.diagnosis.ladder.text.find("name resolution"), std::string::npos) << run.diagnosis.ladder.text;
}

TEST(ProbeSite, MissingSrvWithoutHintLeavesTheLadderOut) {
  ProbeSite site;
  site.set_zone({ProbeSite::a("kms1")});
  site.start();
  const auto run = probe(config_for(site));
  ASSERT_NE(find(run, FindingCode::dns_srv_missing), nullptr) << codes(run);
  EXPECT_FALSE(run.observations.ladder.ran);
  EXPECT_EQ(run.diagnosis.ladder.verdict, LadderVerdict::not_run);
}

// A DNS server whose port is closed: the kernel answers with ICMP port unreachable (UDP), the
// real dig says "connection refused", and the probe must call it dns.unreachable, not SERVFAIL
// (the server is down, not failing to answer), with next checks that keep the port.
TEST(ProbeSite, ClosedDnsPortIsUnreachableNotServfail) {
  const auto server = test::closed_loopback_server();
  const auto port = server.substr(server.rfind(':') + 1);
  if (test::dig_available()) {
    const auto dig = test::run_dig(static_cast<std::uint16_t>(std::stoi(port)), "SRV _vlmcs._tcp.corp.example");
    EXPECT_NE(dig.output.find("connection refused"), std::string::npos) << dig.output;
    EXPECT_NE(dig.output.find("no servers could be reached"), std::string::npos) << dig.output;
  }
  ProbeConfig c;
  c.domains = {ProbeSite::kDomain};
  c.dns_servers = {server};
  c.resolv_conf = "/dev/null";
  c.dns_timeout = 2s;  // ICMP ends it at once; the deadline is only a hang guard
  c.dns_tries = 1;
  c.seed = 5;
  const auto run = probe(c);
  ASSERT_FALSE(run.diagnosis.findings.empty()) << codes(run);
  const auto& f = run.diagnosis.findings.front();
  EXPECT_EQ(to_string(f.code), "dns.unreachable") << codes(run);
  EXPECT_EQ(find(run, FindingCode::dns_servfail), nullptr) << codes(run);
  EXPECT_EQ(f.entry().title.find("SERVFAIL"), std::string_view::npos) << f.entry().title;
  for (const auto& line : f.evidence) EXPECT_EQ(line.find("SERVFAIL"), std::string::npos) << line;
  EXPECT_NE(f.evidence.front().find("connection refused"), std::string::npos) << f.evidence.front();
  EXPECT_EQ(f.hresult, 0x8007232Au);
  EXPECT_EQ(f.hresult_basis, HresultBasis::unverified);
  bool nslookup = false;
  for (const auto& check : f.next_checks)
    if (check.command.starts_with("nslookup")) {
      nslookup = true;
      EXPECT_NE(check.command.find("-port=" + port), std::string::npos) << check.command;
    }
  EXPECT_TRUE(nslookup);
  EXPECT_EQ(run.diagnosis.windows_code, kNoKmsContacted);
  EXPECT_EQ(run.diagnosis.underlying_code, 0x8007232Au);
}

TEST(ProbeSite, EmptySrvAnswerIsNodata) {
  ProbeSite site;
  site.set_zone({{"_vlmcs._tcp", "TXT", 300, "\"no srv here\""}, ProbeSite::a("kms1")});
  site.start();
  const auto run = probe(config_for(site));
  const auto* f = find(run, FindingCode::dns_srv_nodata);
  ASSERT_NE(f, nullptr) << codes(run);
  EXPECT_EQ(f->hresult, 0x8007251Du);
  EXPECT_EQ(run.diagnosis.windows_code, kNoKmsContacted);
}

TEST(ProbeSite, SrvTargetWithoutAddress) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.set_zone({ProbeSite::srv(0, 100, port, "kms9"), ProbeSite::a("kms1")});
  site.start();
  const auto run = probe(config_for(site));
  const auto* f = find(run, FindingCode::dns_no_address);
  ASSERT_NE(f, nullptr) << codes(run);
  EXPECT_EQ(run.diagnosis.windows_code, kNoKmsContacted);
  ASSERT_FALSE(run.observations.attempts.empty());
  EXPECT_EQ(run.observations.attempts[0].address.source, AddressSource::query);
  EXPECT_EQ(run.observations.attempts[0].address.outcome, DnsOutcome::nxdomain);
  EXPECT_EQ(run.observations.attempts[0].connect.outcome, ConnectOutcome::not_attempted);
  // The ladder tries kms9 by name, which has no address either: nothing to try by IP.
  EXPECT_TRUE(run.observations.ladder.ran);
  EXPECT_EQ(run.diagnosis.ladder.verdict, LadderVerdict::inconclusive) << run.diagnosis.ladder.text;
}

TEST(ProbeSite, RefusedPortIsTcpRefusedAndTheLadderBlamesTheNetwork) {
  ProbeSite site;
  const auto dead = ProbeSite::refused_port();
  site.set_zone({ProbeSite::srv(0, 100, dead, "kms1"), ProbeSite::a("kms1")});
  site.start();
  const auto run = probe(config_for(site));
  const auto* f = find(run, FindingCode::tcp_refused);
  ASSERT_NE(f, nullptr) << codes(run);
  EXPECT_EQ(f->hresult, 0x800706BAu);
  EXPECT_EQ(run.diagnosis.windows_code, kNoKmsContacted);
  EXPECT_EQ(run.diagnosis.underlying_code, 0x800706BAu);
  EXPECT_EQ(run.observations.attempts[0].connect.outcome, ConnectOutcome::refused);
  EXPECT_EQ(run.observations.attempts[0].connect.error_number, ECONNREFUSED);
  EXPECT_EQ(run.diagnosis.ladder.verdict, LadderVerdict::network_or_firewall) << run.diagnosis.ladder.text;
  EXPECT_EQ(run.observations.ladder.address, "127.0.0.1");
}

TEST(ProbeSite, ProductNotServedIsTheHostsAnswer) {
  const auto office = protocol::find_skus("Office Professional Plus 2016").unique();
  ASSERT_NE(office, nullptr);
  simulator::KmsHostSpec spec;
  spec.products = {protocol::kms_count_id_of(*office)->guid.to_string()};
  OneHost one(spec);
  const auto run = probe(config_for(one.site));
  const auto* f = find(run, FindingCode::kms_product_not_served);
  ASSERT_NE(f, nullptr) << codes(run);
  EXPECT_EQ(run.diagnosis.windows_code, 0xC004F042u);
  EXPECT_EQ(run.observations.attempts[0].activation.outcome, ActivationOutcome::hresult);
  EXPECT_FALSE(run.observations.ladder.ran);  // the host answered: not a reachability problem
}

TEST(ProbeSite, CountBelowThePolicyIsDecidedOnTheClient) {
  simulator::KmsHostSpec spec;
  spec.count_mode = simulator::CountMode::fixed;
  spec.count_value = 3;
  OneHost one(spec);
  const auto run = probe(config_for(one.site));
  const auto* f = find(run, FindingCode::kms_count_too_low);
  ASSERT_NE(f, nullptr) << codes(run);
  EXPECT_EQ(f->hresult, 0xC004F038u);
  EXPECT_EQ(run.diagnosis.windows_code, 0xC004F038u);
  EXPECT_EQ(run.observations.attempts[0].activation.outcome, ActivationOutcome::ok);
  EXPECT_EQ(run.observations.attempts[0].activation.response.current_count, 3u);
}

TEST(ProbeSite, HostClockSkewIsRefusedWithC004F06C) {
  simulator::KmsHostSpec spec;
  spec.clock_skew = 5h;
  OneHost one(spec);
  const auto run = probe(config_for(one.site));
  const auto* f = find(run, FindingCode::kms_time_skew);
  ASSERT_NE(f, nullptr) << codes(run);
  EXPECT_EQ(run.diagnosis.windows_code, 0xC004F06Cu);
}

TEST(ProbeSite, ClockOffsetShiftsTheTimeSent) {
  OneHost one;
  auto config = config_for(one.site);
  config.clock_offset = -5h;
  const auto run = probe(config);
  ASSERT_NE(find(run, FindingCode::kms_time_skew), nullptr) << codes(run);
  EXPECT_NE(run.observations.attempts[0].activation.detail.find("-18000 s"), std::string::npos);
  config.clock_offset = 3h;  // within the 4 h tolerance
  EXPECT_EQ(probe(config).diagnosis.verdict, Verdict::healthy);
}

TEST(ProbeSite, FailoverFromADeadPrimary) {
  ProbeSite site;
  const auto good = site.add_host("kms2");
  site.set_zone({ProbeSite::srv(0, 100, ProbeSite::refused_port(), "kms1"), ProbeSite::srv(10, 100, good, "kms2"),
                 ProbeSite::a("kms1"), ProbeSite::a("kms2")});
  site.start();
  const auto run = probe(config_for(site));
  EXPECT_EQ(run.diagnosis.verdict, Verdict::degraded) << codes(run);
  EXPECT_EQ(run.diagnosis.windows_code, 0u);
  EXPECT_EQ(run.diagnosis.exit_code, 0);
  ASSERT_EQ(run.observations.attempts.size(), 2u);
  EXPECT_EQ(run.observations.attempts[0].host, "kms1.corp.example");
  EXPECT_EQ(run.diagnosis.activated_attempt, 1u);
  ASSERT_NE(find(run, FindingCode::failover_used), nullptr) << codes(run);
  const auto* refused = find(run, FindingCode::tcp_refused);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->severity, Severity::warning);
  auto strict = config_for(site);
  strict.strict = true;
  EXPECT_EQ(probe(strict).diagnosis.exit_code, 1);
}

TEST(ProbeSite, DeadCachedHostFallsBackToDiscovery) {
  OneHost one;
  auto config = config_for(one.site);
  config.cached_host = "127.0.0.1:" + std::to_string(ProbeSite::refused_port());
  const auto run = probe(config);
  EXPECT_EQ(run.diagnosis.verdict, Verdict::degraded) << codes(run);
  ASSERT_EQ(run.observations.attempts.size(), 2u);
  EXPECT_EQ(run.observations.attempts[0].source, TargetSource::cached);
  EXPECT_EQ(run.observations.attempts[1].source, TargetSource::srv);
  const auto* f = find(run, FindingCode::failover_used);
  ASSERT_NE(f, nullptr) << codes(run);
  const bool mentions_cache = std::any_of(f->evidence.begin(), f->evidence.end(), [](const std::string& line) {
    return line.find("cached host") != std::string::npos;
  });
  EXPECT_TRUE(mentions_cache);
}

TEST(ProbeSite, GoodCachedHostSkipsDiscovery) {
  OneHost one;
  auto config = config_for(one.site);
  config.cached_host = "127.0.0.1:" + std::to_string(one.site.port_of("kms1"));
  const auto run = probe(config);
  EXPECT_EQ(run.diagnosis.verdict, Verdict::healthy) << codes(run);
  EXPECT_TRUE(run.observations.dns.empty());
}

TEST(ProbeSite, SntpOffsetBeyondTheThresholdIsTimeSkew) {
  ProbeSite site;
  const auto port = site.add_host("kms1");
  site.set_zone({ProbeSite::srv(0, 100, port, "kms1"), ProbeSite::a("kms1")});
  site.add_sntp(10min);
  site.start();
  auto config = config_for(site);
  config.ntp = site.sntp_server();
  const auto run = probe(config);
  ASSERT_EQ(run.observations.sntp.size(), 1u);
  const auto& s = run.observations.sntp[0];
  EXPECT_EQ(s.outcome, SntpOutcome::ok) << s.detail;
  EXPECT_NEAR(static_cast<double>(s.offset_ns) / 1e9, 600.0, 1.0);  // the source is 10 min ahead
  EXPECT_EQ(s.stratum, 2);
  ASSERT_NE(find(run, FindingCode::time_skew), nullptr) << codes(run);
  EXPECT_EQ(run.diagnosis.verdict, Verdict::degraded);
}

TEST(ProbeSite, SilentTimeSourceIsUnavailable) {
  OneHost one;
  auto config = config_for(one.site);
  config.ntp = "127.0.0.1:" + std::to_string(ProbeSite::refused_port());  // UDP: ICMP port unreachable
  config.ntp_timeout = 300ms;
  const auto run = probe(config);
  ASSERT_EQ(run.observations.sntp.size(), 1u);
  EXPECT_NE(run.observations.sntp[0].outcome, SntpOutcome::ok);
  ASSERT_NE(find(run, FindingCode::time_source_unavailable), nullptr) << codes(run);
}

TEST(ProbeSite, FindToleranceBisectsTheHostsWindow) {
  simulator::KmsHostSpec spec;
  spec.clock_skew = 2h;
  spec.time_tolerance = 1h;
  OneHost one(spec);
  auto config = config_for(one.site);
  config.find_tolerance = true;
  config.tolerance.max_offset = 6h;
  config.tolerance.scan_step = 30min;
  config.tolerance.resolution = 60s;
  const auto run = probe(config);
  ASSERT_TRUE(run.tolerance);
  const auto& t = *run.tolerance;
  EXPECT_FALSE(t.accepted_at_zero);
  ASSERT_TRUE(t.min_accepted && t.max_accepted) << t.detail;
  EXPECT_NEAR(static_cast<double>(t.min_accepted->count()), 3600.0, 61.0);
  EXPECT_NEAR(static_cast<double>(t.max_accepted->count()), 3 * 3600.0, 61.0);
  ASSERT_TRUE(t.tolerance() && t.host_offset());
  EXPECT_NEAR(static_cast<double>(t.tolerance()->count()), 3600.0, 61.0);
  EXPECT_NEAR(static_cast<double>(t.host_offset()->count()), 7200.0, 61.0);
  EXPECT_LE(t.requests, 40);
  EXPECT_EQ(one.site.host(0).counters().binds.load(), 2u);  // the probe's attempt + one kept-alive search
}

TEST(ProbeSite, UsageErrorsComeBeforeAnyIo) {
  ProbeConfig c;
  EXPECT_FALSE(run_probe_blocking(c));  // nothing to probe
  c.domains = {"corp.example"};
  c.product = "no such product at all";
  EXPECT_FALSE(run_probe_blocking(c));
  c.product = std::string(kDefaultProduct);
  c.protocol = 7;
  EXPECT_FALSE(run_probe_blocking(c));
  c.protocol.reset();
  c.kms = "host:99999";
  EXPECT_FALSE(run_probe_blocking(c));
  c.kms.clear();
  c.dns_servers = {"not-an-ip"};
  const auto r = run_probe_blocking(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("--dns"), std::string::npos);
}

}  // namespace
}  // namespace kmslab::client
