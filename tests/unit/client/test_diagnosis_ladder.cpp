// The triage ladder: by name works -> SRV record; by IP works -> name resolution; neither ->
// network / firewall on 1688 (or the service behind the port when TCP connects by IP).
#include <gtest/gtest.h>

#include "kmslab/client/diagnosis.hpp"
#include "probe_fixtures.hpp"

namespace kmslab::client {
namespace {

using namespace test;

// SRV discovery failed (NXDOMAIN); the ladder then aims at kms1 by name and 192.0.2.10 by IP.
ProbeObservations ladder_after_srv_missing() {
  auto o = base_observations();
  o.dns.push_back(srv_failure(DnsOutcome::nxdomain));
  o.ladder.ran = true;
  o.ladder.trigger = "SRV discovery failed for corp.example";
  o.ladder.host = kHost;
  o.ladder.address = kAddress;
  return o;
}

AttemptObservation by_name(AttemptObservation a) {
  a.source = TargetSource::ladder_name;
  a.srv.reset();
  a.domain.clear();
  return a;
}

AttemptObservation by_ip(AttemptObservation a) {
  a.host = kAddress;
  a.source = TargetSource::ladder_ip;
  a.srv.reset();
  a.domain.clear();
  a.address = {};
  a.address.source = AddressSource::literal;
  a.address.addresses = {kAddress};
  return a;
}

TEST(Ladder, NameWorksMeansTheSrvRecordIsTheProblem) {
  auto o = ladder_after_srv_missing();
  o.attempts.push_back(by_name(good_attempt(kHost, kKmsPort, TargetSource::ladder_name, ms(2))));
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::srv_record);
  EXPECT_NE(d.ladder.text.find("SRV record"), std::string::npos);
  ASSERT_EQ(d.ladder.evidence.size(), 2u);
  EXPECT_NE(d.ladder.evidence[1].find("by name kms1.corp.example:1688: activated"), std::string::npos)
      << d.ladder.evidence[1];
  // A ladder rung is the probe's own test: the client still fails, with 0xC004F074 around
  // the DNS error.
  EXPECT_EQ(d.verdict, Verdict::failed);
  EXPECT_FALSE(d.activated_attempt.has_value());
  EXPECT_EQ(d.windows_code, 0xC004F074u);
  EXPECT_EQ(d.underlying_code, 0x8007232Bu);
  const Finding* f = find(d, FindingCode::dns_srv_missing);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->evidence.back().find("0xC004F074"), std::string::npos);
  EXPECT_NE(d.summary.find("ladder: srv_record"), std::string::npos) << d.summary;
}

TEST(Ladder, AnInBandRefusalByNameStillProvesTheHostIsReachable) {
  auto o = ladder_after_srv_missing();
  auto a = by_name(good_attempt(kHost, kKmsPort, TargetSource::ladder_name, ms(2)));
  a.activation.outcome = ActivationOutcome::hresult;
  a.activation.hresult = 0xC004F042;
  o.attempts.push_back(a);
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::srv_record);
  EXPECT_NE(find(d, FindingCode::kms_product_not_served), nullptr);
  EXPECT_EQ(d.windows_code, 0xC004F074u) << "the client itself never reached the host";
}

TEST(Ladder, IpWorksMeansNameResolutionIsTheProblem) {
  auto o = ladder_after_srv_missing();
  auto name = by_name(good_attempt(kHost, kKmsPort, TargetSource::ladder_name, ms(2)));
  name.address.outcome = DnsOutcome::nxdomain;
  name.address.addresses.clear();
  name.connect = {};
  stop_after_connect(name);
  o.attempts = {name, by_ip(good_attempt(kAddress, kKmsPort, TargetSource::ladder_ip, ms(3)))};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::name_resolution);
  EXPECT_NE(d.ladder.text.find("name resolution of kms1.corp.example"), std::string::npos) << d.ladder.text;
  EXPECT_NE(find(d, FindingCode::dns_no_address), nullptr);
  EXPECT_EQ(d.verdict, Verdict::failed);
}

// With an IP address as the hint there is no name to resolve: the probe climbs only the by-IP
// rung, and a host that answers there proves SRV discovery wrong, never name resolution.
TEST(Ladder, IpHintThatAnswersNeverBlamesNameResolution) {
  auto o = ladder_after_srv_missing();
  o.ladder.host = kAddress;
  o.attempts = {by_ip(good_attempt(kAddress, kKmsPort, TargetSource::ladder_ip, ms(3)))};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::srv_record) << d.ladder.text;
  EXPECT_EQ(d.ladder.text.find("by name"), std::string::npos) << d.ladder.text;
  EXPECT_EQ(d.ladder.text.find("name resolution"), std::string::npos) << d.ladder.text;
  EXPECT_NE(d.ladder.text.find("SRV"), std::string::npos) << d.ladder.text;
  EXPECT_EQ(d.summary.find("name_resolution"), std::string::npos) << d.summary;
}

TEST(Ladder, NeitherWorksMeansNetworkOrFirewall) {
  auto o = ladder_after_srv_missing();
  o.attempts = {by_name(filtered_attempt(kHost, TargetSource::ladder_name, ms(2))),
                by_ip(filtered_attempt(kAddress, TargetSource::ladder_ip, ms(3100)))};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::network_or_firewall);
  EXPECT_NE(d.ladder.text.find("firewall on port 1688"), std::string::npos) << d.ladder.text;
  EXPECT_NE(d.ladder.text.find("timeout"), std::string::npos);
  // Both rungs are filtered: two findings, one per target.
  int filtered = 0;
  for (const auto& f : d.findings) filtered += f.code == FindingCode::tcp_filtered;
  EXPECT_EQ(filtered, 2);
}

TEST(Ladder, RefusedByIpIsStillTheNetworkRung) {
  auto o = ladder_after_srv_missing();
  o.attempts = {by_name(refused_attempt(kHost, TargetSource::ladder_name, ms(2))),
                by_ip(refused_attempt(kAddress, TargetSource::ladder_ip, ms(3)))};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::network_or_firewall);
  EXPECT_NE(d.ladder.text.find("refused"), std::string::npos);
}

TEST(Ladder, TcpByIpButNoKmsAnswerBlamesTheService) {
  auto o = ladder_after_srv_missing();
  auto ip = by_ip(good_attempt(kAddress, kKmsPort, TargetSource::ladder_ip, ms(3)));
  ip.bind.outcome = BindOutcome::no_response;
  stop_after_bind(ip);
  o.attempts = {by_name(refused_attempt(kHost, TargetSource::ladder_name, ms(2))), ip};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::kms_service);
  EXPECT_NE(find(d, FindingCode::rpc_no_response), nullptr);
}

TEST(Ladder, NameFailsAndNoAddressKnownIsInconclusive) {
  auto o = ladder_after_srv_missing();
  o.ladder.address.clear();
  o.attempts = {by_name(filtered_attempt(kHost, TargetSource::ladder_name, ms(2)))};
  const auto d = diagnose(o, {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::inconclusive);
  EXPECT_NE(d.ladder.text.find("no IP address"), std::string::npos);
}

TEST(Ladder, NotRunWhenTheProbeDidNotRunIt) {
  const auto d = diagnose(healthy_observations(), {});
  EXPECT_EQ(d.ladder.verdict, LadderVerdict::not_run);
  EXPECT_TRUE(d.ladder.evidence.empty());
}

TEST(Ladder, RungFailuresAreLoweredWhenTheClientActivatedAnyway) {
  auto o = healthy_observations();
  o.ladder.ran = true;
  o.ladder.host = kHost;
  o.attempts.push_back(by_name(filtered_attempt(kHost, TargetSource::ladder_name, ms(10))));
  const auto d = diagnose(o, {});
  const Finding* f = find(d, FindingCode::tcp_filtered);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::warning);
  EXPECT_EQ(d.verdict, Verdict::degraded);
  EXPECT_EQ(find(d, FindingCode::failover_used), nullptr) << "ladder rungs are not client failover";
}

}  // namespace
}  // namespace kmslab::client
