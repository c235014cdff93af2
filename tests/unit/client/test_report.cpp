// Text and JSON reports: content, alignment, colour only on request, JSON round trip and schema.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kmslab/client/report.hpp"
#include "kmslab/client/timeline.hpp"
#include "probe_fixtures.hpp"
#include "vectors.hpp"

namespace kmslab::client {
namespace {

using namespace test;
using json = nlohmann::json;

// Several problems at once: the cached host is filtered, SRV names kms1 on a wrong port (refused)
// and kms2 (in-band 0xC004F042); the time source is 3 h off; the ladder ran.
ProbeObservations troubled_observations() {
  auto o = base_observations();
  o.options.cached_host = "old-kms.corp.example";
  o.options.time_source = "127.0.0.1:123";
  o.options.budgets[Phase::tcp_connect] = ms(200);
  o.attempts.push_back(filtered_attempt("old-kms.corp.example", TargetSource::cached, us(0)));
  o.dns.push_back(srv_answer(kDomain, {srv_record(kHost, 1700), srv_record(kHost2, kKmsPort, 10)}, ms(3001)));
  auto wrong_port = refused_attempt(kHost, TargetSource::srv, ms(3002));
  wrong_port.port = 1700;
  wrong_port.connect.address = "192.0.2.10:1700";
  wrong_port.srv = srv_record(kHost, 1700);
  o.attempts.push_back(wrong_port);
  auto refusing = good_attempt(kHost2, kKmsPort, TargetSource::srv, ms(3004));
  refusing.activation.outcome = ActivationOutcome::hresult;
  refusing.activation.hresult = 0xC004F042;
  o.attempts.push_back(refusing);
  o.ladder = {true, "activation failed for every discovered host", kHost, kKmsPort, kAddress};
  auto rung = good_attempt(kHost, kKmsPort, TargetSource::ladder_name, ms(3010));
  rung.activation.outcome = ActivationOutcome::hresult;
  rung.activation.hresult = 0xC004F042;
  o.attempts.push_back(rung);
  o.sntp.push_back(sntp(SntpOutcome::ok, 3LL * 3600 * 1'000'000'000));
  o.total = ms(3020);
  return o;
}

DiagnosisPolicy policy_of(const ProbeObservations& o) {
  DiagnosisPolicy p;
  p.budgets = o.options.budgets;
  return p;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The rows of the timeline table: from its header line to the next blank line.
std::vector<std::string> timeline_rows(const std::string& text) {
  std::vector<std::string> rows;
  bool in_table = false;
  for (const auto& line : lines_of(text)) {
    if (line.find("PHASE") != std::string::npos && line.find("DURATION ms") != std::string::npos)
      in_table = true;
    if (in_table && line.empty()) break;
    if (in_table) rows.push_back(line);
  }
  return rows;
}

TEST(TextReport, HeaderSaysVerdictWindowsCodeAndSummary) {
  const auto o = troubled_observations();
  const auto d = diagnose(o, policy_of(o));
  const auto text = render_text(d, o);
  const auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "KMS probe: FAILED  (exit 1)");
  EXPECT_EQ(lines[1].rfind("Windows code: 0xC004F042  ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2], "Summary:      " + d.summary);
  EXPECT_NE(lines[3].find("seed 42"), std::string::npos);
  EXPECT_NE(lines[4].find("Windows 10 Enterprise (N-policy 25), protocol v6"), std::string::npos);
  if (std::getenv("KMSLAB_SHOW_REPORT")) std::fputs(text.c_str(), stdout);
}

TEST(TextReport, EveryFindingWithEvidenceAndChecksAndTheLocalList) {
  const auto o = troubled_observations();
  const auto d = diagnose(o, policy_of(o));
  const auto text = render_text(d, o);
  ASSERT_FALSE(d.findings.empty());
  for (const auto& f : d.findings) {
    EXPECT_NE(text.find(std::string(to_string(f.code))), std::string::npos) << to_string(f.code);
    for (const auto& line : f.evidence) EXPECT_NE(text.find(line), std::string::npos) << line;
    for (const auto& c : f.next_checks) EXPECT_NE(text.find(c.command), std::string::npos) << c.command;
  }
  EXPECT_NE(text.find("Triage ladder: srv_record"), std::string::npos);
  EXPECT_NE(text.find("Not checked from here"), std::string::npos);
  for (const auto& c : windows_local_checks()) {
    EXPECT_NE(text.find(std::string(c.title)), std::string::npos) << c.title;
    for (const auto& cmd : c.commands) EXPECT_NE(text.find(std::string(cmd.command)), std::string::npos);
  }
}

TEST(TextReport, UnverifiedCodesAreMarked) {
  auto o = healthy_observations();
  o.attempts.front().activation.outcome = ActivationOutcome::reset;
  const auto text = render_text(diagnose(o, {}), o);
  EXPECT_NE(text.find("tcp.reset  0x8007071C (unverified)"), std::string::npos) << text;
  EXPECT_NE(text.find("Windows code: 0xC004F074"), std::string::npos);
}

TEST(TextReport, SummaryLeadsWithTheFindingBehindTheWindowsCode) {
  const auto o = troubled_observations();
  const auto d = diagnose(o, policy_of(o));
  ASSERT_TRUE(d.primary_finding.has_value());
  const auto& primary = d.findings.at(*d.primary_finding);
  EXPECT_EQ(primary.code, FindingCode::kms_product_not_served);
  EXPECT_EQ(primary.target, "kms2.corp.example:1688");
  EXPECT_EQ(d.summary.rfind("kms.product_not_served: ", 0), 0u) << d.summary;
  EXPECT_EQ(d.findings.front().code, FindingCode::tcp_filtered) << "ordering stays severity, then phase";
}

TEST(TextReport, TimelineColumnsAreAligned) {
  const auto o = troubled_observations();
  const auto d = diagnose(o, policy_of(o));
  const auto rows = timeline_rows(render_text(d, o));
  ASSERT_EQ(rows.size(), d.timeline.size() + 1) << "header + one line per phase record";
  // Right-aligned numbers: every row's duration ends where the header's "DURATION ms" ends, and
  // the outcome column starts at the same place.
  const auto duration_end = rows[0].find("DURATION ms") + std::string("DURATION ms").size();
  const auto outcome_start = rows[0].find("OUTCOME");
  const auto target_start = rows[0].find("TARGET");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto& rec = d.timeline[i - 1];
    const auto duration = format_ms(rec.duration);
    ASSERT_GE(row.size(), duration_end);
    EXPECT_EQ(row.substr(duration_end - duration.size(), duration.size()), duration) << row;
    EXPECT_EQ(row.substr(outcome_start), std::string(to_string(rec.outcome))) << row;
    EXPECT_EQ(row.substr(target_start, rec.target.size()), rec.target) << row;
    EXPECT_EQ(row.rfind("  " + std::string(to_string(rec.phase)), 0), 0u) << row;
  }
}

TEST(TextReport, DurationsInMillisecondsWithMicrosecondPrecision) {
  auto o = healthy_observations();
  o.attempts.front().connect.timing.duration = us(1234567);
  const auto text = render_text(diagnose(o, {}), o);
  EXPECT_NE(text.find("1234.567"), std::string::npos);
}

TEST(TextReport, NoAnsiCodesUnlessAskedFor) {
  const auto o = troubled_observations();
  const auto d = diagnose(o, policy_of(o));
  EXPECT_EQ(render_text(d, o, {.colour = false}).find('\x1b'), std::string::npos);
  const auto coloured = render_text(d, o, {.colour = true});
  EXPECT_NE(coloured.find("\x1b[1;31mFAILED\x1b[0m"), std::string::npos);
  EXPECT_NE(coloured.find("\x1b[31mERROR"), std::string::npos);
}

TEST(TextReport, ColourDoesNotShiftColumns) {
  const auto o = troubled_observations();
  const auto d = diagnose(o, policy_of(o));
  auto strip = [](std::string s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\x1b') {
        i = s.find('m', i);
        continue;
      }
      out += s[i];
    }
    return out;
  };
  EXPECT_EQ(strip(render_text(d, o, {.colour = true})), render_text(d, o, {.colour = false}));
}

TEST(TextReport, HealthyReportHasNoFindingsAndNoLadder) {
  const auto o = healthy_observations();
  const auto text = render_text(diagnose(o, {}), o);
  EXPECT_NE(text.find("KMS probe: HEALTHY  (exit 0)"), std::string::npos);
  EXPECT_NE(text.find("Windows code: 0x00000000"), std::string::npos);
  EXPECT_NE(text.find("Findings (0 error, 0 warning, 0 info)\n  none"), std::string::npos);
  EXPECT_EQ(text.find("Triage ladder"), std::string::npos);
}

TEST(JsonReport, CarriesSchemaVersionVerdictAndEveryFinding) {
  const auto o = troubled_observations();
  const auto d = diagnose(o, policy_of(o));
  const auto j = to_json(d, o);
  EXPECT_EQ(j.at("schema_version"), 1);
  EXPECT_EQ(j.at("verdict"), "failed");
  EXPECT_EQ(j.at("exit_code"), 1);
  EXPECT_EQ(j.at("windows_code"), "0xC004F042");
  EXPECT_TRUE(j.at("underlying_code").is_null());
  EXPECT_EQ(j.at("primary_finding"), *d.primary_finding);
  EXPECT_EQ(j.at("summary"), d.summary);
  ASSERT_EQ(j.at("findings").size(), d.findings.size());
  for (std::size_t i = 0; i < d.findings.size(); ++i)
    EXPECT_EQ(j["findings"][i].at("code"), std::string(to_string(d.findings[i].code)));
  EXPECT_EQ(j.at("timeline").size(), d.timeline.size());
  EXPECT_EQ(j.at("ladder").at("verdict"), "srv_record");
  EXPECT_EQ(j.at("observations").at("attempts").size(), o.attempts.size());
  EXPECT_EQ(j.at("options").at("budgets_us").at("tcp.connect"), 200000);
  EXPECT_EQ(j.at("started_at"), "2025-11-24T16:00:00.000000Z");
}

TEST(JsonReport, RoundTripsThroughTextWithEveryFindingIntact) {
  const auto o = troubled_observations();
  const auto d = diagnose(o, policy_of(o));
  const auto text = to_json(d, o).dump(2);
  const auto parsed = json::parse(text);
  EXPECT_EQ(parsed, to_json(d, o));
  auto findings = findings_from_report(parsed);
  ASSERT_TRUE(findings) << findings.error().message();
  EXPECT_EQ(*findings, d.findings);
}

TEST(JsonReport, EachFindingCodeRoundTrips) {
  CheckContext ctx;
  ctx.domain = "corp.example";
  for (auto code : all_finding_codes()) {
    auto f = make_finding(code, "kms1.corp.example:1688", {"observed something"}, ctx);
    auto back = finding_from_json(json::parse(finding_to_json(f).dump()));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, f) << to_string(code);
  }
}

TEST(JsonReport, MalformedFindingsAreTypedErrors) {
  const auto good = finding_to_json(make_finding(FindingCode::tcp_refused, "t", {"e"}, {}));
  auto without = good;
  without.erase("severity");
  auto r = finding_from_json(without);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, protocol::Errc::bad_value);
  EXPECT_NE(r.error().detail.find("severity"), std::string::npos);

  auto wrong_type = good;
  wrong_type["evidence"] = 7;
  r = finding_from_json(wrong_type);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, protocol::Errc::bad_type);

  auto unknown = good;
  unknown["code"] = "tcp.teleported";
  r = finding_from_json(unknown);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("tcp.teleported"), std::string::npos);

  auto bad_code = good;
  bad_code["hresult"] = "0xZZ";
  EXPECT_FALSE(finding_from_json(bad_code));
  EXPECT_FALSE(finding_from_json(json::array()));

  json report{{"schema_version", 2}, {"findings", json::array()}};
  auto all = findings_from_report(report);
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().code, protocol::Errc::bad_version);
  report["schema_version"] = 1;
  report["findings"] = json::array({good, unknown});
  all = findings_from_report(report);
  ASSERT_FALSE(all);
  EXPECT_NE(all.error().detail.find("findings[1]"), std::string::npos);
}

json load_schema() {
  return json::parse(
      kmslab::test::read_text_file(std::string(KMSLAB_SOURCE_DIR) + "/docs/schemas/probe-report.v1.json"));
}

// An interrupted report: verdict and exit 130, the finished phases' timeline, and nothing drawn
// from the partial run (no finding, no Windows code, no ladder), even when a finished phase failed.
TEST(JsonReport, InterruptedRunKeepsTheTimelineAndDrawsNoDiagnosis) {
  const auto obs = troubled_observations();
  const auto d = diagnose_interrupted(obs, "dns.srv _vlmcs._tcp.corp.example");
  EXPECT_EQ(d.verdict, Verdict::interrupted);
  EXPECT_EQ(d.exit_code, kExitInterrupted);
  EXPECT_TRUE(d.findings.empty());
  EXPECT_EQ(d.timeline, build_timeline(obs));
  const auto j = to_json(d, obs);
  EXPECT_EQ(j.at("verdict"), "interrupted");
  EXPECT_EQ(j.at("interrupted"), true);
  EXPECT_EQ(j.at("interrupted_during"), "dns.srv _vlmcs._tcp.corp.example");
  EXPECT_TRUE(j.at("windows_code").is_null());
  EXPECT_EQ(j.at("ladder").at("verdict"), "not_run");
  EXPECT_FALSE(to_json(diagnose(obs, policy_of(obs)), obs).contains("interrupted")) << "a finished report is unchanged";
  const auto text = render_text(d, obs);
  EXPECT_NE(text.find("INTERRUPTED"), std::string::npos) << text;
  EXPECT_EQ(text.find("0xC004F074"), std::string::npos) << text;
}

TEST(JsonSchema, EnumeratesExactlyTheCatalogAndEnums) {
  const auto schema = load_schema();
  EXPECT_EQ(schema.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema.at("properties").at("schema_version").at("const"), kReportSchemaVersion);
  std::vector<std::string> codes;
  for (auto c : all_finding_codes()) codes.emplace_back(to_string(c));
  EXPECT_EQ(schema.at("$defs").at("finding_code").at("enum").get<std::vector<std::string>>(), codes);
  std::vector<std::string> phases;
  for (auto p : kAllPhases) phases.emplace_back(to_string(p));
  EXPECT_EQ(schema.at("$defs").at("phase").at("enum").get<std::vector<std::string>>(), phases);
  EXPECT_EQ(schema.at("properties").at("verdict").at("enum"), json({"healthy", "degraded", "failed", "interrupted"}));
}

// Validates real reports against the schema with Python's jsonschema (a CI dependency only).
TEST(JsonSchema, ReportsValidateAgainstTheSchema) {
  if (std::system("python3 -c 'import jsonschema' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 with the jsonschema module is not installed (apt install python3-jsonschema)";
  const auto dir = std::filesystem::temp_directory_path() / ("kmslab-report-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<std::pair<std::string, json>> reports;
  for (const auto& [name, obs] : {std::pair<std::string, ProbeObservations>{"healthy", healthy_observations()},
                                  {"troubled", troubled_observations()},
                                  {"empty", base_observations()}})
    reports.emplace_back(name, to_json(diagnose(obs, policy_of(obs)), obs));
  // An interrupted run keeps the steps that finished (here all of a troubled run's) and no findings.
  const auto cut = troubled_observations();
  reports.emplace_back("interrupted", to_json(diagnose_interrupted(cut, "the attempt on kms9:1688"), cut));
  reports.emplace_back("interrupted-at-once", to_json(diagnose_interrupted(base_observations(), ""), base_observations()));
  for (const auto& [name, report] : reports) {
    const auto file = dir / (name + ".json");
    std::ofstream(file) << report.dump(2);
    const auto command =
        "python3 -c 'import json,sys,jsonschema; "
        "s=json.load(open(sys.argv[1])); jsonschema.Draft202012Validator.check_schema(s); "
        "jsonschema.Draft202012Validator(s).validate(json.load(open(sys.argv[2])))' " +
        std::string(KMSLAB_SOURCE_DIR) + "/docs/schemas/probe-report.v1.json " + file.string();
    EXPECT_EQ(std::system(command.c_str()), 0) << name << " does not validate";
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kmslab::client
