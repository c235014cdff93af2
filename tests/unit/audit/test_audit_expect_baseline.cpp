// --expect diffs, --baseline comparisons and the report renderings, all without sockets.
#include "kmslab/audit/baseline.hpp"
#include "kmslab/audit/expect.hpp"
#include "kmslab/audit/report.hpp"

#include <gtest/gtest.h>

#include "fifo_feeder.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace kmslab::audit {
namespace {

TargetSummary target(std::string host, std::uint16_t priority, std::uint16_t weight, double share) {
  TargetSummary t;
  t.domain = "corp.example";
  t.host = std::move(host);
  t.port = 1688;
  t.priority = priority;
  t.weight = weight;
  t.addresses = {"127.0.0.1"};
  t.reachability = {{"127.0.0.1", "answers"}};
  t.answered = true;
  t.share_rfc2782 = share;
  t.epid = "06401-00206-271-392034-03-1033-17763.0000-2642019";
  t.current_count = 50;
  t.latency = Latency{Micros(1000), Micros(2000), 3};
  t.products.push_back({0, "windows-client", 6, Verdict::activated, 0, "", 3, 50});
  t.products.push_back({1, "office", 6, Verdict::refused, 0xC004F042, "", 3, std::nullopt});
  return t;
}

AuditReport report_with(std::vector<TargetSummary> targets) {
  AuditReport r;
  r.domains = {"corp.example"};
  r.products = {"windows-client", "office"};
  client::DnsObservation d;
  d.domain = "corp.example";
  d.query_name = "_vlmcs._tcp.corp.example";
  d.outcome = client::DnsOutcome::ok;
  r.dns.push_back(d);
  r.targets = std::move(targets);
  return r;
}

std::vector<std::string> codes(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.code);
  return out;
}

constexpr const char* kSite = R"(domains:
  - name: corp.example
    hosts:
      - host: kms2.corp.example
        priority: 0
        weight: 100
        products: [windows-client, office]
        min_protocol: 6
      - {host: kms3.corp.example, priority: 0, weight: 100}
)";

TEST(AuditExpect, LoadsAndReportsErrorsWithLocation) {
  auto site = load_expected_site_text(kSite, "site.yaml");
  ASSERT_TRUE(site) << site.error().format();
  ASSERT_EQ(site->domains.size(), 1u);
  EXPECT_EQ(site->domains[0].hosts[0].weight, 100);
  EXPECT_EQ(site->domains[0].hosts[1].port, 1688);
  EXPECT_EQ(expected_products(*site), (std::vector<std::string>{"windows-client", "office"}));

  auto typo = load_expected_site_text("domains:\n  - name: a\n    hosts:\n      - host: x\n        wieght: 3\n", "s.yaml");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().line, 5);
  EXPECT_NE(typo.error().format().find("weight"), std::string::npos);
  auto bad_product = load_expected_site_text("domains:\n  - name: a\n    hosts:\n      - {host: x, products: [nope-nope]}\n", "s.yaml");
  ASSERT_FALSE(bad_product);
  EXPECT_EQ(bad_product.error().line, 4);
  EXPECT_FALSE(load_expected_site_text("domains: []\n", "s.yaml"));
  auto bad_port = load_expected_site_text("domains:\n  - name: a\n    hosts:\n      - {host: x, port: 70000}\n", "s.yaml");
  EXPECT_FALSE(bad_port);
}

TEST(AuditExpect, DuplicateKeyNamesBothLines) {
  auto r = load_expected_site_text("domains:\n  - name: a\n    hosts:\n      - {host: x, port: 1688, port: 1689}\n", "s.yaml");
  ASSERT_FALSE(r) << "the second port was accepted";
  EXPECT_EQ(r.error().format(), "s.yaml:4:31: domains[0].hosts[0].port: duplicate key 'port' (first at line 4)");
}

TEST(AuditExpect, DiffNamesEveryDifference) {
  auto site = load_expected_site_text(kSite, "site.yaml").value();
  // kms2 has weight 10 and refuses office; kms3 is missing; kms1 is not expected.
  auto r = report_with({target("kms1.corp.example", 0, 100, 10.0 / 11), target("kms2.corp.example", 0, 10, 1.0 / 11)});
  const auto diff = diff_expected(site, r);
  const auto c = codes(diff);
  for (const char* code : {"expect.weight", "expect.share", "expect.product", "expect.protocol", "expect.host_missing",
                           "expect.host_unexpected"})
    EXPECT_NE(std::find(c.begin(), c.end(), code), c.end()) << code << " in " << ::testing::PrintToString(c);
  for (const auto& f : diff) {
    EXPECT_EQ(f.severity, Severity::error);
    EXPECT_NE(f.summary.find("expected "), std::string::npos);
    EXPECT_NE(f.summary.find(" / found "), std::string::npos);
  }
}

TEST(AuditExpect, MatchingSiteHasNoDiff) {
  auto site = load_expected_site_text("domains:\n  - name: corp.example\n    hosts:\n      - {host: kms2.corp.example, "
                                      "priority: 0, weight: 100, products: [windows-client]}\n",
                                      "s.yaml")
                  .value();
  auto r = report_with({target("kms2.corp.example", 0, 100, 1.0)});
  EXPECT_TRUE(diff_expected(site, r).empty()) << ::testing::PrintToString(codes(diff_expected(site, r)));
  auto other = load_expected_site_text("domains:\n  - name: other.example\n", "s.yaml").value();
  EXPECT_EQ(codes(diff_expected(other, r)), (std::vector<std::string>{"expect.domain_missing"}));
}

TEST(AuditBaseline, JsonRoundTripAndComparison) {
  auto before_report = report_with({target("kms1.corp.example", 0, 100, 1.0), target("old.corp.example", 0, 100, 0)});
  const auto json = to_json(before_report);
  auto before = read_baseline(json);
  ASSERT_TRUE(before) << before.error();
  ASSERT_EQ(before->targets.size(), 2u);
  EXPECT_EQ(before->targets[0].p50, Micros(1000));
  EXPECT_EQ(before->targets[0].current_count, 50u);

  auto now_kms1 = target("KMS1.corp.example", 0, 100, 1.0);
  now_kms1.epid = "03612-00206-556-123456-03-1033-14393.0000-1002016";
  now_kms1.current_count = 60;
  now_kms1.latency = Latency{Micros(90'000), Micros(90'000), 3};
  auto now = report_with({now_kms1, target("kms2.corp.example", 0, 100, 0)});
  const auto diff = compare_baseline(*before, now);
  const auto c = codes(diff);
  for (const char* code : {"baseline.host_added", "baseline.host_removed", "baseline.epid_changed", "baseline.count_changed",
                           "baseline.latency_changed"})
    EXPECT_NE(std::find(c.begin(), c.end(), code), c.end()) << code << " in " << ::testing::PrintToString(c);
  for (const auto& f : diff) EXPECT_EQ(f.severity, Severity::info);
  EXPECT_TRUE(compare_baseline(*before, before_report).empty());
}

TEST(AuditBaseline, RejectsWhatIsNotAnAuditReport) {
  EXPECT_FALSE(read_baseline(nlohmann::json::array()));
  EXPECT_FALSE(read_baseline({{"schema", "kmslab.probe"}}));
  EXPECT_FALSE(read_baseline({{"schema", "kmslab.audit"}, {"version", 99}, {"targets", nlohmann::json::array()}}));
  auto no_port = read_baseline({{"schema", "kmslab.audit"}, {"version", 1}, {"targets", {{{"host", "x"}}}}});
  ASSERT_FALSE(no_port);
  EXPECT_NE(no_port.error().find("targets[0].port"), std::string::npos);
  EXPECT_FALSE(load_baseline("/nonexistent/before.json"));
  // An interrupted audit's unchecked hosts would all read as having stopped answering.
  auto cut = read_baseline({{"schema", "kmslab.audit"}, {"version", 1}, {"interrupted", true}, {"targets", nlohmann::json::array()}});
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().find("interrupted"), std::string::npos);
}

TEST(AuditBaseline, AJsonErrorNamesFileLineAndColumn) {
  const std::string path = ::testing::TempDir() + "/broken-baseline.json";
  std::ofstream(path) << "{\"schema\": \"kmslab.audit\",\n \"targets\": [1,,]}\n";
  auto b = load_baseline(path);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().rfind(path + ":2:16: not valid JSON: syntax error while parsing value", 0), 0u) << b.error();
}

TEST(AuditBaseline, AnEndlessInputStopsAtTheSizeCap) {
  test::FifoFeeder feeder(::testing::TempDir() + "/endless-baseline.fifo", kMaxBaselineBytes + (8u << 20));
  ASSERT_TRUE(feeder.ok());
  auto b = load_baseline(feeder.path());
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error(), fmt::format("{}: larger than the {}-byte limit", feeder.path(), kMaxBaselineBytes));
}

TEST(AuditReportRender, TextJunitAndAtomicWrite) {
  auto r = report_with({target("kms1.corp.example", 0, 100, 1.0)});
  r.findings.push_back({"audit.inconsistent_hosts", Severity::error, "kms1.corp.example:1688 / office", "refuses <office>", {}, ""});
  r.exit_code = 1;
  const auto text = render_text(r);
  EXPECT_NE(text.find("kms1.corp.example:1688"), std::string::npos);
  EXPECT_NE(text.find("office v6: 0xC004F042"), std::string::npos);
  EXPECT_NE(text.find("verdict: FAIL"), std::string::npos);
  const auto junit = render_junit(r);
  EXPECT_NE(junit.find("tests=\"3\" failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("refuses &lt;office&gt;"), std::string::npos);

  const auto dir = std::filesystem::temp_directory_path() / ("kmslab-audit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "report.json").string();
  ASSERT_TRUE(write_file_atomically(path, "{\"a\": 1}\n"));
  ASSERT_TRUE(write_file_atomically(path, "{\"a\": 2}\n"));
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "{\"a\": 2}\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1) << "no temporary file left behind";
  EXPECT_FALSE(write_file_atomically((dir / "missing" / "x.json").string(), "x"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kmslab::audit
