// The audit's pure half: plan, shares, latency and every finding from hand-made observations.
#include "kmslab/audit/audit.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace kmslab::audit {
namespace {

using client::ActivationOutcome;
using client::ConnectOutcome;

ProductSpec product(std::string_view name) { return resolve_product(name).value(); }

client::DnsObservation srv_answer(std::string domain, std::vector<client::SrvAnswer> records) {
  client::DnsObservation d;
  d.domain = domain;
  d.query_name = "_vlmcs._tcp." + domain;
  d.outcome = records.empty() ? client::DnsOutcome::nxdomain : client::DnsOutcome::ok;
  d.records = std::move(records);
  return d;
}

Sample activated(std::uint32_t count = 50, std::int64_t us = 1000, std::string epid = "") {
  Sample s;
  s.connect.outcome = ConnectOutcome::ok;
  s.bind.outcome = client::BindOutcome::accepted;
  s.activation.outcome = ActivationOutcome::ok;
  s.activation.response.current_count = count;
  s.activation.response.activation_interval_min = 120;
  s.activation.response.renewal_interval_min = 10080;
  s.activation.response.epid = epid.empty() ? "06401-00206-271-392034-03-1033-17763.0000-2642019" : epid;
  s.activation.timing.duration = Micros(us);
  return s;
}

Sample refused(std::uint32_t hresult) {
  Sample s = activated();
  s.activation.outcome = ActivationOutcome::hresult;
  s.activation.hresult = hresult;
  return s;
}

Sample connect_refused() {
  Sample s;
  s.connect.outcome = ConnectOutcome::refused;
  return s;
}

// A site builder: targets with addresses, and one sample per (target, product) for every check.
struct SiteObs {
  AuditObservations obs;
  explicit SiteObs(std::vector<std::string> products = {"windows-client"}) {
    obs.domains = {"corp.example"};
    for (const auto& p : products) obs.products.push_back(product(p));
  }
  std::size_t add(std::string host, std::uint16_t port, std::uint16_t priority, std::uint16_t weight,
                  std::vector<std::string> addresses, std::string domain = "corp.example") {
    auto it = std::find_if(obs.dns.begin(), obs.dns.end(), [&](auto& d) { return d.domain == domain; });
    if (it == obs.dns.end()) {
      obs.dns.push_back(srv_answer(domain, {}));
      it = obs.dns.end() - 1;
    }
    it->outcome = client::DnsOutcome::ok;
    it->records.push_back({priority, weight, port, host, 300});
    TargetObservation t{domain, {priority, weight, port, host, 300}, {}};
    t.address.addresses = std::move(addresses);
    if (t.address.addresses.empty()) {
      t.address.outcome = client::DnsOutcome::nxdomain;
      t.address.detail = "nxdomain";
    }
    obs.targets.push_back(std::move(t));
    return obs.targets.size() - 1;
  }
  // Every planned check of target `t` for product `p` gets `sample`.
  void set(std::size_t t, std::size_t p, const Sample& sample) {
    for (const auto& c : plan_checks(obs.targets, obs.products)) {
      if (c.target != t || c.product != p) continue;
      obs.checks.push_back({c, {sample}});
    }
  }
  // Every planned check of target `t` for product `p` was cut by an interrupt: no samples.
  void cut(std::size_t t, std::size_t p) {
    obs.interrupted = true;
    for (const auto& c : plan_checks(obs.targets, obs.products))
      if (c.target == t && c.product == p) obs.checks.push_back({c, {}});
  }
  AuditReport analyse(AuditPolicy policy = {}) const { return audit::analyse(obs, policy); }
};

std::vector<std::string> codes(const AuditReport& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(f.code);
  return out;
}
int count(const AuditReport& r, std::string_view code) {
  return static_cast<int>(std::count_if(r.findings.begin(), r.findings.end(), [&](auto& f) { return f.code == code; }));
}
const Finding* find(const AuditReport& r, std::string_view code) {
  for (const auto& f : r.findings)
    if (f.code == code) return &f;
  return nullptr;
}

TEST(AuditProducts, GroupsResolveToRepresentativeSkusAndAllowedProtocols) {
  EXPECT_EQ(default_products(), (std::vector<std::string>{"windows-client", "windows-server", "office"}));
  const auto client = product("windows-client");
  EXPECT_EQ(client.group, protocol::ProductGroup::windows_client);
  EXPECT_EQ(client.product.name, "Windows 10 Enterprise");
  ASSERT_FALSE(client.protocols.empty());
  EXPECT_EQ(client.protocols.back(), client.product.protocol);
  EXPECT_EQ(product("office").group, protocol::ProductGroup::office);
  EXPECT_EQ(product("windows_server").label, "windows-server");
  const auto named = product("Office Professional Plus 2010");
  EXPECT_EQ(named.protocols, (std::vector<std::uint16_t>{4}));
  EXPECT_FALSE(resolve_product("no such product at all"));
}

TEST(AuditPlan, TargetsSkipDotAndChecksCoverAddressesProductsProtocols) {
  std::vector<client::DnsObservation> dns{srv_answer("a.example", {{0, 100, 1688, "kms1.a.example", 300}, {0, 0, 0, ".", 300}}),
                                          srv_answer("b.example", {{5, 10, 1688, "kms2.b.example", 300}})};
  auto targets = plan_targets(dns);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[1].domain, "b.example");
  targets[0].address.addresses = {"127.0.0.1", "::1"};
  targets[1].address.addresses = {"127.0.0.2"};
  std::vector<ProductSpec> products{product("windows-client"), product("Windows 7 Enterprise")};
  const auto checks = plan_checks(targets, products);
  const std::size_t per_target = products[0].protocols.size() + products[1].protocols.size();
  EXPECT_EQ(checks.size(), 3 * per_target);
  EXPECT_EQ(checks.front(), (PlannedCheck{0, "127.0.0.1", 0, products[0].protocols.front()}));
  EXPECT_EQ(checks.back().target, 1u);
  EXPECT_EQ(products[1].protocols.front(), 4) << "a Windows 7 client speaks v4";
}

TEST(AuditLatency, MedianAndMax) {
  EXPECT_FALSE(latency_of({}));
  auto l = latency_of({Micros(30), Micros(10), Micros(20), Micros(90)});
  ASSERT_TRUE(l);
  EXPECT_EQ(l->p50, Micros(20));
  EXPECT_EQ(l->max, Micros(90));
  EXPECT_EQ(l->samples, 4);
}

TEST(AuditShares, Rfc2782LowestAnsweringPriorityByWeightRandomEqual) {
  std::vector<client::SrvAnswer> r{{0, 90, 1688, "a", 0}, {0, 10, 1688, "b", 0}, {10, 100, 1688, "c", 0}};
  auto s = client_shares(r, {true, true, true});
  EXPECT_DOUBLE_EQ(s.rfc2782[0], 0.9);
  EXPECT_DOUBLE_EQ(s.rfc2782[1], 0.1);
  EXPECT_DOUBLE_EQ(s.rfc2782[2], 0.0);
  EXPECT_DOUBLE_EQ(s.random[2], 1.0 / 3);
  s = client_shares(r, {false, false, true});  // priority 0 dead: everyone fails over to c
  EXPECT_DOUBLE_EQ(s.rfc2782[2], 1.0);
  EXPECT_DOUBLE_EQ(s.random[0], 0.0);
  s = client_shares({{0, 0, 1, "a", 0}, {0, 0, 1, "b", 0}}, {true, true});
  EXPECT_DOUBLE_EQ(s.rfc2782[0], 0.5);
  s = client_shares(r, {false, false, false});
  EXPECT_DOUBLE_EQ(s.rfc2782[0] + s.rfc2782[1] + s.rfc2782[2], 0.0);
}

TEST(AuditFindings, HealthySiteHasNoFindingsAndSummaries) {
  SiteObs s;
  auto a = s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"});
  s.set(a, 0, activated(50, 1500));
  const auto r = s.analyse();
  EXPECT_TRUE(r.findings.empty()) << ::testing::PrintToString(codes(r));
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.targets.size(), 1u);
  const auto& t = r.targets[0];
  EXPECT_TRUE(t.answered);
  EXPECT_EQ(t.current_count, 50u);
  EXPECT_EQ(t.activation_interval_min, 120u);
  EXPECT_NE(t.epid_description.find("17763"), std::string::npos);
  ASSERT_TRUE(t.latency);
  EXPECT_EQ(t.latency->p50, Micros(1500));
  EXPECT_DOUBLE_EQ(t.share_rfc2782, 1.0);
  EXPECT_EQ(t.reachability.at(0).state, "answers");
}

TEST(AuditFindings, StaleRecordWhenTargetDoesNotResolve) {
  SiteObs s;
  s.set(s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"}), 0, activated());
  s.add("old-kms.corp.example", 1688, 0, 100, {});
  const auto r = s.analyse();
  const auto* f = find(r, "audit.stale_record");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->subject, "old-kms.corp.example:1688");
  EXPECT_EQ(f->severity, Severity::error);
  EXPECT_EQ(r.exit_code, 1);
}

TEST(AuditFindings, StaleRecordWhenNoAddressAnswers) {
  SiteObs s;
  s.set(s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"}), 0, activated());
  s.set(s.add("dead.corp.example", 1688, 0, 100, {"127.0.0.9"}), 0, connect_refused());
  const auto r = s.analyse();
  const auto* f = find(r, "audit.stale_record");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->summary.find("0x800706BA"), std::string::npos);
  EXPECT_EQ(f->evidence.back().value, "connect refused");
  EXPECT_DOUBLE_EQ(r.targets[1].share_rfc2782, 0.0);
  EXPECT_DOUBLE_EQ(r.targets[0].share_rfc2782, 1.0);
}

TEST(AuditFindings, InconsistentHostsAndProductNotServed) {
  SiteObs s({"windows-client", "office"});
  auto a = s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"});
  auto b = s.add("kms2.corp.example", 1688, 0, 100, {"127.0.0.2"});
  s.set(a, 0, activated());
  s.set(b, 0, refused(0xC004F042));
  s.set(a, 1, refused(0xC004F042));
  s.set(b, 1, refused(0xC004F042));
  const auto r = s.analyse();
  ASSERT_EQ(count(r, "audit.inconsistent_hosts"), 1);
  const auto* f = find(r, "audit.inconsistent_hosts");
  EXPECT_EQ(f->subject, "kms2.corp.example:1688 / windows-client");
  EXPECT_NE(f->summary.find("0xC004F042"), std::string::npos);
  ASSERT_EQ(count(r, "audit.product_not_served"), 1);
  EXPECT_EQ(find(r, "audit.product_not_served")->subject, "corp.example / office");
}

// An interrupted audit: the cut checks are not run, and no finding counts them as failures (kms3,
// all of whose checks were cut, is no stale record; windows-client, cut on kms2 and kms3, is not
// "not served" by the domain); what finished still counts (kms2 refuses office, which kms1 serves).
TEST(AuditFindings, InterruptedAuditDrawsNoFindingFromCutChecks) {
  SiteObs s({"windows-client", "office"});
  auto a = s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"});
  auto b = s.add("kms2.corp.example", 1688, 0, 100, {"127.0.0.2"});
  auto c = s.add("kms3.corp.example", 1688, 0, 100, {"127.0.0.3"});
  s.set(a, 0, refused(0xC004F042));
  s.set(a, 1, activated());
  s.cut(b, 0);
  s.set(b, 1, refused(0xC004F042));
  s.cut(c, 0);
  s.cut(c, 1);
  const auto r = s.analyse();
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.exit_code, kExitInterrupted);
  EXPECT_EQ(count(r, "audit.stale_record"), 0) << ::testing::PrintToString(codes(r));
  EXPECT_EQ(count(r, "audit.product_not_served"), 0) << ::testing::PrintToString(codes(r));
  ASSERT_EQ(count(r, "audit.inconsistent_hosts"), 1) << ::testing::PrintToString(codes(r));
  EXPECT_EQ(find(r, "audit.inconsistent_hosts")->subject, "kms2.corp.example:1688 / office");
  EXPECT_TRUE(r.targets[a].complete);
  EXPECT_FALSE(r.targets[b].complete);
  EXPECT_FALSE(r.targets[c].complete);
  for (const auto& pr : r.targets[c].products) EXPECT_EQ(pr.verdict, Verdict::not_run);
  EXPECT_EQ(r.targets[c].reachability.at(0).state, "not run (interrupted)");
  EXPECT_FALSE(r.targets[a].shares_known) << "kms3 might answer: kms1's share is unknown";
  // The same observations, finished, are findings: the cut is all that keeps them out.
  s.obs.interrupted = false;
  const auto finished = s.analyse();
  EXPECT_EQ(count(finished, "audit.stale_record"), 1);  // kms3; kms2 answered (office)
  EXPECT_EQ(count(finished, "audit.product_not_served"), 1);
}

TEST(AuditFindings, WrongPortOnlyWhenPolicyNamesAPort) {
  SiteObs s;
  s.set(s.add("kms1.corp.example", 1689, 0, 100, {"127.0.0.1"}), 0, activated());
  auto r = s.analyse();
  ASSERT_EQ(count(r, "audit.wrong_port"), 1);
  EXPECT_EQ(find(r, "audit.wrong_port")->severity, Severity::warning);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(s.analyse({.standard_port = std::nullopt}).findings.size(), 0u);
  EXPECT_EQ(s.analyse({.strict = true}).exit_code, 1);
}

TEST(AuditFindings, DuplicateTargetsByNameAndByAddress) {
  SiteObs s;
  s.set(s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"}), 0, activated());
  s.set(s.add("KMS1.corp.example.", 1688, 0, 100, {"127.0.0.1"}), 0, activated());
  s.set(s.add("alias.corp.example", 1688, 0, 100, {"127.0.0.1"}), 0, activated());
  const auto r = s.analyse();
  EXPECT_EQ(count(r, "audit.duplicate_target"), 2) << ::testing::PrintToString(codes(r));
}

TEST(AuditFindings, DomainWithoutRecord) {
  SiteObs s;
  s.obs.domains.push_back("branch.example");
  s.set(s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"}), 0, activated());
  s.obs.dns.push_back(srv_answer("branch.example", {}));
  const auto r = s.analyse();
  ASSERT_EQ(count(r, "audit.domain_without_record"), 1);
  EXPECT_EQ(find(r, "audit.domain_without_record")->subject, "branch.example");
}

TEST(AuditFindings, CountBelowNPolicy) {
  SiteObs s;
  s.set(s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"}), 0, activated(3));
  const auto r = s.analyse();
  const auto* f = find(r, "audit.count_too_low");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->summary.find("0xC004F038"), std::string::npos);
  EXPECT_EQ(f->evidence.at(1).value, "25");
}

TEST(AuditFindings, BadResponseAndHostClockOffset) {
  SiteObs s;
  auto a = s.add("kms1.corp.example", 1688, 0, 100, {"127.0.0.1"});
  Sample bad = activated();
  bad.activation.outcome = ActivationOutcome::bad_response;
  bad.activation.failed_check = client::ResponseCheck::hmac;
  s.set(a, 0, bad);
  client::ToleranceResult tol;
  tol.min_accepted = std::chrono::seconds(-3600 * 4 + 7200);
  tol.max_accepted = std::chrono::seconds(3600 * 4 + 7200);
  s.obs.tolerances.push_back({a, tol});
  const auto r = s.analyse();
  EXPECT_EQ(count(r, "audit.bad_response"), 1);
  const auto* f = find(r, "audit.host_clock_offset");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence.at(0).value, "7200");
  EXPECT_EQ(count(s.analyse({.clock_offset_threshold = std::chrono::hours(3)}), "audit.host_clock_offset"), 0);
}

TEST(AuditFindings, ExitCodeAndAddFindings) {
  EXPECT_EQ(exit_code_of({}, true), 0);
  std::vector<Finding> info{{"baseline.host_added", Severity::info, "x", "", {}, ""}};
  EXPECT_EQ(exit_code_of(info, true), 0);
  AuditReport r;
  add_findings(r, {{"expect.weight", Severity::error, "x", "", {}, ""}}, false);
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace
}  // namespace kmslab::audit
