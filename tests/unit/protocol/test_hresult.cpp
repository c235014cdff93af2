#include "kmslab/protocol/hresult.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace kmslab::protocol {
namespace {

// docs/probe.md "Findings", copied here on purpose: a finding code in the table
// that is not in this list must fail this test until the list (and docs/probe.md) adds it first.
const std::set<std::string> kDesignFindings{
    "dns.srv_missing", "dns.srv_nodata", "dns.servfail", "dns.refused", "dns.timeout", "dns.unreachable", "dns.no_address",
    "dns.wrong_port", "dns.truncated_no_tcp", "tcp.refused", "tcp.filtered", "tcp.reset",
    "rpc.no_response", "rpc.bind_rejected", "rpc.fault", "rpc.malformed", "kms.time_skew",
    "kms.product_not_served", "kms.count_too_low", "kms.invalid_request", "kms.bad_response",
    "time.skew", "time.source_unavailable", "slow.<phase>", "failover.used"};

bool lists(std::span<const std::string_view> items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

bool any_check_contains(const HresultEntry& e, std::string_view text) {
  return std::any_of(e.next_checks.begin(), e.next_checks.end(),
                     [&](std::string_view c) { return c.find(text) != std::string_view::npos; });
}

const HresultEntry& entry(std::uint32_t code) {
  const HresultEntry* e = find_hresult(code);
  if (e == nullptr) throw std::runtime_error("missing " + format_hresult(code));
  return *e;
}

TEST(Hresult, TableIsSortedUniqueAndComplete) {
  const auto table = hresult_table();
  ASSERT_FALSE(table.empty());
  for (std::size_t i = 1; i < table.size(); ++i) EXPECT_LT(table[i - 1].code, table[i].code) << i;
  for (const auto& e : table) {
    const std::string code = format_hresult(e.code);
    EXPECT_FALSE(e.name.empty()) << code;
    EXPECT_FALSE(e.meaning.empty()) << code;
    EXPECT_FALSE(e.how.empty()) << code;
    EXPECT_FALSE(e.causes.empty()) << code;
    EXPECT_FALSE(e.next_checks.empty()) << code;
    EXPECT_FALSE(e.provenance.empty()) << code;
    EXPECT_EQ(find_hresult(e.code), &e) << code;
  }
}

TEST(Hresult, EveryFindingCodeIsInDesignList) {
  for (const auto& e : hresult_table())
    for (auto f : e.findings) EXPECT_TRUE(kDesignFindings.count(std::string(f))) << format_hresult(e.code) << ": " << f;
}

TEST(Hresult, DesignCodeMappingsAgreeWithTable) {
  // docs/probe.md "Findings": the Windows code written next to a finding.
  const std::pair<const char*, std::uint32_t> pairs[] = {
      {"dns.srv_missing", 0x8007232B}, {"dns.srv_nodata", 0x8007251D}, {"dns.servfail", 0x8007232A},
      {"kms.time_skew", 0xC004F06C},   {"kms.product_not_served", 0xC004F042},
      {"kms.count_too_low", 0xC004F038}, {"kms.invalid_request", 0x8007000D},
      // the runbook table: 1b maps tcp.refused / tcp.filtered to 0x800706BA
      {"tcp.refused", 0x800706BA}, {"tcp.filtered", 0x800706BA}};
  for (const auto& [finding, code] : pairs)
    EXPECT_TRUE(lists(entry(code).findings, finding)) << finding << " -> " << format_hresult(code);
}

TEST(Hresult, RequiredCodesArePresent) {
  for (std::uint32_t code : {0xC004F074u, 0xC004F06Cu, 0xC004F038u, 0xC004F042u, 0x8007000Du, 0x8007232Bu,
                             0x8007251Du, 0x8007232Au, 0x800706BAu, 0xC004D104u, 0x80070005u, 0xC004F039u,
                             0xC004F041u, 0xC004F050u, 0x800706C0u, 0x800706C2u, 0x8007071Cu})
    EXPECT_NE(find_hresult(code), nullptr) << format_hresult(code);
  EXPECT_EQ(find_hresult(0x80004005), nullptr);
}

TEST(Hresult, VerifiedOnlyWhereProtocolNotesOrMicrosoftListIt) {
  // Not in docs/protocol.md's Windows list nor Microsoft's activation error list:
  const std::set<std::uint32_t> unverified{0x800706C0, 0x800706C2, 0x8007071C, 0xC004D104};
  for (const auto& e : hresult_table()) {
    EXPECT_EQ(e.verified, unverified.count(e.code) == 0) << format_hresult(e.code);
    if (e.verified)
      EXPECT_TRUE(e.provenance.find("Microsoft") != std::string_view::npos ||
                  e.provenance.find("docs/protocol.md") != std::string_view::npos)
          << format_hresult(e.code);
    else
      EXPECT_NE(e.provenance.find("not in Microsoft"), std::string_view::npos) << format_hresult(e.code);
  }
}

TEST(Hresult, NamesMeaningsAndCauses) {
  EXPECT_EQ(entry(0xC004F074).name, "SL_E_VL_BINDING_SERVICE_UNAVAILABLE");
  EXPECT_EQ(entry(0xC004F06C).name, "SL_E_VL_INVALID_TIMESTAMP");
  EXPECT_EQ(entry(0xC004F038).name, "SL_E_VL_NOT_ENOUGH_COUNT");
  EXPECT_EQ(entry(0xC004F042).name, "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH");
  EXPECT_EQ(entry(0x800706BA).name, "HRESULT_FROM_WIN32(RPC_S_SERVER_UNAVAILABLE)");

  const auto& e074 = entry(0xC004F074);
  for (auto c : {RunbookCause::dns_srv, RunbookCause::tcp_blocked, RunbookCause::slow, RunbookCause::clock_skew,
                 RunbookCause::protocol_fault})
    EXPECT_NE(std::find(e074.causes.begin(), e074.causes.end(), c), e074.causes.end()) << runbook_id(c);
  EXPECT_EQ(entry(0xC004F06C).causes.front(), RunbookCause::clock_skew);
  EXPECT_EQ(entry(0x8007232B).causes.front(), RunbookCause::dns_srv);
  EXPECT_EQ(entry(0xC004F042).causes.front(), RunbookCause::key_product);
  EXPECT_EQ(entry(0x80070005).causes.front(), RunbookCause::windows_local);
  EXPECT_NE(entry(0xC004F06C).how.find("4 hours"), std::string_view::npos);
}

TEST(Hresult, NextChecksAreTheRunbookCommands) {
  EXPECT_TRUE(any_check_contains(entry(0xC004F074), "nslookup -type=SRV _vlmcs._tcp.<domain>"));
  EXPECT_TRUE(any_check_contains(entry(0xC004F074), "Test-NetConnection <kms-host> -Port 1688"));
  EXPECT_TRUE(any_check_contains(entry(0xC004F074), "slmgr /dlv"));
  EXPECT_TRUE(any_check_contains(entry(0xC004F06C), "w32tm /resync"));
  EXPECT_TRUE(any_check_contains(entry(0xC004F06C), "w32tm /stripchart"));
  EXPECT_TRUE(any_check_contains(entry(0x8007232B), "dcdiag /test:dns"));
  EXPECT_TRUE(any_check_contains(entry(0x8007232B), "slmgr /skms <kms-host>:1688"));
  EXPECT_TRUE(any_check_contains(entry(0x800706BA), "Test-NetConnection"));
  for (const auto& e : hresult_table()) EXPECT_TRUE(any_check_contains(e, "slmgr /ato")) << format_hresult(e.code);
}

TEST(Hresult, RunbookIdsAndLabels) {
  EXPECT_EQ(runbook_id(RunbookCause::dns_srv), "1a");
  EXPECT_EQ(runbook_id(RunbookCause::tcp_blocked), "1b");
  EXPECT_EQ(runbook_id(RunbookCause::key_product), "2");
  EXPECT_EQ(runbook_id(RunbookCause::clock_skew), "3");
  EXPECT_EQ(runbook_id(RunbookCause::windows_local), "4/5");
  EXPECT_FALSE(runbook_label(RunbookCause::slow).empty());
}

TEST(Hresult, Win32Conversions) {
  EXPECT_EQ(hresult_from_win32(1722), 0x800706BAu);
  EXPECT_EQ(hresult_from_win32(9003), 0x8007232Bu);
  EXPECT_EQ(hresult_from_win32(9501), 0x8007251Du);
  EXPECT_EQ(hresult_from_win32(1820), 0x8007071Cu);
  EXPECT_EQ(hresult_from_win32(0), 0u);
  EXPECT_EQ(win32_from_hresult(0x800706BA), 1722u);
  EXPECT_EQ(win32_from_hresult(0xC004F074), std::nullopt);
  EXPECT_EQ(format_hresult(0xC004F074), "0xC004F074");
  EXPECT_EQ(format_hresult(5), "0x00000005");
}

// --- parsing every input form ---------------------------------------------------------------

TEST(Hresult, ParsesEveryFormOfTheSameCode) {
  for (const char* text : {"0xC004F074", "0XC004F074", "0xc004f074", "C004F074", "c004f074", "3221549172",
                           "-1073418124", "  0xC004F074\n", "\t3221549172 "}) {
    auto r = parse_error_code(text);
    ASSERT_TRUE(r) << text << ": " << r.error().message();
    EXPECT_EQ(r->hresult, 0xC004F074u) << text;
    EXPECT_FALSE(r->win32) << text;
  }
}

TEST(Hresult, ParsesWin32CodesAsHresultFromWin32) {
  for (const char* text : {"1722", "0x6BA", "6BA", "0x000006ba"}) {
    auto r = parse_error_code(text);
    ASSERT_TRUE(r) << text << ": " << r.error().message();
    EXPECT_EQ(r->hresult, 0x800706BAu) << text;
    ASSERT_TRUE(r->win32) << text;
    EXPECT_EQ(*r->win32, 1722u) << text;
  }
  EXPECT_EQ(parse_error_code("9003")->hresult, 0x8007232Bu);
  EXPECT_EQ(parse_error_code("1")->hresult, 0x80070001u);
  EXPECT_EQ(parse_error_code("65535")->hresult, 0x8007FFFFu);
  EXPECT_FALSE(parse_error_code("65536")->win32);  // above 0xFFFF it is an HRESULT as given
}

TEST(Hresult, EightBareDigitsAreHexLikePrintedHresults) {
  EXPECT_EQ(parse_error_code("80070005")->hresult, 0x80070005u);
  EXPECT_EQ(parse_error_code("8007232B")->hresult, 0x8007232Bu);
  EXPECT_EQ(parse_error_code("2147942405")->hresult, 0x80070005u);  // the same code in decimal
  EXPECT_EQ(parse_error_code("-2147024891")->hresult, 0x80070005u);
  EXPECT_EQ(parse_error_code("-2147483648")->hresult, 0x80000000u);
  EXPECT_EQ(parse_error_code("4294967295")->hresult, 0xFFFFFFFFu);
}

TEST(Hresult, RejectsMalformedCodesWithTypedErrors) {
  struct Case {
    const char* text;
    Errc code;
    std::size_t offset;
  };
  const Case cases[] = {
      {"", Errc::bad_value, 0},          {"   ", Errc::bad_value, 3},
      {"0x", Errc::bad_value, 2},        {"-", Errc::bad_value, 1},
      {"0xG", Errc::bad_value, 2},       {"12a4z", Errc::bad_value, 2},
      {"--5", Errc::bad_value, 1},       {"-0x5", Errc::bad_value, 2},
      {"0", Errc::bad_value, 0},         {"-0", Errc::bad_value, 0},
      {"0x0", Errc::bad_value, 0},       {"C004F074h", Errc::bad_value, 0},
      {"0x100000000", Errc::too_large, 10}, {"4294967296", Errc::too_large, 9},
      {"-2147483649", Errc::too_large, 10}, {"0xC004 F074", Errc::bad_value, 6},
  };
  for (const Case& c : cases) {
    auto r = parse_error_code(c.text);
    ASSERT_FALSE(r) << "accepted: '" << c.text << "' as " << format_hresult(r->hresult);
    EXPECT_EQ(r.error().code, c.code) << c.text << ": " << r.error().message();
    EXPECT_EQ(r.error().offset, c.offset) << c.text << ": " << r.error().message();
  }
}

}  // namespace
}  // namespace kmslab::protocol
