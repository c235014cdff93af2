// Expectation checking, table-driven over hand-built diagnoses, and expectation mutation.
#include "kmslab/harness/expectations.hpp"

#include <gtest/gtest.h>

namespace kmslab::harness {
namespace {

using client::FindingCode;
using client::Phase;
using client::Severity;
using std::chrono::milliseconds;

client::Finding finding(FindingCode code, Severity severity) {
  client::Finding f;
  f.code = code;
  f.severity = severity;
  f.target = "kms1.corp.example:1688";
  f.evidence = {"observed"};
  return f;
}

client::PhaseRecord row(Phase phase, milliseconds duration, std::string target = "kms1",
                        client::PhaseOutcome outcome = client::PhaseOutcome::ok) {
  client::PhaseRecord r;
  r.phase = phase;
  r.target = std::move(target);
  r.duration = duration;
  r.outcome = outcome;
  return r;
}

// A failover: kms1 refused, kms2 worked.
client::Diagnosis failover() {
  client::Diagnosis d;
  d.verdict = client::Verdict::degraded;
  d.windows_code = 0;
  d.exit_code = 0;
  d.findings = {finding(FindingCode::tcp_refused, Severity::warning),
                finding(FindingCode::failover_used, Severity::warning)};
  d.timeline = {row(Phase::dns_srv, milliseconds(2), "_vlmcs._tcp.corp.example"),
                row(Phase::tcp_connect, milliseconds(1), "kms1", client::PhaseOutcome::failed),
                row(Phase::tcp_connect, milliseconds(3), "kms2"), row(Phase::kms_activate, milliseconds(40), "kms2")};
  return d;
}

ExpectedFinding want(FindingCode code, std::optional<Severity> severity = std::nullopt) { return {code, severity}; }

PhaseWindow window(Phase phase, std::optional<milliseconds> min, std::optional<milliseconds> max,
                   std::size_t occurrence = 0, std::string target = {}) {
  PhaseWindow w;
  w.phase = phase;
  w.occurrence = occurrence;
  w.target = std::move(target);
  if (min) w.min = *min;
  if (max) w.max = *max;
  return w;
}

struct Case {
  const char* name;
  Expectation expect;
  std::vector<std::string> failures;  // substrings, one per expected failure line; empty = passes
};

std::vector<Case> cases() {
  std::vector<Case> out;
  auto add = [&](const char* name, auto edit, std::vector<std::string> failures) {
    Expectation e;
    e.findings = {want(FindingCode::tcp_refused), want(FindingCode::failover_used)};
    edit(e);
    out.push_back({name, e, std::move(failures)});
  };
  add("exact match passes", [](Expectation&) {}, {});
  add("severity pinned right", [](Expectation& e) { e.findings[0].severity = Severity::warning; }, {});
  add("severity pinned wrong", [](Expectation& e) { e.findings[0].severity = Severity::error; },
      {"finding tcp.refused: expected severity error, reported as warning"});
  add("missing finding", [](Expectation& e) { e.findings.push_back(want(FindingCode::dns_timeout)); },
      {"finding dns.timeout: expected, not reported (reported: tcp.refused(warning), failover.used(warning))"});
  add("unexpected finding with exact", [](Expectation& e) { e.findings.pop_back(); },
      {"finding failover.used: not expected, reported (warning: kms1.corp.example:1688; observed)"});
  add("unexpected finding allowed when not exact", [](Expectation& e) {
        e.findings.pop_back();
        e.exact_findings = false;
      },
      {});
  add("absent but reported", [](Expectation& e) {
        e.findings.pop_back();
        e.exact_findings = false;
        e.absent = {FindingCode::failover_used};
      },
      {"finding failover.used: expected absent, reported"});
  add("verdict, code, exit right", [](Expectation& e) {
        e.verdict = client::Verdict::degraded;
        e.windows_code = 0;
        e.exit_code = 0;
        e.ladder = client::LadderVerdict::not_run;
      },
      {});
  add("verdict, code, exit wrong", [](Expectation& e) {
        e.verdict = client::Verdict::failed;
        e.windows_code = 0xC004F074u;
        e.underlying_code = 0x800706BAu;
        e.exit_code = 1;
        e.ladder = client::LadderVerdict::srv_record;
      },
      {"verdict: expected failed, got degraded", "hresult: expected 0xC004F074, got 0x00000000",
       "underlying code: expected 0x800706BA, got none", "exit: expected 1, got 0",
       "ladder: expected srv_record, got not_run"});
  add("windows hold", [](Expectation& e) {
        e.phases = {window(Phase::kms_activate, milliseconds(30), milliseconds(100)),
                    window(Phase::tcp_connect, std::nullopt, milliseconds(5), 1),
                    window(Phase::tcp_connect, milliseconds(2), std::nullopt, 0, "kms2")};
      },
      {});
  add("window too fast and too slow", [](Expectation& e) {
        e.phases = {window(Phase::kms_activate, milliseconds(50), std::nullopt),
                    window(Phase::dns_srv, std::nullopt, milliseconds(1))};
      },
      {"phase first kms.activate: expected at least 50.000 ms, took 40.000 ms",
       "phase first dns.srv: expected at most 1.000 ms, took 2.000 ms"});
  add("window on a missing row", [](Expectation& e) {
        e.phases = {window(Phase::tcp_connect, std::nullopt, milliseconds(5), 2)};
      },
      {"phase third tcp.connect: expected, but the timeline has 2 such row(s)"});
  add("window outcome", [](Expectation& e) {
        auto w = window(Phase::tcp_connect, std::nullopt, std::nullopt);
        w.outcome = client::PhaseOutcome::timed_out;
        e.phases = {w};
      },
      {"phase first tcp.connect: expected outcome timed_out, got failed"});
  add("total window", [](Expectation& e) { e.total_max = milliseconds(10); },
      {"total: expected at most 10.000 ms, took 46.000 ms"});
  return out;
}

TEST(Expectations, TableDriven) {
  const auto d = failover();
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    const auto r = check_expectation(c.expect, d, milliseconds(46));
    EXPECT_EQ(r.passed, c.failures.empty());
    ASSERT_EQ(r.failures.size(), c.failures.size()) << (r.failures.empty() ? "" : r.failures.front());
    for (std::size_t i = 0; i < c.failures.size(); ++i)
      EXPECT_NE(r.failures[i].find(c.failures[i]), std::string::npos) << r.failures[i];
  }
}

TEST(Expectations, HealthyMeansNoFindingsWhenExact) {
  client::Diagnosis healthy;
  healthy.verdict = client::Verdict::healthy;
  healthy.windows_code = 0;
  healthy.exit_code = 0;
  Expectation e;
  EXPECT_TRUE(check_expectation(e, healthy, milliseconds(5)).passed);
  healthy.findings.push_back(finding(FindingCode::slow_kms_activate, Severity::warning));
  EXPECT_FALSE(check_expectation(e, healthy, milliseconds(5)).passed);
}

TEST(Expectations, Descriptions) {
  Expectation e;
  e.findings = {want(FindingCode::tcp_refused, Severity::warning)};
  e.windows_code = 0xC004F074u;
  e.exit_code = 1;
  EXPECT_EQ(describe_expectation(e), "tcp.refused(warning) 0xC004F074 exit 1");
  EXPECT_EQ(describe_expectation(Expectation{}), "no findings");
  EXPECT_EQ(describe_outcome(failover()), "degraded activates exit 0: tcp.refused(warning), failover.used(warning)");
}

TEST(Mutation, DropsTheFirstAndRequiresAnUnexpectedCode) {
  Expectation e;
  e.findings = {want(FindingCode::tcp_refused), want(FindingCode::failover_used)};
  e.absent = {FindingCode::dns_srv_missing};
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    const auto m = mutate_expectation(e, seed);
    ASSERT_EQ(m.expect.findings.size(), 2u);
    EXPECT_EQ(m.expect.findings[0].code, FindingCode::failover_used);
    const auto added = m.expect.findings[1].code;
    EXPECT_NE(added, FindingCode::tcp_refused);
    EXPECT_NE(added, FindingCode::failover_used);
    EXPECT_NE(added, FindingCode::dns_srv_missing) << "never an absent code";
    // The original passes on the failover diagnosis; every mutant fails on it.
    EXPECT_FALSE(check_expectation(m.expect, failover(), milliseconds(1)).passed) << m.description;
  }
  EXPECT_TRUE(check_expectation(e, failover(), milliseconds(1)).passed);
  EXPECT_EQ(mutate_expectation(e, 3).description, mutate_expectation(e, 3).description) << "deterministic";
}

TEST(Mutation, HealthyExpectationGainsAFinding) {
  const auto m = mutate_expectation(Expectation{}, 0);
  ASSERT_EQ(m.expect.findings.size(), 1u);
  EXPECT_NE(m.description.find("[] -> ["), std::string::npos) << m.description;
}

}  // namespace
}  // namespace kmslab::harness

namespace kmslab::harness {
namespace {

TEST(DiscountOwnPorts, DropsOnlyTheSitesOwnPortsAndRecomputesTheVerdict) {
  client::Diagnosis d;
  d.verdict = client::Verdict::degraded;
  d.windows_code = 0;
  d.exit_code = 1;  // strict
  auto own = finding(FindingCode::dns_wrong_port, Severity::warning);
  own.target = "kms1.corp.example:41093";
  auto written = finding(FindingCode::dns_wrong_port, Severity::warning);
  written.target = "kms2.corp.example:1689";
  d.findings = {own, written};
  auto copy = d;
  EXPECT_EQ(discount_own_ports(copy, {"kms1.corp.example:41093"}, true),
            std::vector<std::string>{"kms1.corp.example:41093"});
  ASSERT_EQ(copy.findings.size(), 1u);
  EXPECT_EQ(copy.findings[0].target, "kms2.corp.example:1689") << "a port the scenario wrote keeps its finding";
  EXPECT_EQ(copy.verdict, client::Verdict::degraded);

  d.findings = {own};
  EXPECT_EQ(discount_own_ports(d, {"kms1.corp.example:41093"}, true).size(), 1u);
  EXPECT_TRUE(d.findings.empty());
  EXPECT_EQ(d.verdict, client::Verdict::healthy);
  EXPECT_EQ(d.exit_code, 0);

  client::Diagnosis failed;
  failed.verdict = client::Verdict::failed;
  failed.exit_code = 1;
  failed.findings = {finding(FindingCode::tcp_refused, Severity::error), own};
  failed.primary_finding = 0;
  discount_own_ports(failed, {"kms1.corp.example:41093"}, false);
  EXPECT_EQ(failed.verdict, client::Verdict::failed);
  EXPECT_EQ(failed.primary_finding, 0u);
  EXPECT_EQ(failed.findings.size(), 1u);
}

}  // namespace
}  // namespace kmslab::harness
