// End-to-end: the built `kmslab probe` against a simulated site started inside the test (loopback,
// ephemeral ports): exit codes, the text report, the JSON report and its schema.
#include "cli_process.hpp"
#include "held_host.hpp"
#include "probe_site.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {
namespace e2e_probe_cli {

using kmslab::test::ProbeSite;
using nlohmann::json;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout; stderr goes to a file read into `err`
  std::string err;
};

CliRun kmslab(const std::string& args) {
  const auto err_file = std::filesystem::temp_directory_path() / ("kmslab-probe-e2e-" + std::to_string(::getpid()));
  const std::string command = std::string("'") + KMSLAB_CLI + "' " + args + " 2>'" + err_file.string() + "'";
  CliRun r;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::filesystem::remove(err_file);
  return r;
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// Two hosts as in examples/corp.yaml: kms1 primary, kms2 fallback; an SNTP source in step.
struct Site {
  ProbeSite site;
  Site() {
    const auto kms1 = site.add_host("kms1");
    const auto kms2 = site.add_host("kms2");
    site.set_zone({ProbeSite::srv(0, 100, kms1, "kms1"), ProbeSite::srv(10, 100, kms2, "kms2"), ProbeSite::a("kms1"),
                   ProbeSite::a("kms2")});
    site.add_sntp(std::chrono::nanoseconds{0});
    site.start();
  }
  std::string args() const {
    return "probe --domain corp.example --dns " + site.dns_server() +
           " --resolv-conf /dev/null --dns-timeout 500ms --dns-tries 1 --connect-timeout 500ms";
  }
};

// Validates a report with Python's jsonschema (one interpreter start; passes when the module is
// not installed, as the schema's own unit test skips then).
void expect_valid(const std::string& report) {
  const auto file = std::filesystem::temp_directory_path() / ("kmslab-probe-report-" + std::to_string(::getpid()));
  std::ofstream(file) << report;
  const auto command =
      "python3 -c 'import json,sys\ntry:\n import jsonschema\nexcept ImportError:\n sys.exit(0)\n"
      "jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' " +
      std::string(KMSLAB_SOURCE_DIR) + "/docs/schemas/probe-report.v1.json " + file.string();
  EXPECT_EQ(std::system(command.c_str()), 0) << "the report does not validate against the schema";
  std::filesystem::remove(file);
}

TEST(CliProbe, HealthySiteExitsZeroWithAReadableReport) {
  Site s;
  const auto r = kmslab(s.args() + " --ntp " + s.site.sntp_server());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "KMS probe: HEALTHY")) << r.out;
  EXPECT_TRUE(has(r.out, "kms1.corp.example")) << r.out;
  EXPECT_TRUE(has(r.out, "kms.activate")) << r.out;
  EXPECT_TRUE(has(r.out, "time.offset")) << r.out;
  EXPECT_FALSE(has(r.out, "\x1b[")) << "no colour when stdout is not a terminal";
}

TEST(CliProbe, JsonReportFollowsTheSchema) {
  Site s;
  const auto r = kmslab(s.args() + " --json --protocol 5 --seed 9");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j.at("schema_version"), 1);
  EXPECT_EQ(j.at("verdict"), "healthy");
  EXPECT_EQ(j.at("windows_code"), "0x00000000");
  EXPECT_EQ(j.at("options").at("protocol"), 5);
  EXPECT_EQ(j.at("options").at("seed"), 9);
  EXPECT_EQ(j.at("options").at("product"), "Windows 10 Enterprise");
  EXPECT_FALSE(j.contains("clock_tolerance"));
  expect_valid(r.out);
}

TEST(CliProbe, MissingSrvExitsOneWithTheFinding) {
  ProbeSite site;
  site.set_zone({ProbeSite::a("kms1")});
  site.start();
  const auto r = kmslab("probe --json --domain corp.example --dns " + site.dns_server() +
                        " --resolv-conf /dev/null --dns-timeout 500ms --dns-tries 1");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j.at("verdict"), "failed");
  EXPECT_EQ(j.at("windows_code"), "0xC004F074");
  EXPECT_EQ(j.at("underlying_code"), "0x8007232B");
  EXPECT_EQ(j.at("findings").at(0).at("code"), "dns.srv_missing");
  expect_valid(r.out);
}

// A host whose ePID is not digits-and-dashes ('ÿ' first, which is two bytes in UTF-8) still gets
// its report in both forms, valid UTF-8 throughout, and the exit code is the verdict's.
TEST(CliProbe, NonAsciiEpidFromTheHostKeepsTheReport) {
  ProbeSite site;
  kmslab::simulator::KmsHostSpec spec;
  spec.name = "kms1";
  spec.epid = "\xC3\xBF" "5426-00206-520-000000-03-1033-17763.0000-2452020";
  const auto port = site.add_host(spec);
  site.set_zone({ProbeSite::srv(0, 100, port, "kms1"), ProbeSite::a("kms1")});
  site.start();
  const std::string args = "probe --domain corp.example --dns " + site.dns_server() +
                           " --resolv-conf /dev/null --dns-timeout 500ms --dns-tries 1 --connect-timeout 500ms";
  const auto text = kmslab(args);
  const auto j = kmslab(args + " --json");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  ASSERT_EQ(j.exit_code, text.exit_code) << j.err;
  const auto report = json::parse(j.out);  // throws on invalid UTF-8
  EXPECT_EQ(report.at("verdict"), "healthy");
  EXPECT_TRUE(has(j.out, "ePID not well-formed")) << j.out;
  EXPECT_TRUE(has(text.out, "\xC3\xBF" "5426")) << text.out;
  expect_valid(j.out);
}

TEST(CliProbe, FindToleranceAddsItsSection) {
  Site s;
  const auto r = kmslab(s.args() + " --json --find-tolerance --tolerance-range 6h --tolerance-resolution 5m");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json::parse(r.out);
  const auto& t = j.at("clock_tolerance");
  EXPECT_EQ(t.at("accepted_at_zero"), true);
  EXPECT_NEAR(t.at("tolerance_s").get<double>(), 4 * 3600.0, 300.0);  // the simulator's default 4 h
  EXPECT_NEAR(t.at("host_offset_s").get<double>(), 0.0, 300.0);
  expect_valid(r.out);
  const auto text = kmslab(s.args() + " --find-tolerance --tolerance-range 6h --tolerance-resolution 5m");
  EXPECT_TRUE(has(text.out, "Host clock tolerance")) << text.out;
}

TEST(CliProbe, UsageErrorsExitTwo) {
  for (const char* args : {"probe", "probe --domain corp.example --protocol 9", "probe --kms h --budget nope=5",
                           "probe --kms h --product 'No Such Product'", "probe --kms h --clock-offset 5x",
                           "probe --no-such-option"}) {
    const auto r = kmslab(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
  }
}

// A site whose only KMS host holds its answer to the activation request for 20 s (a delay fault
// at the response stage), so a probe is deterministically mid-exchange once the host has counted
// the request.
struct HeldSite {
  kmslab::simulator::FaultEngine faults;  // outlives the host that asks it
  ProbeSite site;
  HeldSite() {
    const auto kms1 = site.add_host("kms1");
    kmslab::test::hold_answers(site.host(0), faults);
    site.set_zone({ProbeSite::srv(0, 100, kms1, "kms1"), ProbeSite::a("kms1")});
    site.start();
  }
  std::vector<std::string> args() const {
    return {"probe", "--domain", "corp.example", "--dns", site.dns_server(), "--resolv-conf", "/dev/null",
            "--dns-timeout", "2s", "--dns-tries", "1", "--request-timeout", "40s"};
  }
  // Waits until the host has the request (the probe is then in kms.activate), then signals.
  void interrupt_mid_request(kmslab::test::CliProcess& p, int sig) {
    ASSERT_TRUE(kmslab::test::has_request(site.host(0))) << "the probe never reached the host";
    p.signal(sig);
  }
};

// Nothing in an interrupted report may blame the site for the exchange the interrupt cut: no
// finding code of the catalogue (in particular the failures a cut exchange would look like), and
// not the Windows code of a client that could not reach a host.
void expect_no_blame(const std::string& report) {
  for (const char* code : {"tcp.refused", "tcp.filtered", "tcp.reset", "rpc.no_response", "rpc.bind_rejected",
                           "rpc.fault", "rpc.malformed", "kms.bad_response", "dns.timeout", "dns.servfail",
                           "dns.srv_missing", "dns.no_address", "dns.wrong_port", "slow.", "failover.used", "0xC004F074"})
    EXPECT_FALSE(has(report, code)) << code << " in\n" << report;
}

// SIGINT while the host holds the answer: exit 130 after writing a valid JSON report marked
// interrupted, with the phases that finished (the SRV lookup) and no finding or Windows code.
TEST(CliProbe, SigintMidRequestWritesAnInterruptedJsonReportAndExits130) {
  HeldSite s;
  auto args = s.args();
  args.push_back("--json");
  kmslab::test::CliProcess p(args);
  s.interrupt_mid_request(p, SIGINT);
  const auto r = p.wait(std::chrono::seconds(15));
  ASSERT_EQ(r.exit_code, 130) << r.out << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j.at("interrupted"), true);
  EXPECT_EQ(j.at("verdict"), "interrupted");
  EXPECT_EQ(j.at("exit_code"), 130);
  EXPECT_TRUE(j.at("windows_code").is_null());
  EXPECT_TRUE(j.at("findings").empty()) << j.at("findings").dump(2);
  EXPECT_TRUE(j.at("primary_finding").is_null());
  EXPECT_EQ(j.at("ladder").at("verdict"), "not_run");
  EXPECT_TRUE(has(j.at("interrupted_during").get<std::string>(), "kms1")) << j.at("interrupted_during");
  ASSERT_FALSE(j.at("timeline").empty());
  EXPECT_EQ(j.at("timeline").at(0).at("phase"), "dns.srv");
  EXPECT_EQ(j.at("timeline").at(0).at("outcome"), "ok");
  EXPECT_TRUE(j.at("observations").at("attempts").empty()) << "the cut attempt is left out whole";
  expect_no_blame(r.out);
  expect_valid(r.out);
  EXPECT_TRUE(has(r.err, "interrupted by signal")) << r.err;
}

// SIGTERM, text report: it says INTERRUPTED, and exits 130.
TEST(CliProbe, SigtermMidRequestPrintsAnInterruptedTextReportAndExits130) {
  HeldSite s;
  kmslab::test::CliProcess p(s.args());
  s.interrupt_mid_request(p, SIGTERM);
  const auto r = p.wait(std::chrono::seconds(15));
  ASSERT_EQ(r.exit_code, 130) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "INTERRUPTED")) << r.out;
  EXPECT_TRUE(has(r.out, "dns.srv")) << r.out;
  expect_no_blame(r.out);
}

}  // namespace e2e_probe_cli
}  // namespace
