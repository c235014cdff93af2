// The audit against an embedded simulated site (simulator::Site on loopback ephemeral ports): every
// finding, and the migration drills (new host at a lower priority, decommissioned host with a
// stale record, cut-over with both, a dead cached host, skewed weights, a host missing a group).
#include "kmslab/audit/baseline.hpp"
#include "kmslab/audit/expect.hpp"
#include "kmslab/audit/report.hpp"
#include "kmslab/audit/run.hpp"
#include "kmslab/simulator/site.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace kmslab::audit {
namespace {

namespace asio = net::asio;

// A Site from YAML text, run by a thread of its own until the destructor.
class RunningSite {
 public:
  explicit RunningSite(std::string_view yaml) {
    auto config = simulator::load_simulator_config_text(yaml, "site.yaml");
    if (!config) throw std::runtime_error(config.error().format());
    site_ = std::make_unique<simulator::Site>(io_, *config);
    if (auto started = site_->start(); !started) throw std::runtime_error(started.error());
    thread_ = std::thread([this] {
      io_.run();
      done_ = true;
    });
  }
  ~RunningSite() {
    site_->stop();
    for (int i = 0; i < 200 && !done_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!done_) io_.stop();
    thread_.join();
  }
  std::string dns() const { return site_->dns_endpoint(); }
  std::uint16_t port_of(const std::string& name) { return site_->kms_host(name)->endpoints().front().port(); }

 private:
  asio::io_context io_;
  std::unique_ptr<simulator::Site> site_;
  std::thread thread_;
  std::atomic<bool> done_{false};
};

AuditConfig config_for(const RunningSite& site, std::vector<std::string> products = {"windows-client"}) {
  AuditConfig c;
  c.domains = {"corp.example"};
  c.dns_servers = {site.dns()};
  c.dns_timeout = std::chrono::milliseconds(500);
  c.products = std::move(products);
  c.parallel = 4;
  c.kms_client.connect_timeout = std::chrono::milliseconds(500);
  c.kms_client.bind_timeout = std::chrono::milliseconds(1000);
  c.kms_client.request_timeout = std::chrono::milliseconds(1000);
  c.check_timeout = std::chrono::milliseconds(3000);
  c.seed = 7;
  return c;
}

// Ephemeral ports are never 1688: the port check is off unless a test asks for it.
AuditReport audit(const AuditConfig& c, AuditPolicy policy = {.standard_port = std::nullopt}) {
  auto obs = run_audit_blocking(c);
  if (!obs) throw std::runtime_error(obs.error().message());
  return analyse(*obs, policy);
}

std::vector<std::string> codes(const AuditReport& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(f.code + " " + f.subject);
  return out;
}
bool has(const AuditReport& r, std::string_view code, std::string_view subject_prefix = "") {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [&](const Finding& f) { return f.code == code && f.subject.rfind(subject_prefix, 0) == 0; });
}
const TargetSummary* target(const AuditReport& r, std::string_view host) {
  for (const auto& t : r.targets)
    if (t.host == host) return &t;
  return nullptr;
}

// The old site: kms1 alone.
constexpr const char* kOldSite = R"(
seed: 3
dns: {zones: [{origin: corp.example}]}
sntp: {enabled: false}
kms_hosts:
  - {name: kms1, hostname: kms1.corp.example, publish: [{domain: corp.example, priority: 0, weight: 100}]}
)";

TEST(AuditSite, HealthySiteReportsEpidCountIntervalsAndLatency) {
  RunningSite site(kOldSite);
  auto c = config_for(site, {"windows-client", "office"});
  c.repeat = 3;
  const auto r = audit(c);
  EXPECT_TRUE(r.findings.empty()) << ::testing::PrintToString(codes(r));
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.targets.size(), 1u);
  const auto& t = r.targets[0];
  EXPECT_TRUE(t.answered);
  EXPECT_EQ(t.addresses, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_FALSE(t.epid.empty());
  EXPECT_NE(t.epid_description.find("17763"), std::string::npos) << t.epid_description;
  EXPECT_EQ(t.current_count, 10u) << "policy_double: 2 x the office N-policy of 5 is the lowest";
  EXPECT_EQ(t.activation_interval_min, 120u);
  EXPECT_EQ(t.renewal_interval_min, 10080u);
  ASSERT_TRUE(t.latency);
  EXPECT_EQ(t.latency->samples, 3 * 2);
  EXPECT_LE(t.latency->p50, t.latency->max);
  EXPECT_LT(t.latency->max, Micros(3'000'000));
  for (const auto& p : t.products) EXPECT_EQ(p.verdict, Verdict::activated) << p.label;
  EXPECT_DOUBLE_EQ(t.share_rfc2782, 1.0);
}

// Drill: the new host is added at a lower priority (a higher number) before the cut-over.
TEST(AuditSite, DrillNewHostAtLowerPriority) {
  RunningSite site(R"(
dns: {zones: [{origin: corp.example}]}
sntp: {enabled: false}
kms_hosts:
  - {name: kms1, hostname: kms1.corp.example, publish: [{domain: corp.example, priority: 0, weight: 100}]}
  - {name: kms2, hostname: kms2.corp.example, host_build: 17763, publish: [{domain: corp.example, priority: 10, weight: 100}]}
)");
  const auto r = audit(config_for(site));
  EXPECT_TRUE(r.findings.empty()) << ::testing::PrintToString(codes(r));
  ASSERT_NE(target(r, "kms2.corp.example"), nullptr);
  EXPECT_TRUE(target(r, "kms2.corp.example")->answered);
  EXPECT_DOUBLE_EQ(target(r, "kms1.corp.example")->share_rfc2782, 1.0);
  EXPECT_DOUBLE_EQ(target(r, "kms2.corp.example")->share_rfc2782, 0.0);
  EXPECT_DOUBLE_EQ(target(r, "kms2.corp.example")->share_random, 0.5);
}

// Drill: the old host is decommissioned while its SRV record stays (two ways: no A record; an A
// record but nothing listening).
TEST(AuditSite, DrillDecommissionedHostWithStaleRecord) {
  RunningSite site(R"(
dns:
  zones:
    - origin: corp.example
      records:
        - {name: _vlmcs._tcp, type: SRV, priority: 0, weight: 100, port: 1688, target: old-kms}
sntp: {enabled: false}
kms_hosts:
  - {name: kms2, hostname: kms2.corp.example, publish: [{domain: corp.example, priority: 0, weight: 100}]}
)");
  const auto r = audit(config_for(site));
  EXPECT_TRUE(has(r, "audit.stale_record", "old-kms.corp.example:1688")) << ::testing::PrintToString(codes(r));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(target(r, "old-kms.corp.example")->address_problem.empty());
  EXPECT_DOUBLE_EQ(target(r, "kms2.corp.example")->share_rfc2782, 1.0);
}

// Drill: cut-over with both hosts published, the old one already dead (its port refuses).
TEST(AuditSite, DrillCutOverWithDeadOldHost) {
  const auto dead = [] {
    asio::io_context io;
    net::tcp::acceptor a(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    return a.local_endpoint().port();
  }();
  RunningSite site(fmt::format(R"(
dns:
  zones:
    - origin: corp.example
      records:
        - {{name: _vlmcs._tcp, type: SRV, priority: 0, weight: 100, port: {}, target: kms1}}
        - {{name: kms1, type: A, address: 127.0.0.1}}
sntp: {{enabled: false}}
kms_hosts:
  - {{name: kms2, hostname: kms2.corp.example, publish: [{{domain: corp.example, priority: 0, weight: 100}}]}}
)", dead));
  const auto r = audit(config_for(site));
  ASSERT_TRUE(has(r, "audit.stale_record", "kms1.corp.example")) << ::testing::PrintToString(codes(r));
  const auto* t = target(r, "kms1.corp.example");
  ASSERT_EQ(t->reachability.size(), 1u);
  EXPECT_EQ(t->reachability[0].state, "connect refused");
  EXPECT_DOUBLE_EQ(target(r, "kms2.corp.example")->share_rfc2782, 1.0);
}

// Drill: weights that send most clients to the smaller host; --expect makes it an error.
TEST(AuditSite, DrillSkewedWeightsAgainstExpectedSite) {
  RunningSite site(R"(
dns: {zones: [{origin: corp.example}]}
sntp: {enabled: false}
kms_hosts:
  - {name: big, hostname: big.corp.example, publish: [{domain: corp.example, priority: 0, weight: 10}]}
  - {name: small, hostname: small.corp.example, publish: [{domain: corp.example, priority: 0, weight: 90}]}
)");
  auto r = audit(config_for(site));
  EXPECT_NEAR(target(r, "small.corp.example")->share_rfc2782, 0.9, 1e-9);
  EXPECT_EQ(r.exit_code, 0);
  const auto expected = load_expected_site_text(R"(domains:
  - name: corp.example
    hosts:
      - {host: big.corp.example, priority: 0, weight: 90}
      - {host: small.corp.example, priority: 0, weight: 10}
)", "site.yaml").value();
  add_findings(r, diff_expected(expected, r), false);
  EXPECT_TRUE(has(r, "expect.weight", "small.corp.example")) << ::testing::PrintToString(codes(r));
  EXPECT_TRUE(has(r, "expect.share", "small.corp.example"));
  EXPECT_EQ(r.exit_code, 1);
}

// Drill: one host is missing a product group; also every product refused by all hosts.
TEST(AuditSite, DrillHostMissingProductGroup) {
  RunningSite site(R"(
dns: {zones: [{origin: corp.example}]}
sntp: {enabled: false}
kms_hosts:
  - {name: kms1, hostname: kms1.corp.example, products: [windows-client, windows-server], publish: [corp.example]}
  - {name: kms2, hostname: kms2.corp.example, products: [windows-client, windows-server, "Office 2019"], publish: [corp.example]}
)");
  auto r = audit(config_for(site, {"windows-client", "office"}));
  EXPECT_TRUE(has(r, "audit.inconsistent_hosts", "kms1.corp.example")) << ::testing::PrintToString(codes(r));
  EXPECT_FALSE(has(r, "audit.inconsistent_hosts", "kms2"));
  bool saw = false;
  for (const auto& p : target(r, "kms1.corp.example")->products)
    if (p.label == "office") {
      saw = true;
      EXPECT_EQ(p.verdict, Verdict::refused);
      EXPECT_EQ(p.hresult, 0xC004F042u);
    }
  EXPECT_TRUE(saw);
  const auto server_only = audit(config_for(site, {"Office Professional Plus 2010"}));
  EXPECT_TRUE(has(server_only, "audit.product_not_served")) << ::testing::PrintToString(codes(server_only));
}

TEST(AuditSite, WrongPortDuplicateDomainWithoutRecordAndCountTooLow) {
  RunningSite site(R"(
dns:
  zones:
    - origin: corp.example
      records:
        - {name: _vlmcs._tcp, type: SRV, priority: 0, weight: 100, port: kms1, target: kms1}
        - {name: _vlmcs._tcp, type: SRV, priority: 0, weight: 100, port: kms1, target: alias}
        - {name: alias, type: A, address: 127.0.0.1}
    - origin: branch.example
sntp: {enabled: false}
kms_hosts:
  - {name: kms1, hostname: kms1.corp.example, count: 3, publish: [corp.example]}
)");
  auto c = config_for(site);
  c.domains.push_back("branch.example");
  const auto r = audit(c, {.standard_port = 1688});
  EXPECT_TRUE(has(r, "audit.wrong_port", "kms1.corp.example")) << ::testing::PrintToString(codes(r));
  EXPECT_TRUE(has(r, "audit.duplicate_target")) << ::testing::PrintToString(codes(r));
  EXPECT_TRUE(has(r, "audit.domain_without_record", "branch.example"));
  EXPECT_TRUE(has(r, "audit.count_too_low", "kms1.corp.example"));
  EXPECT_EQ(r.exit_code, 1);
}

// Drill: a cached host that died stays in DNS; the audit finds it through its record, and the
// baseline comparison shows what changed since the healthy audit.
TEST(AuditSite, DrillDeadCachedHostAndBaseline) {
  nlohmann::json before;
  {
    RunningSite old_site(kOldSite);
    before = to_json(audit(config_for(old_site)));
  }
  const auto dead = [] {
    asio::io_context io;
    net::tcp::acceptor a(io, net::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    return a.local_endpoint().port();
  }();
  RunningSite site(fmt::format(R"(
seed: 4
dns:
  zones:
    - origin: corp.example
      records:
        - {{name: _vlmcs._tcp, type: SRV, priority: 0, weight: 100, port: {}, target: kms1}}
        - {{name: kms1, type: A, address: 127.0.0.1}}
sntp: {{enabled: false}}
kms_hosts:
  - {{name: kms2, hostname: kms2.corp.example, host_build: 14393, publish: [{{domain: corp.example, priority: 10, weight: 100}}]}}
)", dead));
  auto now = audit(config_for(site));
  auto base = read_baseline(before);
  ASSERT_TRUE(base) << base.error();
  const auto changes = compare_baseline(*base, now);
  auto changed = [&](std::string_view code) {
    return std::any_of(changes.begin(), changes.end(), [&](const Finding& f) { return f.code == code; });
  };
  EXPECT_TRUE(changed("baseline.host_added"));
  // kms1 keeps its name but its record now names a dead port: another record.
  EXPECT_TRUE(changed("baseline.host_removed"));
  EXPECT_TRUE(has(now, "audit.stale_record", fmt::format("kms1.corp.example:{}", dead)));
  EXPECT_DOUBLE_EQ(target(now, "kms2.corp.example")->share_rfc2782, 1.0) << "clients fail over to priority 10";
}

TEST(AuditSite, ToleranceBisectionFindsHostClockOffset) {
  RunningSite site(R"(
dns: {zones: [{origin: corp.example}]}
sntp: {enabled: false}
kms_hosts:
  - {name: kms1, hostname: kms1.corp.example, clock_skew: 2h, time_tolerance: 4h, publish: [corp.example]}
)");
  auto c = config_for(site);
  c.find_tolerance = true;
  c.tolerance.max_offset = std::chrono::hours(12);
  c.tolerance.resolution = std::chrono::minutes(5);
  const auto r = audit(c);
  const auto* t = target(r, "kms1.corp.example");
  ASSERT_TRUE(t->tolerance);
  const auto offset = t->tolerance->host_offset();
  ASSERT_TRUE(offset);
  EXPECT_NEAR(static_cast<double>(offset->count()), 7200.0, 600.0);
  EXPECT_TRUE(has(r, "audit.host_clock_offset", "kms1.corp.example")) << ::testing::PrintToString(codes(r));
}

TEST(AuditSite, ParallelChecksEachWithItsOwnDeadline) {
  // A host that accepts and never answers the bind: only the check deadline ends its checks.
  RunningSite site(R"(
dns: {zones: [{origin: corp.example}]}
sntp: {enabled: false}
faults:
  - {target: kms, host: slow, action: silence, match: {stage: bind}}
kms_hosts:
  - {name: slow, hostname: slow.corp.example, publish: [corp.example]}
  - {name: fast, hostname: fast.corp.example, publish: [corp.example]}
)");
  auto c = config_for(site, {"windows-client", "windows-server", "office"});
  c.kms_client.bind_timeout = std::chrono::seconds(10);
  c.check_timeout = std::chrono::milliseconds(400);
  c.parallel = 3;
  const auto start = std::chrono::steady_clock::now();
  const auto r = audit(c);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(5)) << "three slow checks ran in parallel, each cut at 400 ms";
  EXPECT_TRUE(has(r, "audit.stale_record", "slow.corp.example")) << ::testing::PrintToString(codes(r));
  EXPECT_EQ(target(r, "slow.corp.example")->reachability.at(0).state, "check deadline");
  EXPECT_TRUE(target(r, "fast.corp.example")->answered);
}

TEST(AuditSite, BadResponseFromACorruptingHost) {
  RunningSite site(R"(
dns: {zones: [{origin: corp.example}]}
sntp: {enabled: false}
faults:
  - {target: kms, host: kms1, action: corrupt_hash}
kms_hosts:
  - {name: kms1, hostname: kms1.corp.example, publish: [corp.example]}
)");
  const auto r = audit(config_for(site));
  EXPECT_TRUE(has(r, "audit.bad_response", "kms1.corp.example")) << ::testing::PrintToString(codes(r));
  const auto* t = target(r, "kms1.corp.example");
  EXPECT_TRUE(t->answered) << "a corrupt answer is still an answer: not a stale record";
  EXPECT_FALSE(has(r, "audit.stale_record"));
  ASSERT_EQ(t->products.size(), 1u);
  EXPECT_EQ(t->products[0].verdict, Verdict::bad_response);
}

TEST(AuditSite, ConfigErrorsAreValues) {
  AuditConfig c;
  EXPECT_FALSE(check_config(c));
  c.domains = {"corp.example"};
  EXPECT_TRUE(check_config(c));
  c.parallel = 0;
  EXPECT_FALSE(check_config(c));
  c.parallel = 2;
  c.repeat = 1000;
  EXPECT_FALSE(check_config(c));
  c.repeat = 1;
  c.products = {"not a product"};
  EXPECT_FALSE(run_audit_blocking(c));
}

}  // namespace
}  // namespace kmslab::audit
