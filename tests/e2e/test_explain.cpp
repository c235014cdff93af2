// End-to-end: `kmslab explain` and `kmslab products` as a user runs them (the built binary).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {
namespace e2e_explain {

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout only
  std::string err;  // stderr only
};

std::string capture(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

// Runs the CLI twice (once per stream) so stdout and stderr can be checked separately; the
// commands are pure table look-ups, so both runs see the same result.
CliRun kmslab(const std::string& args) {
  const std::string cli = std::string("'") + KMSLAB_CLI + "' " + args;
  CliRun r;
  const std::string out = capture(cli + " 2>/dev/null; echo \"exit=$?\"");
  const auto at = out.rfind("exit=");
  r.out = out.substr(0, at);
  r.exit_code = std::stoi(out.substr(at + 5));
  r.err = capture(cli + " 2>&1 >/dev/null");
  return r;
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

TEST(CliExplain, ExplainsC004F074) {
  const CliRun r = kmslab("explain 0xC004F074");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(r.out.rfind("0xC004F074  SL_E_VL_BINDING_SERVICE_UNAVAILABLE\n", 0), 0u) << r.out;
  EXPECT_TRUE(has(r.out, "No Key Management Service could be contacted")) << r.out;
  EXPECT_TRUE(has(r.out, "1a        DNS")) << r.out;
  EXPECT_TRUE(has(r.out, "dns.srv_missing")) << r.out;
  EXPECT_TRUE(has(r.out, "nslookup -type=SRV _vlmcs._tcp.<domain>")) << r.out;
  EXPECT_TRUE(has(r.out, "Test-NetConnection <kms-host> -Port 1688")) << r.out;
  EXPECT_TRUE(has(r.out, "source       verified")) << r.out;
}

TEST(CliExplain, AcceptsEveryInputForm) {
  for (const char* form : {"C004F074", "3221549172", "-1073418124", "0xc004f074"}) {
    const CliRun r = kmslab(std::string("explain ") + form);
    EXPECT_EQ(r.exit_code, 0) << form << ": " << r.err;
    EXPECT_EQ(r.out.rfind("0xC004F074  ", 0), 0u) << form << ": " << r.out;
  }
}

TEST(CliExplain, Win32CodeShowsItsHresult) {
  const CliRun r = kmslab("explain 1722");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("0x800706BA  HRESULT_FROM_WIN32(RPC_S_SERVER_UNAVAILABLE)", 0), 0u) << r.out;
  EXPECT_TRUE(has(r.out, "Win32 code 1722 = HRESULT_FROM_WIN32 -> 0x800706BA")) << r.out;
}

TEST(CliExplain, UnverifiedEntriesSaySo) {
  const CliRun r = kmslab("explain 1728");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "NOT verified")) << r.out;
}

TEST(CliExplain, JsonOutput) {
  const CliRun r = kmslab("explain --json 0xC004F06C");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("code"), "0xC004F06C");
  EXPECT_EQ(j.at("name"), "SL_E_VL_INVALID_TIMESTAMP");
  EXPECT_EQ(j.at("decimal"), 3221549164u);
  EXPECT_EQ(j.at("signed_decimal"), -1073418132);
  EXPECT_TRUE(j.at("verified").get<bool>());
  EXPECT_TRUE(j.at("win32").is_null());
  EXPECT_EQ(j.at("runbook_causes").at(0).at("id"), "3");
  const auto findings = j.at("findings").get<std::vector<std::string>>();
  EXPECT_NE(std::find(findings.begin(), findings.end(), "kms.time_skew"), findings.end());
  EXPECT_FALSE(j.at("next_checks").empty());
  EXPECT_EQ(j.at("input"), "0xC004F06C");
}

TEST(CliExplain, ListsEveryCode) {
  const CliRun r = kmslab("explain --list");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::size_t lines = 0;
  std::size_t pos = 0;
  while ((pos = r.out.find('\n', pos)) != std::string::npos) ++pos, ++lines;
  EXPECT_EQ(lines, 18u) << r.out;
  EXPECT_TRUE(has(r.out, "0xC004F074  SL_E_VL_BINDING_SERVICE_UNAVAILABLE")) << r.out;
  EXPECT_TRUE(has(r.out, "0x8007251D")) << r.out;
  const auto j = nlohmann::json::parse(kmslab("explain --list --json").out);
  EXPECT_EQ(j.size(), 18u);
}

TEST(CliExplain, UnparsableCodeIsAUsageError) {
  const CliRun r = kmslab("explain bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(has(r.err, "cannot read 'bogus' as an error code")) << r.err;
}

TEST(CliExplain, UnknownCodeIsAUsageError) {
  const CliRun r = kmslab("explain 0x80004005");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(has(r.err, "0x80004005 is not in kmslab's table")) << r.err;
  EXPECT_TRUE(has(r.err, "kmslab explain --list")) << r.err;
}

TEST(CliExplain, MissingCodeIsAUsageError) {
  const CliRun r = kmslab("explain");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "give an error code")) << r.err;
}

TEST(CliProducts, ListsUnverifiedServer2022WithProvenance) {
  const CliRun r = kmslab("products 2022");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "Windows Server 2022 Datacenter")) << r.out;
  EXPECT_TRUE(has(r.out, "ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03")) << r.out;
  EXPECT_TRUE(has(r.out, "unverified [1]")) << r.out;
  EXPECT_TRUE(has(r.out, "[1] unverified: ")) << r.out;
}

TEST(CliProducts, JsonCarriesAllIds) {
  const CliRun r = kmslab("products --json 2de67392");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u) << r.out;
  EXPECT_EQ(j[0].at("name"), "Windows 10 Professional");
  EXPECT_EQ(j[0].at("kms_count_id"), "58e2134f-8e11-4d17-9cb2-91069c151148");
  EXPECT_EQ(j[0].at("application_id"), "55c92734-d682-4d71-983e-d6ec3f16059f");
  EXPECT_EQ(j[0].at("n_policy"), 25);
  EXPECT_EQ(j[0].at("protocol"), 6);
  EXPECT_EQ(j[0].at("group"), "Windows client");
  EXPECT_EQ(j[0].at("provenance"), "vlmcsd KMD 2.0");
}

TEST(CliProducts, KmsIdsAndHosts) {
  const CliRun k = kmslab("products --kms-ids 'Office 2019'");
  EXPECT_EQ(k.exit_code, 0) << k.err;
  EXPECT_TRUE(has(k.out, "617d9eb1-ef36-4f82-86e0-a65ae07b96c6")) << k.out;
  const CliRun h = kmslab("products --hosts 14393");
  EXPECT_EQ(h.exit_code, 0) << h.err;
  EXPECT_TRUE(has(h.out, "Windows 10 1607 / Server 2016")) << h.out;
  EXPECT_TRUE(has(h.out, "03612")) << h.out;
}

TEST(CliProducts, NoMatchIsReported) {
  const CliRun r = kmslab("products no-such-product");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "nothing matches 'no-such-product'")) << r.err;
  EXPECT_EQ(kmslab("products --kms-ids --hosts").exit_code, 2);
}

}  // namespace e2e_explain
}  // namespace
