// End-to-end: `kmslab serve --zone` as the rehearsal site and `kmslab audit` against it, as a team
// runs them during a migration (table, --json, --junit, --expect, --baseline, exit codes); and an
// audit interrupted mid-check, against a site started inside the test (loopback, ephemeral ports).
#include "cli_process.hpp"
#include "hostile_yaml.hpp"
#include "held_host.hpp"
#include "probe_site.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <signal.h>

#include <fstream>
#include <sstream>

namespace {
namespace e2e_audit_cli {

using namespace std::chrono_literals;
using kmslab::test::CliProcess;
using kmslab::test::run_cli;

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The team's zone export: a stale record for the decommissioned old-kms, and types serve skips.
constexpr const char* kZone = R"($ORIGIN corp.example.
$TTL 300
@        IN SOA ns1 hostmaster ( 7 3600 600 86400 60 )
         IN NS  ns1
ns1         A   127.0.0.1
_vlmcs._tcp SRV 0 100 1688 old-kms   ; decommissioned, record forgotten
@           MX  10 mail
)";

// The lab's KMS host, published into the zone from the file (its SRV carries the bound port):
// declaring the zone's origin in the config lets hosts publish into it; the file's records merge in.
constexpr const char* kHosts = R"(
dns: {zones: [{origin: corp.example}]}
sntp: {enabled: false}
kms_hosts:
  - {name: kms2, hostname: kms2.corp.example, host_build: 17763, publish: [{domain: corp.example, priority: 0, weight: 100}]}
)";

class CliAudit : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_ = std::make_unique<CliProcess>(std::vector<std::string>{
        "serve", "--zone", write("db.corp.example", kZone), "--config", write("hosts.yaml", kHosts), "--drain-ms", "50"});
    auto line = serve_->read_line(10s);
    ASSERT_TRUE(line) << "no ready line";
    dns_ = nlohmann::json::parse(*line)["dns"].get<std::string>();
  }
  void TearDown() override {
    serve_->signal(SIGTERM);
    serve_err_ = serve_->wait(10s).err;
  }
  std::vector<std::string> audit(std::vector<std::string> extra) {
    std::vector<std::string> args{"audit", "--domain", "corp.example", "--dns", dns_, "--kms-port", "0",
                                  "--product", "windows-client", "--connect-timeout", "500ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::unique_ptr<CliProcess> serve_;
  std::string dns_;
  std::string serve_err_;
};

TEST_F(CliAudit, StaleRecordFailsWithTableJsonAndJunit) {
  const auto json_path = ::testing::TempDir() + "/audit.json";
  const auto junit_path = ::testing::TempDir() + "/audit.xml";
  auto r = run_cli(audit({"--repeat", "2", "--json", json_path, "--junit", junit_path}));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("audit.stale_record  old-kms.corp.example:1688"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kms2.corp.example:"), std::string::npos);
  EXPECT_NE(r.out.find("verdict: FAIL"), std::string::npos);
  auto report = nlohmann::json::parse(slurp(json_path));
  EXPECT_EQ(report["schema"], "kmslab.audit");
  EXPECT_EQ(report["targets"].size(), 2u);
  EXPECT_EQ(report["exit_code"], 1);
  const auto junit = slurp(junit_path);
  EXPECT_NE(junit.find("<testcase classname=\"audit.old-kms.corp.example:1688\" name=\"windows-client\">"), std::string::npos)
      << junit;
  EXPECT_NE(junit.find("tests=\"3\" failures=\"1\""), std::string::npos) << junit;  // 2 targets + the domain
}

TEST_F(CliAudit, ExpectAndBaseline) {
  const auto before = ::testing::TempDir() + "/before.json";
  ASSERT_EQ(run_cli(audit({"--json", before})).exit_code, 1);
  const auto site = write("site.yaml", "domains:\n  - name: corp.example\n    hosts:\n"
                                       "      - {host: kms2.corp.example, products: [windows-client]}\n");
  auto r = run_cli(audit({"--expect", site, "--baseline", before}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("expect.host_unexpected  old-kms.corp.example:1688"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("expect.host_missing"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("baseline.host_added"), std::string::npos) << "same site, nothing added: " << r.out;
}

TEST(CliServeZone, ListsUnsupportedZoneRecords) {
  CliProcess serve({"serve", "--zone", write("db.corp.example", kZone), "--drain-ms", "50"});
  ASSERT_TRUE(serve.read_line(10s)) << "no ready line";
  serve.signal(SIGTERM);
  const auto err = serve.wait(10s).err;
  EXPECT_NE(err.find("db.corp.example:7: MX record for corp.example not loaded"), std::string::npos) << err;
  EXPECT_NE(err.find("zone corp.example, 4 record(s) loaded"), std::string::npos) << err;
}

// RFC 3597 generic rdata in a zone file, served by `kmslab serve --zone` and read back by the real
// dig (BIND 9): each record is answered as the typed record its octets encode.
constexpr const char* kGenericZone = R"($ORIGIN corp.example.
@ IN SOA \# 63 036e733104636f7270076578616d706c65000a686f73746d617374657204636f7270076578616d706c65000000000700000e1000000258000151800000012c
@ NS \# 19 046b6d733104636f7270076578616d706c6500
kms1 A \# 4 7f000001
kms1 AAAA \# 16 00000000000000000000000000000001
_vlmcs._tcp SRV \# 25 000000640698046b6d733104636f7270076578616d706c6500
@ TXT \# 12 0568656c6c6f05776f726c64
www CNAME \# 19 046b6d733104636f7270076578616d706c6500
)";

TEST(CliServeZone, GenericRdataIsServedAsDigReadsTheTypedRecord) {
  constexpr const char* kDig = "/usr/bin/dig";
  if (::access(kDig, X_OK) != 0) GTEST_SKIP() << "dig not installed (apt-get install bind9-dnsutils)";
  CliProcess serve({"serve", "--zone", write("db.generic", kGenericZone), "--dns-listen", "127.0.0.1:0",
                    "--drain-ms", "50"});
  const auto line = serve.read_line(10s);
  ASSERT_TRUE(line) << "no ready line";
  const auto dns = nlohmann::json::parse(*line)["dns"].get<std::string>();
  const auto port = dns.substr(dns.rfind(':') + 1);
  auto dig = [&](const std::string& name, const std::string& type) {
    CliProcess run({"@127.0.0.1", "-p", port, "+time=2", "+tries=1", "+short", name, type}, kDig);
    return run.wait(10s).out;
  };
  EXPECT_EQ(dig("corp.example", "SOA"), "ns1.corp.example. hostmaster.corp.example. 7 3600 600 86400 300\n");
  EXPECT_EQ(dig("corp.example", "NS"), "kms1.corp.example.\n");
  EXPECT_EQ(dig("kms1.corp.example", "A"), "127.0.0.1\n");
  EXPECT_EQ(dig("kms1.corp.example", "AAAA"), "::1\n");
  EXPECT_EQ(dig("_vlmcs._tcp.corp.example", "SRV"), "0 100 1688 kms1.corp.example.\n");
  EXPECT_EQ(dig("corp.example", "TXT"), "\"hello\" \"world\"\n");
  EXPECT_EQ(dig("www.corp.example", "CNAME"), "kms1.corp.example.\n");
  serve.signal(SIGTERM);
  (void)serve.wait(10s);
}

TEST(CliAuditUsage, BadOptionsExit2) {
  EXPECT_EQ(run_cli({"audit"}).exit_code, 2);
  auto r = run_cli({"audit", "--domain", "corp.example", "--dns", "127.0.0.1:9", "--parallel", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--parallel 0"), std::string::npos) << r.err;
  r = run_cli({"audit", "--domain", "corp.example", "--product", "no such product"});
  EXPECT_EQ(r.exit_code, 2);
  const auto bad = write("bad-site.yaml", "domains:\n  - name: x\n    hots: []\n");
  r = run_cli({"audit", "--domain", "corp.example", "--expect", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad-site.yaml:3:5"), std::string::npos) << r.err;
}

TEST(CliAuditUsage, BaselineErrorsAreLocatedAndCapped) {
  // Loaded before any probe runs: nothing answers on port 9 and nothing is asked.
  auto r = run_cli({"audit", "--domain", "corp.example", "--dns", "127.0.0.1:9", "--baseline", "/dev/zero"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/dev/zero: larger than the 8388608-byte limit"), std::string::npos) << r.err;
  const auto broken = write("broken-before.json", "{\"schema\": \"kmslab.audit\",\n \"targets\": [1,,]}\n");
  r = run_cli({"audit", "--domain", "corp.example", "--dns", "127.0.0.1:9", "--baseline", broken});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(broken + ":2:16: not valid JSON: syntax error"), std::string::npos) << r.err;
}

TEST(CliServeConfig, DuplicateKeyAndAliasBombAreLocatedErrors) {
  auto r = run_cli({"serve", "--config", write("dup-seed.yaml", "seed: 1\nkms_hosts:\n  - name: a\nseed: 2\n")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("dup-seed.yaml:4:1: seed: duplicate key 'seed' (first at line 1)"), std::string::npos) << r.err;
  const auto bomb = write("bomb.yaml", "kms_hosts:\n  - name: kms1\nfaults:\n  - name: f\n    target: kms\n"
                                       "    host: kms1\n    action: delay\n    params:\n" +
                                           kmslab::test::alias_bomb(9, 9, "      "));
  r = run_cli({"serve", "--config", bomb});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bomb.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("aliases expand to more than 100000 nodes"), std::string::npos) << r.err;
}

// An --expect file with a byte that is not UTF-8 is refused where the byte is, before the audit
// runs (it used to print FAIL and then die on the JSON with exit 2).
TEST(CliAuditUsage, NonUtf8ExpectFileIsALocatedError) {
  const auto bad = write("non-utf8-site.yaml", "domains:\n  - name: corp.example\n    hosts:\n      - host: \"kms1\xFE\"\n");
  auto r = run_cli({"audit", "--domain", "corp.example", "--dns", "127.0.0.1:9", "--json", "-", "--expect", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("non-utf8-site.yaml:4:20: expected UTF-8 text, got the byte 0xfe"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

TEST(CliServeZone, BadZoneFileNamesFileAndLine) {
  const auto zone = write("db.bad", "$ORIGIN corp.example.\nkms1 A 300.0.0.1\n");
  auto r = run_cli({"serve", "--zone", zone});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("db.bad:2:"), std::string::npos) << r.err;
}

// A site of two KMS hosts: kms1 answers at once, kms2 holds its answer 20 s (a delay fault at the
// response stage). With --parallel 1 the checks run in plan order, so once kms2 has counted a
// request every check of kms1 has finished and the audit is deterministically mid-check on kms2.
struct HeldAuditSite {
  kmslab::simulator::FaultEngine faults;  // outlives the host that asks it
  kmslab::test::ProbeSite site;
  HeldAuditSite() {
    const auto kms1 = site.add_host("kms1");
    const auto kms2 = site.add_host("kms2");
    kmslab::test::hold_answers(site.host(1), faults);
    using kmslab::test::ProbeSite;
    site.set_zone({ProbeSite::srv(0, 100, kms1, "kms1"), ProbeSite::srv(0, 100, kms2, "kms2"), ProbeSite::a("kms1"),
                   ProbeSite::a("kms2")});
    site.start();
  }
  std::vector<std::string> args() const {
    return {"audit", "--domain", "corp.example", "--dns", site.dns_server(), "--resolv-conf", "/dev/null",
            "--kms-port", "0", "--product", "windows-client", "--parallel", "1", "--request-timeout", "40s",
            "--check-timeout", "60s"};
  }
  // Waits until kms2 has a request (the audit is then inside one of its checks), then signals.
  void interrupt_mid_check(CliProcess& p, int sig) {
    ASSERT_TRUE(kmslab::test::has_request(site.host(1))) << "the audit never reached kms2";
    p.signal(sig);
  }
};

// SIGINT mid-check: exit 130 after writing a valid JSON report marked interrupted, kms1's finished
// checks with their real results, kms2's cut checks marked not run, and no finding that blames
// kms2 (or the domain) for checks that never finished.
TEST(CliAuditInterrupt, SigintMidCheckWritesAnInterruptedJsonReportAndExits130) {
  HeldAuditSite s;
  const auto junit_path = ::testing::TempDir() + "/interrupted.xml";
  auto args = s.args();
  args.insert(args.end(), {"--json", "-", "--junit", junit_path});
  CliProcess p(args);
  s.interrupt_mid_check(p, SIGINT);
  const auto r = p.wait(15s);
  ASSERT_EQ(r.exit_code, 130) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("interrupted"), true);
  EXPECT_EQ(j.at("exit_code"), 130);
  ASSERT_EQ(j.at("targets").size(), 2u) << j.dump(2);
  for (const auto& t : j.at("targets")) {
    const bool held = t.at("host").get<std::string>().starts_with("kms2");
    ASSERT_FALSE(t.at("products").empty()) << t.dump(2);
    EXPECT_EQ(t.at("complete"), !held);
    // Who answers in the domain is unknown while kms2 is, so no client share can be stated.
    EXPECT_TRUE(t.at("share_rfc2782").is_null()) << t.dump(2);
    for (const auto& pr : t.at("products"))
      EXPECT_EQ(pr.at("verdict"), held ? "not_run" : "activated") << t.dump(2);
  }
  EXPECT_TRUE(j.at("findings").empty()) << j.at("findings").dump(2);
  EXPECT_NE(r.err.find("interrupted by signal"), std::string::npos) << r.err;
  // JUnit: kms2's cut case is skipped, not failed.
  const auto junit = slurp(junit_path);
  EXPECT_NE(junit.find("failures=\"0\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<skipped message=\"not run (interrupted)\"/>"), std::string::npos) << junit;
}

// SIGTERM, table: it says INTERRUPTED and "not run (interrupted)", blames no host, exits 130.
TEST(CliAuditInterrupt, SigtermMidCheckPrintsAnInterruptedTableAndExits130) {
  HeldAuditSite s;
  CliProcess p(s.args());
  s.interrupt_mid_check(p, SIGTERM);
  const auto r = p.wait(15s);
  ASSERT_EQ(r.exit_code, 130) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: INTERRUPTED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not run (interrupted)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("audit.stale_record"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("audit.product_not_served"), std::string::npos) << r.out;
}

}  // namespace e2e_audit_cli
}  // namespace
