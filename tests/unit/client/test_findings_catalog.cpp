// The findings catalog against docs/probe.md "Findings" and docs/protocol.md
#include <gtest/gtest.h>

#include <set>

#include "kmslab/client/findings.hpp"
#include "probe_fixtures.hpp"

namespace kmslab::client {
namespace {

// docs/probe.md "Findings" (the one list), with slow.<phase> expanded per phase.
const std::vector<std::string> kDesignList = {"dns.srv_missing",
                                              "dns.srv_nodata",
                                              "dns.servfail",
                                              "dns.refused",
                                              "dns.timeout",
                                              "dns.unreachable",
                                              "dns.no_address",
                                              "dns.wrong_port",
                                              "dns.truncated_no_tcp",
                                              "tcp.refused",
                                              "tcp.filtered",
                                              "tcp.reset",
                                              "rpc.no_response",
                                              "rpc.bind_rejected",
                                              "rpc.fault",
                                              "rpc.malformed",
                                              "kms.time_skew",
                                              "kms.product_not_served",
                                              "kms.count_too_low",
                                              "kms.invalid_request",
                                              "kms.bad_response",
                                              "time.skew",
                                              "time.source_unavailable",
                                              "slow.dns.srv",
                                              "slow.dns.address",
                                              "slow.tcp.connect",
                                              "slow.rpc.bind",
                                              "slow.kms.activate",
                                              "slow.time.offset",
                                              "failover.used"};

TEST(Catalog, HoldsExactlyTheDesignList) {
  std::vector<std::string> ours;
  for (auto code : all_finding_codes()) ours.emplace_back(to_string(code));
  EXPECT_EQ(ours, kDesignList);
  EXPECT_EQ(all_finding_codes().size(), kFindingCodeCount);
}

TEST(Catalog, CodesRoundTripAndUnknownCodesAreRejected) {
  for (auto code : all_finding_codes()) {
    EXPECT_EQ(parse_finding_code(to_string(code)), code);
    EXPECT_EQ(catalog_entry(code).code, code);
    EXPECT_FALSE(catalog_entry(code).title.empty());
    EXPECT_FALSE(catalog_entry(code).checks.empty()) << to_string(code);
  }
  EXPECT_FALSE(parse_finding_code("dns.nope").has_value());
  EXPECT_FALSE(parse_finding_code("slow.").has_value());
}

TEST(Catalog, HresultsStatedInTheDesignAndProtocolNotes) {
  const std::pair<const char*, std::uint32_t> documented[] = {
      {"dns.srv_missing", 0x8007232B},        {"tcp.refused", 0x800706BA},
      {"tcp.filtered", 0x800706BA},           {"kms.time_skew", 0xC004F06C},
      {"kms.product_not_served", 0xC004F042}, {"kms.count_too_low", 0xC004F038},
      {"kms.invalid_request", 0x8007000D}};
  for (const auto& [code, hr] : documented) {
    const auto& e = catalog_entry(*parse_finding_code(code));
    EXPECT_EQ(e.hresult, hr) << code;
    EXPECT_EQ(e.hresult_basis, HresultBasis::documented) << code;
  }
  // docs/probe.md lists these, but docs/protocol.md does not list them: marked unverified.
  EXPECT_EQ(catalog_entry(FindingCode::dns_srv_nodata).hresult, 0x8007251Du);
  EXPECT_EQ(catalog_entry(FindingCode::dns_srv_nodata).hresult_basis, HresultBasis::unverified);
  EXPECT_EQ(catalog_entry(FindingCode::dns_servfail).hresult, 0x8007232Au);
  EXPECT_EQ(catalog_entry(FindingCode::dns_servfail).hresult_basis, HresultBasis::unverified);
  for (auto code : all_finding_codes()) {
    const auto& e = catalog_entry(code);
    EXPECT_EQ(e.hresult.has_value(), e.hresult_basis != HresultBasis::none) << to_string(code);
    EXPECT_NE(e.hresult_basis, HresultBasis::observed) << "observed is for findings, not the catalog";
  }
}

TEST(Catalog, WarningsAreTheCodesThatDoNotStopActivation) {
  std::set<std::string> warnings;
  for (auto code : all_finding_codes())
    if (catalog_entry(code).severity == Severity::warning) warnings.insert(std::string(to_string(code)));
  const std::set<std::string> expected = {
      "dns.wrong_port",   "time.skew",     "time.source_unavailable", "slow.dns.srv",     "slow.dns.address",
      "slow.tcp.connect", "slow.rpc.bind", "slow.kms.activate",       "slow.time.offset", "failover.used"};
  EXPECT_EQ(warnings, expected);
}

TEST(Catalog, SlowCodesMapToTheirPhases) {
  for (auto phase : kAllPhases) {
    const auto code = slow_code(phase);
    EXPECT_EQ(slow_phase(code), phase);
    EXPECT_EQ(to_string(code), "slow." + std::string(to_string(phase)));
    EXPECT_EQ(catalog_entry(code).cause, RunbookCause::slow);
  }
  EXPECT_FALSE(slow_phase(FindingCode::tcp_refused).has_value());
}

TEST(Catalog, RunbookCausesFollowTheRunbook) {
  EXPECT_EQ(catalog_entry(FindingCode::dns_srv_missing).cause, RunbookCause::dns_srv);
  EXPECT_EQ(catalog_entry(FindingCode::tcp_filtered).cause, RunbookCause::tcp_1688);
  EXPECT_EQ(catalog_entry(FindingCode::kms_product_not_served).cause, RunbookCause::key_type);
  EXPECT_EQ(catalog_entry(FindingCode::kms_time_skew).cause, RunbookCause::clock);
  EXPECT_EQ(catalog_entry(FindingCode::time_skew).cause, RunbookCause::clock);
  EXPECT_EQ(catalog_entry(FindingCode::rpc_malformed).cause, RunbookCause::protocol);
  for (auto c : {RunbookCause::dns_srv, RunbookCause::tcp_1688, RunbookCause::slow, RunbookCause::key_type,
                 RunbookCause::clock, RunbookCause::protocol, RunbookCause::windows_local})
    EXPECT_EQ(parse_runbook_cause(to_string(c)), c);
}

TEST(NextChecks, PlaceholdersAreFilledFromTheContext) {
  CheckContext ctx;
  ctx.domain = "corp.example";
  ctx.host = "kms1.corp.example";
  ctx.port = 1700;
  ctx.address = "192.0.2.10";
  ctx.dns_server = "192.0.2.53";
  ctx.time_source = "ntp.corp.example";
  for (auto code : all_finding_codes())
    for (const auto& c : next_checks(code, ctx)) {
      EXPECT_FALSE(test::has_unfilled_placeholder(c.command)) << c.command;
      EXPECT_FALSE(test::has_unfilled_placeholder(c.why)) << c.why;
      for (const char* unknown : {"<domain>", "<kms-host>", "<dns-server>", "<time-source>"}) {
        EXPECT_EQ(c.command.find(unknown), std::string::npos) << c.command;
        EXPECT_EQ(c.why.find(unknown), std::string::npos) << c.why;
      }
    }
  const auto refused = next_checks(FindingCode::tcp_refused, ctx);
  EXPECT_EQ(refused.front().command, "Test-NetConnection kms1.corp.example -Port 1700");
  const auto missing = next_checks(FindingCode::dns_srv_missing, ctx);
  EXPECT_EQ(missing.front().command, "nslookup -type=SRV _vlmcs._tcp.corp.example 192.0.2.53");
  EXPECT_EQ(next_checks(FindingCode::kms_time_skew, ctx).at(2).command, "w32tm /resync");
}

TEST(NextChecks, UnknownValuesStayVisiblePlaceholders) {
  const auto checks = next_checks(FindingCode::dns_srv_missing, CheckContext{});
  EXPECT_EQ(checks.front().command, "nslookup -type=SRV _vlmcs._tcp.<domain> <dns-server>");
  EXPECT_EQ(checks.back().command, "slmgr /skms <kms-host>:1688");
}

TEST(LocalChecks, CoverRunbookFourAndFive) {
  std::set<std::string> runbooks;
  for (const auto& c : windows_local_checks()) {
    runbooks.insert(std::string(c.runbook));
    EXPECT_FALSE(c.commands.empty()) << c.title;
  }
  EXPECT_EQ(runbooks, (std::set<std::string>{"4", "5"}));
}

TEST(Hresult, FormatAndParse) {
  EXPECT_EQ(format_hresult(0xC004F074), "0xC004F074");
  EXPECT_EQ(format_hresult(0), "0x00000000");
  EXPECT_EQ(parse_hresult("0xC004F074"), 0xC004F074u);
  EXPECT_EQ(parse_hresult("c004f074"), 0xC004F074u);
  EXPECT_FALSE(parse_hresult("0x").has_value());
  EXPECT_FALSE(parse_hresult("0x1C004F074").has_value());
  EXPECT_FALSE(parse_hresult("0xC004F07G").has_value());
  EXPECT_FALSE(parse_hresult("").has_value());
}

}  // namespace
}  // namespace kmslab::client
