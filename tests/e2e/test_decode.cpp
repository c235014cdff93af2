// End-to-end: `kmslab decode` and `kmslab demo` as a user runs them (the built binary).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {
namespace e2e_decode {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// A per-test, per-process directory (other checkouts may run the same tests at the same time),
// removed when the test ends.
struct Scratch {
  fs::path dir;
  explicit Scratch(std::string_view purpose = "files")
      : dir(fs::path(::testing::TempDir()) /
            ("kmslab_e2e_decode_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + std::string(purpose))) {
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

std::string vector(const std::string& name) { return std::string(KMSLAB_VECTORS_DIR) + "/" + name; }

std::string shell_quote(const std::string& s) { return "'" + s + "'"; }

// Runs `<prefix> kmslab <args>` through the shell once; stderr goes to a scratch file.
CliRun run(const std::string& args, const std::string& prefix = "") {
  const Scratch scratch("stderr");
  const fs::path err = scratch.dir / "stderr.txt";
  const std::string cmd = prefix + shell_quote(KMSLAB_CLI) + " " + args + " 2>" + shell_quote(err.string());
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = slurp(err);
  return r;
}

std::string cat(std::initializer_list<const char*> files) {
  std::string s = "cat";
  for (const char* f : files) s += " " + shell_quote(vector(f));
  return s + " | ";
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

TEST(CliDecode, WholeV6SessionFromStdin) {
  const CliRun r = run("decode -", cat({"v6_bind_request.hex", "v6_bind_ack.hex", "v6_alter_context_request.hex",
                                        "v6_alter_context_ack.hex", "v6_request.hex", "v6_response.hex"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const char* s : {"PDU 1  bind  (offset 0, 160 bytes)", "transfer 71710533-beba-4937-8319-b5dbef9ccc36 v1.0 (NDR64)",
                        "answers PDU 1: NDR64 on ctx 1; BTFN 0x0003; NDR32 refused",
                        "PDU 5  request  (offset 396, 292 bytes)", "0 (NDR32, negotiated)",
                        "KMS request v6.0", "2de67392-b7a7-462a-b1ca-108dd189f588 Windows 10 Professional",
                        "58e2134f-8e11-4d17-9cb2-91069c151148 Windows 10 2015 (Volume)",
                        "134400863370000000 = 2026-11-25T13:18:57.0000000Z", "\"ws-v6.example.test\"",
                        "KMS response v6.0", "request: PDU 5", "03612-00206-560-338962-03-1056-14393.0000-2462019",
                        "current_count       50", "10080 min (7 d)", "hwid                3a1c049600b60076",
                        "ok    HMAC", "ok    XoredIVs", "ok    hash", "ok    CMID echo", "ok    time echo",
                        "6 PDUs, 1 KMS request, 1 KMS response (1 verified against its request)",
                        "every PDU passes"})
    EXPECT_TRUE(has(r.out, s)) << "missing: " << s << "\n" << r.out;
}

TEST(CliDecode, SingleRequestFile) {
  const CliRun r = run("decode " + shell_quote(vector("v4_request.hex")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "ok    request MAC")) << r.out;
  EXPECT_TRUE(has(r.out, "0 (NDR32, inferred from the stub)")) << r.out;
  EXPECT_TRUE(has(r.out, "2 (OOB grace)")) << r.out;
}

TEST(CliDecode, JsonOfAVerifiedPair) {
  const CliRun r = run("decode --json -", cat({"v5_request.hex", "v5_response.hex"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("pdus").size(), 2u);
  const auto& req = j.at("pdus").at(0);
  EXPECT_EQ(req.at("type"), "request");
  EXPECT_EQ(req.at("kms_request").at("version"), "5.0");
  EXPECT_EQ(req.at("kms_request").at("sku").at("name"), "Windows 10 Professional");
  EXPECT_EQ(req.at("kms_request").at("client_time").at("filetime"), 134400863300000000u);
  EXPECT_TRUE(req.at("kms_request").at("pad_valid").get<bool>());
  const auto& resp = j.at("pdus").at(1);
  EXPECT_EQ(resp.at("body").at("request").at("pdu"), 1);
  EXPECT_TRUE(resp.at("kms_response").at("verified").get<bool>());
  EXPECT_EQ(resp.at("kms_response").at("current_count"), 50);
  EXPECT_EQ(resp.at("kms_response").at("epid").at("build"), 14393);
  bool iv_echo = false;
  for (const auto& c : resp.at("checks"))
    if (c.at("name") == "IV echo") iv_echo = c.at("outcome") == "pass";
  EXPECT_TRUE(iv_echo) << resp.at("checks").dump(2);
  EXPECT_TRUE(j.at("summary").at("ok").get<bool>());
  EXPECT_EQ(j.at("summary").at("checks_failed"), 0);
}

TEST(CliDecode, RefusalShowsTheHresultName) {
  const CliRun r = run("decode -", cat({"v6_err_C004F06C_clock_plus5h_request.hex",
                                        "v6_err_C004F06C_clock_plus5h_response.hex"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "0xC004F06C SL_E_VL_INVALID_TIMESTAMP")) << r.out;
  EXPECT_TRUE(has(r.out, "null pointer, no KMS response")) << r.out;
  const CliRun j = run("decode --json " + shell_quote(vector("v4_err_C004F042_response.hex")));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc.at("pdus").at(0).at("body").at("return_value").at("name"), "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH");
}

TEST(CliDecode, RequestOptionVerifiesALoneResponse) {
  const CliRun r = run("decode " + shell_quote(vector("v6_response.hex")) + " --request " + shell_quote(vector("v6_request.hex")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "request: PDU 1 of --request")) << r.out;
  EXPECT_TRUE(has(r.out, "ok    XoredIVs")) << r.out;
  const CliRun lone = run("decode " + shell_quote(vector("v6_response.hex")));
  EXPECT_EQ(lone.exit_code, 0) << lone.err;
  EXPECT_TRUE(has(lone.out, "note  request")) << lone.out;
}

TEST(CliDecode, FailedCheckExitsOneAndNamesTheOffset) {
  std::string hex = slurp(vector("v4_response.hex"));
  // Flip a bit of the v4 MAC: byte 24 + 12 + 144 = 180 of the PDU, hex digits 360-361.
  hex[361] = hex[361] == '0' ? '1' : '0';
  const Scratch scratch;
  const fs::path f = scratch.dir / "bad_mac.hex";
  write(f, hex);
  const CliRun r = run("decode " + shell_quote(f.string()));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(has(r.out, "FAIL  MAC")) << r.out;
  EXPECT_TRUE(has(r.out, "1 PDU FAILED")) << r.out;
  EXPECT_TRUE(has(r.err, "decode: " + f.string() + ": offset 180: PDU 1 (response): MAC failed")) << r.err;
}

TEST(CliDecode, MismatchedPairExitsOne) {
  const CliRun r = run("decode -", cat({"v6_request.hex", "v6_office2016_response.hex"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(has(r.out, "FAIL  hash")) << r.out;
  EXPECT_TRUE(has(r.out, "FAIL  time echo")) << r.out;
  EXPECT_TRUE(has(r.err, "decode: -: offset")) << r.err;
}

TEST(CliDecode, OddHexExitsTwoWithTheOffset) {
  const Scratch scratch;
  const fs::path f = scratch.dir / "odd.hex";
  write(f, "# comment\n0500 0b0\n");
  const CliRun r = run("decode " + shell_quote(f.string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  // Located as every input error is: file:line:column, then what was wrong; the character offset last.
  EXPECT_TRUE(has(r.err, "decode: " + f.string() + ":2:6: bad length: odd number of hex digits")) << r.err;
  EXPECT_TRUE(has(r.err, "(character 15)")) << r.err;
}

TEST(CliDecode, TruncatedPduExitsTwoWithTheOffset) {
  std::string hex = slurp(vector("v6_request.hex"));
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  hex = hex.substr(0, hex.size() - 10);  // 5 bytes short: 287 of 292
  const CliRun r = run("decode -", "printf '%s' " + shell_quote(hex) + " | ");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "decode: -: offset 287: truncated: PDU 1 (header): frag_length 292")) << r.err;
}

TEST(CliDecode, GarbageAndMissingFilesExitTwo) {
  const CliRun garbage = run("decode -", "printf 'hello' | ");
  EXPECT_EQ(garbage.exit_code, 2);
  EXPECT_TRUE(has(garbage.err, "decode: -:1:1: bad value: 'h' is not a hex digit")) << garbage.err;
  const CliRun missing = run("decode /nonexistent/capture.hex");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(has(missing.err, "decode: /nonexistent/capture.hex: cannot open")) << missing.err;
  const CliRun usage = run("decode");
  EXPECT_EQ(usage.exit_code, 2);
}

TEST(CliDemo, VerifiesEveryCaptureAndExplainsC004F074) {
  const CliRun r = run("demo");
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  for (const char* s : {"[1/6] KMS v4 activation", "[6/6] refusal: client clock 5 h ahead",
                        "=> verified: the response answers the request",
                        "=> verified: 0xC004F042 in-band", "=> verified: 0x8007000D in-band",
                        "=> verified: 0xC004F06C in-band", "6 of 6 exchanges verified",
                        "0xC004F074  SL_E_VL_BINDING_SERVICE_UNAVAILABLE", "What kmslab does for each cause:",
                        "dns.srv_missing", "tcp.filtered"})
    EXPECT_TRUE(has(r.out, s)) << "missing: " << s << "\n" << r.out;
}

TEST(CliDemo, FailsOnACorruptedCaptureAndWithoutVectors) {
  const Scratch scratch;
  const fs::path dir = scratch.dir / "vectors";
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(KMSLAB_VECTORS_DIR))
    fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
  std::string hex = slurp(dir / "v6_response.hex");
  hex[200] = hex[200] == 'a' ? 'b' : 'a';  // inside the ciphertext
  write(dir / "v6_response.hex", hex);
  const CliRun r = run("demo --vectors " + shell_quote(dir.string()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "5 of 6 exchanges verified")) << r.out;
  EXPECT_TRUE(has(r.out, "NOT VERIFIED")) << r.out;

  const CliRun none = run("demo --vectors /nonexistent");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(has(none.err, "cannot find the captured vectors")) << none.err;
}

}  // namespace e2e_decode
}  // namespace
