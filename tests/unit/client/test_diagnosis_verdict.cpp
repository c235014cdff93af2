// Verdict, exit code and Windows code rules; failover; refused vs filtered; budgets; ordering.
#include <gtest/gtest.h>

#include "kmslab/client/diagnosis.hpp"
#include "kmslab/client/timeline.hpp"
#include "probe_fixtures.hpp"

namespace kmslab::client {
namespace {

using namespace test;

TEST(Verdict, HealthyProbeActivatesWithWindowsCodeZero) {
  const auto o = healthy_observations();
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.verdict, Verdict::healthy);
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_EQ(d.windows_code, 0u);
  EXPECT_FALSE(d.underlying_code.has_value());
  EXPECT_TRUE(d.findings.empty());
  EXPECT_FALSE(d.primary_finding.has_value());
  EXPECT_EQ(d.activated_attempt, std::optional<std::size_t>(0));
  EXPECT_EQ(d.summary, "activated against kms1.corp.example:1688 in 0.900 ms, count 50");
}

TEST(Verdict, ExitCodeRules) {
  EXPECT_EQ(exit_code_for(Verdict::healthy, false), 0);
  EXPECT_EQ(exit_code_for(Verdict::healthy, true), 0);
  EXPECT_EQ(exit_code_for(Verdict::degraded, false), 0);
  EXPECT_EQ(exit_code_for(Verdict::degraded, true), 1);
  EXPECT_EQ(exit_code_for(Verdict::failed, false), 1);
  EXPECT_EQ(exit_code_for(Verdict::failed, true), 1);
}

TEST(Verdict, StrictTurnsDegradedIntoExitOne) {
  auto o = healthy_observations();
  o.sntp.push_back(sntp(SntpOutcome::no_answer));
  DiagnosisPolicy strict;
  strict.strict = true;
  const auto d = diagnose(o, strict);
  EXPECT_EQ(d.verdict, Verdict::degraded);
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(d.windows_code, 0u) << "warnings do not stop activation";
}

TEST(Verdict, NothingProbedIsAFailureWithoutInventedFindings) {
  const auto d = diagnose(base_observations(), {});
  EXPECT_EQ(d.verdict, Verdict::failed);
  EXPECT_TRUE(d.findings.empty()) << "no observation, no finding";
  EXPECT_EQ(d.windows_code, 0xC004F074u);
  EXPECT_FALSE(d.underlying_code.has_value());
  EXPECT_NE(d.summary.find("nothing was probed"), std::string::npos);
}

TEST(Verdict, AttemptThatStoppedEarlyIsNotAnActivation) {
  auto o = healthy_observations();
  stop_after_bind(o.attempts.front());
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.verdict, Verdict::failed);
  EXPECT_TRUE(d.findings.empty());
  EXPECT_NE(d.summary.find("no activation was observed"), std::string::npos);
}

TEST(WindowsCode, NoHostContactedWrapsTheLastFailure) {
  auto o = healthy_observations();
  o.attempts = {refused_attempt()};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.windows_code, 0xC004F074u);
  EXPECT_EQ(d.underlying_code, 0x800706BAu);
  EXPECT_NE(d.windows_code_text.find("tcp.refused"), std::string::npos) << d.windows_code_text;
  const Finding* f = find(d, FindingCode::tcp_refused);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence.back(),
            "Windows reports this as 0xC004F074 (no KMS host could be contacted), wrapping 0x800706BA");
}

TEST(WindowsCode, TheMostRecentFailureIsWrapped) {
  auto o = base_observations();
  o.options.cached_host = kHost2;
  auto cached = filtered_attempt(kHost2, TargetSource::cached, us(0));  // ends at 3000.5 ms
  auto dns = srv_failure(DnsOutcome::nxdomain);
  dns.timing = {ms(3001), us(700)};
  o.attempts = {cached};
  o.dns = {dns};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.underlying_code, 0x8007232Bu) << d.windows_code_text;
  ASSERT_TRUE(d.primary_finding.has_value());
  EXPECT_EQ(d.findings[*d.primary_finding].code, FindingCode::dns_srv_missing);
}

TEST(WindowsCode, AHostThatAnsweredGivesItsOwnCode) {
  auto o = healthy_observations();
  o.attempts.front().activation.outcome = ActivationOutcome::hresult;
  o.attempts.front().activation.hresult = 0xC004F042;
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.windows_code, 0xC004F042u);
  EXPECT_FALSE(d.underlying_code.has_value());
  EXPECT_EQ(d.verdict, Verdict::failed);
  ASSERT_TRUE(d.primary_finding.has_value());
  EXPECT_EQ(d.findings[*d.primary_finding].code, FindingCode::kms_product_not_served);
}

TEST(WindowsCode, ABadResponseCountsAsNotContacted) {
  auto o = healthy_observations();
  o.attempts.front().activation.outcome = ActivationOutcome::bad_response;
  o.attempts.front().activation.failed_check = ResponseCheck::mac;
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.windows_code, 0xC004F074u);
  EXPECT_FALSE(d.underlying_code.has_value()) << "Windows shows no specific code for it";
}

TEST(Failover, FailedPrimaryThenGoodSecondaryIsDegradedWithFailoverUsed) {
  auto o = base_observations();
  o.dns.push_back(srv_answer(kDomain, {srv_record(kHost), srv_record(kHost2, kKmsPort, 10)}));
  o.attempts = {filtered_attempt(kHost, TargetSource::srv, ms(1)),
                good_attempt(kHost2, kKmsPort, TargetSource::srv, ms(3002))};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.verdict, Verdict::degraded);
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_EQ(d.windows_code, 0u);
  EXPECT_EQ(d.activated_attempt, std::optional<std::size_t>(1));
  const Finding* f = find(d, FindingCode::failover_used);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->target, "kms1.corp.example:1688");
  EXPECT_NE(f->evidence.front().find("tcp.filtered"), std::string::npos) << f->evidence.front();
  EXPECT_NE(f->evidence.back().find("time lost before it: 3001.000 ms"), std::string::npos)
      << f->evidence.back();
  const Finding* filtered = find(d, FindingCode::tcp_filtered);
  ASSERT_NE(filtered, nullptr);
  EXPECT_EQ(filtered->severity, Severity::warning) << "superseded by the target that worked";
  EXPECT_NE(d.summary.find("failover.used"), std::string::npos) << d.summary;
}

TEST(Failover, CachedHostFirstShowsTheTimeLost) {
  auto o = healthy_observations();
  o.options.cached_host = kHost2;
  auto cached = refused_attempt(kHost2, TargetSource::cached, us(0));
  o.attempts.insert(o.attempts.begin(), cached);
  const auto d = diagnose(o, {});
  const Finding* f = find(d, FindingCode::failover_used);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->target, "kms2.corp.example:1688 (cached)");
  EXPECT_NE(f->evidence.at(1).find("time lost before it: 1.000 ms"), std::string::npos) << f->evidence.at(1);
  EXPECT_NE(f->evidence.back().find("cached host"), std::string::npos);
  EXPECT_TRUE(any_check_mentions(*f, "slmgr /ckms"));
}

TEST(Failover, AnotherDomainThatWorksLowersTheFirstDomainsError) {
  auto o = base_observations();
  o.options.domains = {"branch.example", kDomain};
  auto missing = srv_failure(DnsOutcome::nxdomain);
  missing.domain = "branch.example";
  missing.query_name = "_vlmcs._tcp.branch.example";
  o.dns = {missing, srv_answer(kDomain, {srv_record(kHost)}, ms(1))};
  o.attempts = {good_attempt()};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.verdict, Verdict::degraded);
  const Finding* f = find(d, FindingCode::dns_srv_missing);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::warning);
  EXPECT_TRUE(any_check_mentions(*f, "_vlmcs._tcp.branch.example"));
}

TEST(RefusedVsFiltered, RstIsRefused) {
  auto o = healthy_observations();
  o.attempts = {refused_attempt()};
  const auto d = diagnose(o, {});
  ASSERT_NE(find(d, FindingCode::tcp_refused), nullptr);
  EXPECT_EQ(find(d, FindingCode::tcp_filtered), nullptr);
  EXPECT_NE(
      find(d, FindingCode::tcp_refused)->evidence.front().find("refused (RST, errno 111 Connection refused)"),
      std::string::npos);
}

TEST(RefusedVsFiltered, SilenceUntilTheDeadlineIsFiltered) {
  auto o = healthy_observations();
  o.attempts = {filtered_attempt()};
  const auto d = diagnose(o, {});
  ASSERT_NE(find(d, FindingCode::tcp_filtered), nullptr);
  EXPECT_EQ(find(d, FindingCode::tcp_refused), nullptr);
  const auto& line = find(d, FindingCode::tcp_filtered)->evidence.front();
  EXPECT_NE(line.find("within 3000.000 ms (deadline 3000.000 ms)"), std::string::npos) << line;
  EXPECT_NE(line.find("not refused"), std::string::npos);
}

TEST(RefusedVsFiltered, IcmpUnreachableIsReportedAsFilteredWithItsErrno) {
  auto o = healthy_observations();
  auto a = refused_attempt();
  a.connect.outcome = ConnectOutcome::unreachable;
  a.connect.error_number = 113;
  a.connect.error_text = "No route to host";
  o.attempts = {a};
  const auto d = diagnose(o, {});
  const Finding* f = find(d, FindingCode::tcp_filtered);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->evidence.front().find("errno 113 No route to host"), std::string::npos);
}

TEST(Budgets, OnlyCompletedPhasesAboveTheirBudgetAreSlow) {
  auto o = healthy_observations();  // connect took 300 us
  DiagnosisPolicy p;
  p.budgets[Phase::tcp_connect] = us(300);  // equal: not slow
  EXPECT_EQ(find(diagnose(o, p), FindingCode::slow_tcp_connect), nullptr);
  p.budgets[Phase::tcp_connect] = us(299);
  const auto d = diagnose(o, p);
  const Finding* f = find(d, FindingCode::slow_tcp_connect);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence.front(),
            "tcp.connect for kms1.corp.example:1688 took 0.300 ms; budget 0.299 ms (result: ok)");
  EXPECT_EQ(d.verdict, Verdict::degraded);
}

TEST(Budgets, ATimeoutIsNotAlsoSlow) {
  auto o = healthy_observations();
  o.attempts = {filtered_attempt()};
  DiagnosisPolicy p;
  p.budgets[Phase::tcp_connect] = ms(500);
  const auto d = diagnose(o, p);
  EXPECT_EQ(find(d, FindingCode::slow_tcp_connect), nullptr);
  EXPECT_NE(find(d, FindingCode::tcp_filtered), nullptr);
}

TEST(Budgets, ASlowFailureIsSlowToo) {
  auto o = healthy_observations();
  auto a = refused_attempt();
  a.connect.timing.duration = ms(900);
  o.attempts = {a};
  DiagnosisPolicy p;
  p.budgets[Phase::tcp_connect] = ms(500);
  EXPECT_NE(find(diagnose(o, p), FindingCode::slow_tcp_connect), nullptr);
}

TEST(Ordering, ErrorsFirstThenWarningsEachByPhase) {
  auto o = healthy_observations();
  o.attempts.front().activation.outcome = ActivationOutcome::hresult;
  o.attempts.front().activation.hresult = 0xC004F06C;
  o.sntp.push_back(sntp(SntpOutcome::ok, 6LL * 3600 * 1'000'000'000));
  o.dns.front().records.front().port = 1688;
  DiagnosisPolicy p;
  p.budgets[Phase::dns_srv] = us(1);
  p.budgets[Phase::rpc_bind] = us(1);
  const auto d = diagnose(o, p);
  ASSERT_EQ(d.findings.size(), 4u);
  EXPECT_EQ(d.findings[0].code, FindingCode::kms_time_skew);
  EXPECT_EQ(d.findings[1].code, FindingCode::slow_dns_srv);
  EXPECT_EQ(d.findings[2].code, FindingCode::slow_rpc_bind);
  EXPECT_EQ(d.findings[3].code, FindingCode::time_skew);
  EXPECT_EQ(d.windows_code, 0xC004F06Cu);
}

TEST(Determinism, SameObservationsSameDiagnosis) {
  auto o = healthy_observations();
  o.attempts.insert(o.attempts.begin(), filtered_attempt(kHost2, TargetSource::cached, us(0)));
  o.sntp.push_back(sntp(SntpOutcome::no_answer));
  const auto a = diagnose(o, {});
  const auto b = diagnose(o, {});
  EXPECT_EQ(a.findings, b.findings);
  EXPECT_EQ(a.summary, b.summary);
  EXPECT_EQ(a.timeline, b.timeline);
}

TEST(Timeline, RowsFollowStartTimeWithMicrosecondDurations) {
  auto o = healthy_observations();
  o.sntp.push_back(sntp(SntpOutcome::ok));
  const auto rows = build_timeline(o);
  ASSERT_EQ(rows.size(), 6u);
  const Phase order[] = {Phase::dns_srv,  Phase::dns_address,  Phase::tcp_connect,
                         Phase::rpc_bind, Phase::kms_activate, Phase::time_offset};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].phase, order[i]);
    EXPECT_EQ(rows[i].outcome, PhaseOutcome::ok);
    if (i > 0) {
      EXPECT_LE(rows[i - 1].start, rows[i].start);
    }
  }
  EXPECT_EQ(rows[0].duration, us(812));
  EXPECT_EQ(rows[0].target, "_vlmcs._tcp.corp.example");
  EXPECT_EQ(rows[2].target, "kms1.corp.example:1688");
  EXPECT_EQ(format_ms(us(1234)), "1.234");
  EXPECT_EQ(format_ms(us(-5)), "-0.005");
}

TEST(Timeline, OutcomesAndEvidenceOfFailures) {
  auto o = healthy_observations();
  o.attempts = {filtered_attempt(), refused_attempt(kHost2, TargetSource::kms, ms(3002))};
  const auto rows = build_timeline(o);
  const auto& filtered = rows.at(2);
  EXPECT_EQ(filtered.phase, Phase::tcp_connect);
  EXPECT_EQ(filtered.outcome, PhaseOutcome::timed_out);
  const auto& refused = rows.at(4);
  EXPECT_EQ(refused.target, "kms2.corp.example:1688 (kms)");
  EXPECT_EQ(refused.outcome, PhaseOutcome::failed);
  EXPECT_NE(std::find(refused.evidence.begin(), refused.evidence.end(), EvidenceItem{"errno", "111"}),
            refused.evidence.end());
}

}  // namespace
}  // namespace kmslab::client
