// From a diagnosed probe run to metric values: summarize() and WatchMetrics, checked on the
// rendered page the way Prometheus would read it.
#include <gtest/gtest.h>

#include "../client/probe_fixtures.hpp"
#include "kmslab/client/diagnosis.hpp"
#include "kmslab/monitor/probe_summary.hpp"
#include "kmslab/monitor/watch_metrics.hpp"

namespace {

using namespace kmslab::monitor;
namespace c = kmslab::client;
namespace ct = kmslab::client::test;

c::ProbeRun diagnosed(c::ProbeObservations o, std::map<c::Phase, c::Micros> budgets = {}) {
  c::ProbeRun run;
  run.product.n_policy = 25;
  run.observations = std::move(o);
  c::DiagnosisPolicy policy;
  policy.budgets = std::move(budgets);
  run.diagnosis = c::diagnose(run.observations, policy);
  return run;
}

bool has_line(const std::string& page, const std::string& line) {
  return page.find("\n" + line + "\n") != std::string::npos;
}

const std::chrono::system_clock::time_point kAt{std::chrono::seconds(1'764'000'000)};

TEST(ProbeSummary, HealthyRun) {
  auto o = ct::healthy_observations();
  o.sntp.push_back(ct::sntp(c::SntpOutcome::ok, -1'500'000'000));
  const auto s = summarize(diagnosed(o));
  EXPECT_TRUE(s.success);
  EXPECT_EQ(s.windows_code, 0u);
  EXPECT_EQ(s.required_count, 25u);
  EXPECT_DOUBLE_EQ(s.duration_seconds, 0.020);
  EXPECT_EQ(s.srv_records.at("corp.example"), 1u);
  ASSERT_EQ(s.hosts.size(), 1u);
  EXPECT_EQ(s.hosts[0].host, "kms1.corp.example:1688");
  EXPECT_EQ(s.hosts[0].source, "srv");
  EXPECT_TRUE(s.hosts[0].resolved && s.hosts[0].reachable && s.hosts[0].up);
  EXPECT_EQ(s.hosts[0].count, 50u);
  EXPECT_DOUBLE_EQ(s.phase_seconds.at(c::Phase::tcp_connect), 0.0003);
  EXPECT_DOUBLE_EQ(s.phase_seconds.at(c::Phase::kms_activate), 0.0009);
  EXPECT_DOUBLE_EQ(s.clock_offset_seconds.at("127.0.0.1:123"), -1.5);
  EXPECT_TRUE(s.findings.empty());
}

TEST(ProbeSummary, SrvMissingCountsZeroRecordsAndTheFinding) {
  auto o = ct::base_observations();
  o.dns.push_back(ct::srv_failure(c::DnsOutcome::nxdomain));
  const auto s = summarize(diagnosed(o));
  EXPECT_FALSE(s.success);
  EXPECT_EQ(s.windows_code, 0xC004F074u);
  EXPECT_EQ(s.srv_records.at("corp.example"), 0u);
  EXPECT_NE(std::find(s.findings.begin(), s.findings.end(), c::FindingCode::dns_srv_missing), s.findings.end());
}

TEST(ProbeSummary, RefusedHostIsResolvedButNotReachableNorUp) {
  auto o = ct::base_observations();
  o.dns.push_back(ct::srv_answer(ct::kDomain, {ct::srv_record(ct::kHost)}));
  o.attempts.push_back(ct::refused_attempt());
  const auto s = summarize(diagnosed(o));
  ASSERT_EQ(s.hosts.size(), 1u);
  EXPECT_TRUE(s.hosts[0].resolved);
  EXPECT_FALSE(s.hosts[0].reachable);
  EXPECT_FALSE(s.hosts[0].up);
  EXPECT_FALSE(s.hosts[0].count);
}

TEST(ProbeSummary, TimedOutStepsAreNotLatencySamples) {
  auto o = ct::base_observations();
  o.dns.push_back(ct::srv_answer(ct::kDomain, {ct::srv_record(ct::kHost)}));
  o.attempts.push_back(ct::filtered_attempt());
  const auto s = summarize(diagnosed(o));
  EXPECT_DOUBLE_EQ(s.phase_seconds.at(c::Phase::tcp_connect), 3.0) << "the time spent still counts";
  for (const auto& [phase, value] : s.latency_samples) EXPECT_NE(phase, c::Phase::tcp_connect);
}

TEST(WatchMetrics, RendersEveryFamilyFromARun) {
  WatchMetrics m({0.001, 0.01, 0.1}, "0.1.0");
  WatchConfig config;
  config.modules["corp"].name = "corp";
  config.modules["corp"].probe.budgets[c::Phase::kms_activate] = c::Micros(500'000);
  config.targets.push_back({"corp.example", "corp", "corp.example", std::chrono::seconds(30), {}});
  m.apply_config(config);
  auto o = ct::healthy_observations();
  o.sntp.push_back(ct::sntp(c::SntpOutcome::ok, 2'000'000));
  m.record(config.targets[0], summarize(diagnosed(o)), kAt);
  m.record(config.targets[0], summarize(diagnosed(o)), kAt);
  const auto page = m.render();
  const std::string l = "{target=\"corp.example\",module=\"corp\"";
  EXPECT_TRUE(has_line(page, "kmslab_probe_success" + l + "} 1")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probes_total" + l + ",result=\"success\"} 2")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probes_total" + l + ",result=\"failure\"} 0")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probe_last_hresult" + l + "} 0")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_kms_count_required" + l + "} 25")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probe_phase_duration_seconds" + l + ",phase=\"tcp.connect\"} 0.0003")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probe_phase_latency_seconds_bucket" + l + ",phase=\"kms.activate\",le=\"0.001\"} 2"))
      << page;
  EXPECT_TRUE(has_line(page, "kmslab_probe_phase_latency_seconds_count" + l + ",phase=\"kms.activate\"} 2")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probe_phase_budget_seconds{module=\"corp\",phase=\"kms.activate\"} 0.5")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_dns_srv_records{domain=\"corp.example\"} 1")) << page;
  const std::string h = l + ",host=\"kms1.corp.example:1688\",source=\"srv\"}";
  EXPECT_TRUE(has_line(page, "kmslab_kms_host_up" + h + " 1")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_kms_host_reachable" + h + " 1")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_kms_host_resolved" + h + " 1")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_kms_host_count_reported" + h + " 50")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_clock_offset_seconds" + l + ",source=\"127.0.0.1:123\"} 0.002")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probe_last_run_timestamp_seconds" + l + "} 1764000000")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_build_info{version=\"0.1.0\"} 1")) << page;
  EXPECT_TRUE(has_line(page, "# TYPE kmslab_probe_phase_latency_seconds histogram")) << page;
}

TEST(WatchMetrics, FailuresCountFindingsAndTheWindowsCode) {
  WatchMetrics m(kDefaultBuckets, "x");
  WatchTarget t{"corp", "m", "corp.example", std::chrono::seconds(30), {}};
  auto o = ct::base_observations();
  o.dns.push_back(ct::srv_failure(c::DnsOutcome::nxdomain));
  m.record(t, summarize(diagnosed(o)), kAt);
  m.record(t, summarize(diagnosed(o)), kAt);
  m.record_timeout(t, std::chrono::seconds(3), kAt);
  const auto page = m.render();
  const std::string l = "{target=\"corp\",module=\"m\"";
  EXPECT_TRUE(has_line(page, "kmslab_probe_success" + l + "} 0")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_findings_total" + l + ",code=\"dns.srv_missing\"} 2")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probe_last_hresult" + l + "} 3221549172")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probes_total" + l + ",result=\"failure\"} 2")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probes_total" + l + ",result=\"timeout\"} 1")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_probe_duration_seconds" + l + "} 3")) << page;
  EXPECT_TRUE(has_line(page, "kmslab_dns_srv_records{domain=\"corp.example\"} 0")) << page;
}

TEST(WatchMetrics, ApplyConfigDropsRemovedTargetsAndTheirDomains) {
  WatchMetrics m(kDefaultBuckets, "x");
  WatchConfig config;
  config.modules["m"].name = "m";
  config.targets.push_back({"a", "m", "corp.example", std::chrono::seconds(30), {}});
  config.targets.push_back({"b", "m", "lab.example", std::chrono::seconds(30), {}});
  m.apply_config(config);
  m.record(config.targets[0], summarize(diagnosed(ct::healthy_observations())), kAt);
  auto other = ct::base_observations();
  other.dns.push_back(ct::srv_answer("lab.example", {}));
  m.record(config.targets[1], summarize(diagnosed(other)), kAt);
  EXPECT_NE(m.render().find("target=\"b\""), std::string::npos);
  config.targets.pop_back();
  m.apply_config(config);
  m.reload_attempted(false, kAt);
  const auto page = m.render();
  EXPECT_EQ(page.find("target=\"b\""), std::string::npos) << page;
  EXPECT_EQ(page.find("lab.example"), std::string::npos) << page;
  EXPECT_NE(page.find("target=\"a\""), std::string::npos);
  EXPECT_TRUE(has_line(page, "kmslab_watch_config_last_reload_successful 0")) << page;
}

}  // namespace
