// Every finding code, each produced from a minimal observation: code, severity, HRESULT,
// evidence, next checks naming the domain / host, and the verdict it leads to.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "kmslab/client/diagnosis.hpp"
#include "probe_fixtures.hpp"

namespace kmslab::client {
namespace {

using namespace test;

struct FindingCase {
  FindingCode code;
  std::function<ProbeObservations()> observe;
  Severity severity;
  std::optional<std::uint32_t> hresult;
  std::string target_has;      // the finding's target contains this
  std::string checks_mention;  // some next check names this (domain / host / time source)
  Verdict verdict;
  DiagnosisPolicy policy = {};
};

ProbeObservations dns_fails(DnsOutcome outcome) {
  auto o = base_observations();
  o.dns.push_back(srv_failure(outcome));
  return o;
}

// SRV found kms1; the attempt's steps are then edited by `edit`.
ProbeObservations attempt(const std::function<void(AttemptObservation&)>& edit) {
  auto o = healthy_observations();
  edit(o.attempts.front());
  return o;
}

ProbeObservations in_band(std::uint32_t hr) {
  return attempt([hr](AttemptObservation& a) {
    a.activation.outcome = ActivationOutcome::hresult;
    a.activation.hresult = hr;
    a.activation.bytes_received = 36;
  });
}

DiagnosisPolicy budget(Phase phase, Micros b) {
  DiagnosisPolicy p;
  p.budgets[phase] = b;
  return p;
}

std::vector<FindingCase> cases() {
  using F = FindingCode;
  const std::string srv_name = "_vlmcs._tcp.corp.example";
  return {
      {F::dns_srv_missing, [] { return dns_fails(DnsOutcome::nxdomain); }, Severity::error, 0x8007232B,
       srv_name, srv_name, Verdict::failed},
      {F::dns_srv_nodata, [] { return dns_fails(DnsOutcome::nodata); }, Severity::error, 0x8007251D, srv_name,
       srv_name, Verdict::failed},
      {F::dns_servfail, [] { return dns_fails(DnsOutcome::servfail); }, Severity::error, 0x8007232A, srv_name,
       srv_name, Verdict::failed},
      {F::dns_refused, [] { return dns_fails(DnsOutcome::refused); }, Severity::error, 0x8007232D, srv_name,
       srv_name, Verdict::failed},
      {F::dns_timeout, [] { return dns_fails(DnsOutcome::timeout); }, Severity::error, 0x8007232A, srv_name,
       srv_name, Verdict::failed},
      {F::dns_unreachable, [] { return dns_fails(DnsOutcome::unreachable); }, Severity::error, 0x8007232A,
       srv_name, srv_name, Verdict::failed},
      {F::dns_no_address,
       [] {
         return attempt([](AttemptObservation& a) {
           a.address.outcome = DnsOutcome::nxdomain;
           a.address.addresses.clear();
           a.connect = {};
           stop_after_connect(a);
         });
       },
       Severity::error, 0x800706BA, kHost, kHost, Verdict::failed},
      {F::dns_wrong_port,
       [] {
         auto o = base_observations();
         o.dns.push_back(srv_answer(kDomain, {srv_record(kHost, 1700)}));
         o.attempts.push_back(good_attempt(kHost, 1700));
         return o;
       },
       Severity::info, std::nullopt, "kms1.corp.example:1700", "1700", Verdict::healthy},
      {F::dns_truncated_no_tcp, [] { return dns_fails(DnsOutcome::tcp_failed); }, Severity::error,
       std::nullopt, srv_name, srv_name, Verdict::failed},
      {F::tcp_refused,
       [] {
         auto o = healthy_observations();
         o.attempts = {refused_attempt()};
         return o;
       },
       Severity::error, 0x800706BA, kHost, kHost, Verdict::failed},
      {F::tcp_filtered,
       [] {
         auto o = healthy_observations();
         o.attempts = {filtered_attempt()};
         return o;
       },
       Severity::error, 0x800706BA, kHost, kHost, Verdict::failed},
      {F::tcp_reset,
       [] {
         return attempt([](AttemptObservation& a) {
           a.bind.outcome = BindOutcome::reset;
           a.bind.detail = "errno 104 Connection reset by peer";
           a.bind.bytes_received = 0;
           stop_after_bind(a);
         });
       },
       Severity::error, 0x8007071C, kHost, kHost, Verdict::failed},
      {F::rpc_no_response,
       [] {
         return attempt([](AttemptObservation& a) {
           a.bind.outcome = BindOutcome::no_response;
           a.bind.bytes_received = 0;
           a.bind.timing.duration = ms(5000);
           stop_after_bind(a);
         });
       },
       Severity::error, 0x800706BA, kHost, kHost, Verdict::failed},
      {F::rpc_bind_rejected,
       [] {
         return attempt([](AttemptObservation& a) {
           a.bind.outcome = BindOutcome::no_usable_context;
           a.bind.nak_reason = 1;
           a.bind.syntax = TransferSyntax::none;
           stop_after_bind(a);
         });
       },
       Severity::error, 0x800706C2, kHost, kHost, Verdict::failed},
      {F::rpc_fault,
       [] {
         return attempt([](AttemptObservation& a) {
           a.activation.outcome = ActivationOutcome::fault;
           a.activation.fault_status = 0x1C010003;  // nca_unk_if, as vlmcsd sends for an unknown context
         });
       },
       Severity::error, 0x800706B5, kHost, kHost, Verdict::failed},
      {F::rpc_malformed,
       [] {
         return attempt([](AttemptObservation& a) {
           a.bind.outcome = BindOutcome::malformed;
           a.bind.detail = "bad version at offset 0: rpc_vers 4";
           stop_after_bind(a);
         });
       },
       Severity::error, 0x800706C0, kHost, kHost, Verdict::failed},
      {F::kms_time_skew, [] { return in_band(0xC004F06C); }, Severity::error, 0xC004F06C, kHost, kHost,
       Verdict::failed},
      {F::kms_product_not_served, [] { return in_band(0xC004F042); }, Severity::error, 0xC004F042, kHost,
       kHost, Verdict::failed},
      {F::kms_count_too_low,
       [] { return attempt([](AttemptObservation& a) { a.activation.response.current_count = 3; }); },
       Severity::error, 0xC004F038, kHost, kHost, Verdict::failed},
      {F::kms_invalid_request, [] { return in_band(0x8007000D); }, Severity::error, 0x8007000D, kHost,
       kDomain, Verdict::failed},
      {F::kms_bad_response,
       [] {
         return attempt([](AttemptObservation& a) {
           a.activation.outcome = ActivationOutcome::bad_response;
           a.activation.failed_check = ResponseCheck::hmac;
         });
       },
       Severity::error, std::nullopt, kHost, kHost, Verdict::failed},
      {F::time_skew,
       [] {
         auto o = healthy_observations();
         o.sntp.push_back(sntp(SntpOutcome::ok, 3LL * 3600 * 1'000'000'000));
         return o;
       },
       Severity::warning, std::nullopt, "127.0.0.1:123", "127.0.0.1", Verdict::degraded},
      {F::time_source_unavailable,
       [] {
         auto o = healthy_observations();
         o.sntp.push_back(sntp(SntpOutcome::no_answer));
         return o;
       },
       Severity::warning, std::nullopt, "127.0.0.1:123", "127.0.0.1", Verdict::degraded},
      {F::slow_dns_srv, [] { return healthy_observations(); }, Severity::warning, std::nullopt, srv_name,
       srv_name, Verdict::degraded, budget(Phase::dns_srv, us(100))},
      {F::slow_dns_address, [] { return healthy_observations(); }, Severity::warning, std::nullopt, kHost,
       kHost, Verdict::degraded, budget(Phase::dns_address, us(100))},
      {F::slow_tcp_connect, [] { return healthy_observations(); }, Severity::warning, std::nullopt, kHost,
       kHost, Verdict::degraded, budget(Phase::tcp_connect, us(100))},
      {F::slow_rpc_bind, [] { return healthy_observations(); }, Severity::warning, std::nullopt, kHost, kHost,
       Verdict::degraded, budget(Phase::rpc_bind, us(100))},
      {F::slow_kms_activate, [] { return healthy_observations(); }, Severity::warning, std::nullopt, kHost,
       kHost, Verdict::degraded, budget(Phase::kms_activate, us(100))},
      {F::slow_time_offset,
       [] {
         auto o = healthy_observations();
         o.sntp.push_back(sntp(SntpOutcome::ok));
         return o;
       },
       Severity::warning, std::nullopt, "127.0.0.1:123", "127.0.0.1", Verdict::degraded,
       budget(Phase::time_offset, us(100))},
      {F::failover_used,
       [] {
         auto o = base_observations();
         o.dns.push_back(srv_answer(kDomain, {srv_record(kHost), srv_record(kHost2, kKmsPort, 10)}));
         o.attempts = {refused_attempt(kHost), good_attempt(kHost2, kKmsPort, TargetSource::srv, ms(2))};
         return o;
       },
       Severity::warning, std::nullopt, kHost, kHost, Verdict::degraded},
  };
}

void PrintTo(const FindingCase& c, std::ostream* os) { *os << to_string(c.code); }

class EveryFinding : public ::testing::TestWithParam<FindingCase> {};

TEST_P(EveryFinding, IsDiagnosedFromAMinimalObservation) {
  const auto& c = GetParam();
  const auto d = diagnose(c.observe(), c.policy);
  const Finding* f = find(d, c.code);
  ASSERT_NE(f, nullptr) << "no " << to_string(c.code) << "; summary: " << d.summary;
  EXPECT_EQ(f->severity, c.severity);
  EXPECT_EQ(f->hresult, c.hresult);
  EXPECT_EQ(f->hresult_basis == HresultBasis::none, !c.hresult.has_value());
  EXPECT_NE(f->target.find(c.target_has), std::string::npos) << f->target;
  ASSERT_FALSE(f->evidence.empty());
  for (const auto& line : f->evidence) EXPECT_FALSE(line.empty());
  ASSERT_FALSE(f->next_checks.empty());
  EXPECT_TRUE(any_check_mentions(*f, c.checks_mention)) << "no check mentions " << c.checks_mention;
  for (const auto& check : f->next_checks) {
    EXPECT_FALSE(has_unfilled_placeholder(check.command)) << check.command;
    EXPECT_FALSE(has_unfilled_placeholder(check.why)) << check.why;
  }
  EXPECT_EQ(f->entry().code, c.code);
  if (auto p = slow_phase(c.code)) {
    EXPECT_EQ(f->phase, *p);
  }
  EXPECT_EQ(d.verdict, c.verdict) << d.summary;
  EXPECT_EQ(d.exit_code, c.verdict == Verdict::failed ? 1 : 0);
}

INSTANTIATE_TEST_SUITE_P(Catalog, EveryFinding, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<FindingCase>& param) {
                           std::string name(to_string(param.param.code));
                           for (auto& ch : name)
                             if (ch == '.') ch = '_';
                           return name;
                         });

TEST(EveryFinding, TheTableCoversTheWholeCatalog) {
  std::set<FindingCode> covered;
  for (const auto& c : cases()) covered.insert(c.code);
  for (auto code : all_finding_codes()) EXPECT_TRUE(covered.count(code)) << to_string(code) << " has no case";
}

TEST(DnsFindings, FormerrIsAServerFailureWithItsOwnCode) {
  const auto d = diagnose(dns_fails(DnsOutcome::formerr), {});
  const Finding* f = find(d, FindingCode::dns_servfail);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->hresult, 0x80072329u);
  EXPECT_NE(f->evidence.front().find("FORMERR"), std::string::npos);
}

TEST(DnsFindings, ResolverErrorWithoutRcodeHasNoWindowsCode) {
  auto o = dns_fails(DnsOutcome::error);
  o.dns.front().detail = "bad_response: the answer did not parse";
  const auto d = diagnose(o, {});
  const Finding* f = find(d, FindingCode::dns_servfail);
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->hresult.has_value());
  EXPECT_EQ(f->evidence.at(1), "bad_response: the answer did not parse");
}

// dns.servfail also stands for FORMERR and for an answer that did not parse: its title must not
// claim a SERVFAIL the evidence does not show (the evidence line names what the server did).
TEST(DnsFindings, ServfailTitleClaimsNoRcodeTheEvidenceLacks) {
  for (auto outcome : {DnsOutcome::formerr, DnsOutcome::error}) {
    const auto d = diagnose(dns_fails(outcome), {});
    const Finding* f = find(d, FindingCode::dns_servfail);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(std::string(f->entry().title).find("(SERVFAIL)"), std::string::npos) << f->entry().title;
    EXPECT_EQ(std::string(f->entry().title).find("SRV"), std::string::npos) << "also an address lookup: " << f->entry().title;
  }
}

// The probe asked a DNS server on a non-default port: every nslookup it suggests must ask that
// port too, or the operator checks port 53 and sees something else.
TEST(DnsFindings, NextChecksKeepTheDnsServersPort) {
  for (auto outcome : {DnsOutcome::refused, DnsOutcome::servfail, DnsOutcome::nxdomain, DnsOutcome::timeout,
                       DnsOutcome::nodata}) {
    auto o = dns_fails(outcome);
    o.dns.front().server = "127.0.0.1:5353";
    const auto d = diagnose(o, {});
    ASSERT_FALSE(d.findings.empty());
    const auto& f = d.findings.front();
    bool nslookup = false;
    for (const auto& check : f.next_checks) {
      if (!check.command.starts_with("nslookup")) continue;
      nslookup = true;
      EXPECT_NE(check.command.find("-port=5353 "), std::string::npos) << to_string(f.code) << ": " << check.command;
      EXPECT_NE(check.command.find(" 127.0.0.1"), std::string::npos) << check.command;
    }
    EXPECT_TRUE(nslookup) << to_string(f.code);
  }
  // Port 53 is nslookup's own default: no -port= then.
  auto o = dns_fails(DnsOutcome::refused);
  o.dns.front().server = "127.0.0.1:53";
  const auto d = diagnose(o, {});
  for (const auto& check : d.findings.front().next_checks)
    EXPECT_EQ(check.command.find("-port="), std::string::npos) << check.command;
}

TEST(DnsFindings, OnlyDotTargetsMeanNoData) {
  auto o = base_observations();
  o.dns.push_back(srv_answer(kDomain, {srv_record(".", 0)}));
  const auto d = diagnose(o, {});
  const Finding* f = find(d, FindingCode::dns_srv_nodata);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->evidence.at(1).find("RFC 2782"), std::string::npos);
  EXPECT_EQ(find(d, FindingCode::dns_wrong_port), nullptr) << "a '.' record advertises no port";
}

TEST(DnsFindings, NoErrorWithoutRecordsIsNoData) {
  auto o = base_observations();
  o.dns.push_back(srv_answer(kDomain, {}));
  EXPECT_NE(find(diagnose(o, {}), FindingCode::dns_srv_nodata), nullptr);
}

TEST(DnsFindings, WrongPortThatFailsIsStillAWarningBesideTheError) {
  auto o = base_observations();
  o.dns.push_back(srv_answer(kDomain, {srv_record(kHost, 1700)}));
  auto a = refused_attempt();
  a.port = 1700;
  o.attempts = {a};
  const auto d = diagnose(o, {});
  const Finding* w = find(d, FindingCode::dns_wrong_port);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->severity, Severity::warning);
  EXPECT_NE(w->evidence.back().find("tcp.refused"), std::string::npos) << w->evidence.back();
  EXPECT_NE(find(d, FindingCode::tcp_refused), nullptr);
  EXPECT_EQ(d.verdict, Verdict::failed);
}

TEST(DnsFindings, AddressLookupTimeoutIsADnsTimeoutInTheAddressPhase) {
  auto o = attempt([](AttemptObservation& a) {
    a.address.outcome = DnsOutcome::timeout;
    a.address.addresses.clear();
    a.connect = {};
    stop_after_connect(a);
  });
  const auto d = diagnose(o, {});
  const Finding* f = find(d, FindingCode::dns_timeout);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->phase, Phase::dns_address);
}

TEST(KmsFindings, UnmappedInBandCodeIsReportedAsObserved) {
  const auto d = diagnose(in_band(0xC004D104), {});
  const Finding* f = find(d, FindingCode::kms_invalid_request);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->hresult, 0xC004D104u);
  EXPECT_EQ(f->hresult_basis, HresultBasis::observed);
  EXPECT_EQ(d.windows_code, 0xC004D104u);
}

TEST(KmsFindings, MissingEchoIsABadResponse) {
  const auto d =
      diagnose(attempt([](AttemptObservation& a) { a.activation.response.cmid_echoed = false; }), {});
  const Finding* f = find(d, FindingCode::kms_bad_response);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->evidence.front().find("client machine ID"), std::string::npos);
  EXPECT_EQ(d.verdict, Verdict::failed);
}

TEST(KmsFindings, CountAtThePolicyActivates) {
  const auto d =
      diagnose(attempt([](AttemptObservation& a) { a.activation.response.current_count = 25; }), {});
  EXPECT_EQ(d.verdict, Verdict::healthy);
  EXPECT_EQ(d.windows_code, 0u);
}

TEST(KmsFindings, CountTooLowQuotesTheCountAndThePolicy) {
  const auto d =
      diagnose(attempt([](AttemptObservation& a) { a.activation.response.current_count = 3; }), {});
  const Finding* f = find(d, FindingCode::kms_count_too_low);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->evidence.front().find("count 3"), std::string::npos);
  EXPECT_NE(f->evidence.front().find("at least 25"), std::string::npos);
  EXPECT_EQ(d.windows_code, 0xC004F038u) << "decided by the client, as Windows does";
}

TEST(RpcFindings, FaultWithWin32StatusBecomesItsHresult) {
  const auto d = diagnose(attempt([](AttemptObservation& a) {
                            a.bind.outcome = BindOutcome::fault;
                            a.bind.fault_status = 5;  // ERROR_ACCESS_DENIED
                            stop_after_bind(a);
                          }),
                          {});
  const Finding* f = find(d, FindingCode::rpc_fault);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->hresult, 0x80070005u);
  EXPECT_EQ(f->phase, Phase::rpc_bind);
}

TEST(RpcFindings, ActivationWithoutAnswerIsNoResponseInTheActivatePhase) {
  const auto d = diagnose(attempt([](AttemptObservation& a) {
                            a.activation.outcome = ActivationOutcome::no_response;
                            a.activation.timing.duration = ms(5000);
                          }),
                          {});
  const Finding* f = find(d, FindingCode::rpc_no_response);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->phase, Phase::kms_activate);
  EXPECT_NE(f->evidence.front().find("5000.000 ms"), std::string::npos) << f->evidence.front();
}

TEST(TimeFindings, SkewBeyondTheKmsToleranceSaysSo) {
  auto o = healthy_observations();
  o.sntp.push_back(sntp(SntpOutcome::ok, -5LL * 3600 * 1'000'000'000));
  const auto d = diagnose(o, {});
  const Finding* f = find(d, FindingCode::time_skew);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->evidence.front().find("-18000.000 s"), std::string::npos) << f->evidence.front();
  EXPECT_NE(f->evidence.front().find("ahead of"), std::string::npos);
  EXPECT_NE(f->evidence.back().find("0xC004F06C"), std::string::npos);
}

TEST(TimeFindings, SkewWithinTheThresholdIsNoFinding) {
  auto o = healthy_observations();
  o.sntp.push_back(sntp(SntpOutcome::ok, 299LL * 1'000'000'000));
  const auto d = diagnose(o, {});
  EXPECT_EQ(find(d, FindingCode::time_skew), nullptr);
  EXPECT_EQ(d.verdict, Verdict::healthy);
  DiagnosisPolicy tight;
  tight.time_skew_threshold = std::chrono::seconds(60);
  EXPECT_NE(find(diagnose(o, tight), FindingCode::time_skew), nullptr);
}

TEST(TimeFindings, KissOfDeathAndStratum16AreUnavailableSources) {
  auto o = healthy_observations();
  auto kod = sntp(SntpOutcome::kiss_of_death);
  kod.kiss_code = "DENY";
  auto unsync = sntp(SntpOutcome::unsynchronised);
  unsync.server = "127.0.0.2:123";
  unsync.stratum = 16;
  o.sntp = {kod, unsync};
  const auto d = diagnose(o, {});
  int count = 0;
  for (const auto& f : d.findings)
    if (f.code == FindingCode::time_source_unavailable) ++count;
  EXPECT_EQ(count, 2);
  EXPECT_NE(find(d, FindingCode::time_source_unavailable)->evidence.front().find("DENY"), std::string::npos);
}

}  // namespace
}  // namespace kmslab::client
