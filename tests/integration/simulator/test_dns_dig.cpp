// The DNS responder as the real `dig` (BIND 9) sees it: discovery records, negative answers,
// TCP, truncation and EDNS sizes, and recovery after malformed traffic. Skipped when dig is
// missing (ci/test.sh installs bind9-dnsutils).
#include "dns_fixtures.hpp"
#include "dns_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace kmslab::simulator {
namespace {

using namespace std::chrono_literals;
using test::run_dig;
using test::RunningDns;

struct DigSummary {
  std::string status;  // NOERROR, NXDOMAIN, ...
  std::string flags;   // "qr aa rd"
  int answer = -1, authority = -1, additional = -1;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

int count_after(const std::string& line, const std::string& key) {
  const auto at = line.find(key);
  return at == std::string::npos ? -1 : std::atoi(line.c_str() + at + key.size());
}

// The last header block wins: after "Truncated, retrying in TCP mode" dig prints two.
DigSummary summarize(const std::string& out) {
  DigSummary s;
  for (const auto& line : lines_of(out)) {
    if (const auto at = line.find("status: "); line.starts_with(";; ->>HEADER<<-") && at != std::string::npos)
      s.status = line.substr(at + 8, line.find(',', at) - (at + 8));
    if (line.starts_with(";; flags: ")) {
      s.flags = line.substr(10, line.find(';', 10) - 10);
      s.answer = count_after(line, "ANSWER: ");
      s.authority = count_after(line, "AUTHORITY: ");
      s.additional = count_after(line, "ADDITIONAL: ");
    }
  }
  return s;
}

// The records of one section (";; ANSWER SECTION:" ...), each split into fields.
std::vector<std::vector<std::string>> section(const std::string& out, const std::string& title) {
  std::vector<std::vector<std::string>> records;
  bool inside = false;
  for (const auto& line : lines_of(out)) {
    if (line == ";; " + title + " SECTION:") {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.empty()) break;
    records.push_back(fields_of(line));
  }
  return records;
}

bool has_record(const std::vector<std::vector<std::string>>& records, const std::vector<std::string>& want) {
  for (const auto& r : records)
    if (r.size() >= want.size() && std::equal(want.begin(), want.end(), r.begin())) return true;
  return false;
}

bool has_flag(const DigSummary& s, std::string_view flag) {
  const std::string padded = " " + s.flags + " ";
  return padded.find(" " + std::string(flag) + " ") != std::string::npos;
}

class Dig : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::dig_available()) GTEST_SKIP() << "dig not installed (apt-get install bind9-dnsutils)";
  }
  RunningDns server{test::corp_zones()};
  test::DigRun dig(const std::string& args) { return run_dig(server.port(), args); }
};

TEST_F(Dig, SrvWithAdditionalAddresses) {
  const auto run = dig("_vlmcs._tcp.corp.example SRV");
  const auto s = summarize(run.output);
  EXPECT_EQ(s.status, "NOERROR") << run.output;
  EXPECT_TRUE(has_flag(s, "aa")) << run.output;
  EXPECT_EQ(s.answer, 3) << run.output;
  EXPECT_EQ(s.additional, 4) << run.output;  // kms1 A + AAAA, kms2 A, and the OPT record
  const auto answer = section(run.output, "ANSWER");
  EXPECT_TRUE(has_record(answer, {"_vlmcs._tcp.corp.example.", "300", "IN", "SRV", "0", "100", "1688",
                                  "kms1.corp.example."}))
      << run.output;
  const auto additional = section(run.output, "ADDITIONAL");
  EXPECT_TRUE(has_record(additional, {"kms1.corp.example.", "300", "IN", "A", "127.0.0.1"})) << run.output;
  EXPECT_TRUE(has_record(additional, {"kms1.corp.example.", "300", "IN", "AAAA", "::1"})) << run.output;
  EXPECT_TRUE(has_record(additional, {"kms2.corp.example.", "300", "IN", "A", "127.0.0.2"})) << run.output;
}

TEST_F(Dig, NxdomainWithSoaInAuthority) {
  const auto run = dig("_vlmcs._tcp.nowhere.corp.example SRV");
  const auto s = summarize(run.output);
  EXPECT_EQ(s.status, "NXDOMAIN") << run.output;
  EXPECT_TRUE(has_flag(s, "aa")) << run.output;
  EXPECT_EQ(s.answer, 0);
  EXPECT_EQ(s.authority, 1);
  EXPECT_TRUE(has_record(section(run.output, "AUTHORITY"),
                         {"corp.example.", "60", "IN", "SOA", "ns1.corp.example.", "hostmaster.corp.example."}))
      << run.output;
}

TEST_F(Dig, NodataWithSoaInAuthority) {
  const auto run = dig("kms1.corp.example SRV");
  const auto s = summarize(run.output);
  EXPECT_EQ(s.status, "NOERROR") << run.output;
  EXPECT_EQ(s.answer, 0) << run.output;
  EXPECT_EQ(s.authority, 1) << run.output;
}

TEST_F(Dig, CaseInsensitive) {
  const auto run = dig("_VLMCS._TCP.CORP.Example SRV");
  const auto s = summarize(run.output);
  EXPECT_EQ(s.status, "NOERROR") << run.output;
  EXPECT_EQ(s.answer, 3) << run.output;
}

TEST_F(Dig, OverTcp) {
  const auto run = dig("+tcp _vlmcs._tcp.corp.example SRV");
  const auto s = summarize(run.output);
  EXPECT_EQ(s.status, "NOERROR") << run.output;
  EXPECT_EQ(s.answer, 3) << run.output;
  EXPECT_NE(run.output.find("(TCP)"), std::string::npos) << run.output;
  EXPECT_EQ(server.counters().queries_tcp, 1u);
  EXPECT_EQ(server.counters().queries_udp, 0u);
}

TEST_F(Dig, LargeAnswerTruncatedOverUdpAndFullOverTcp) {
  // +ignore: show the truncated UDP answer instead of retrying over TCP.
  const auto udp = dig("+noedns +ignore _big._tcp.corp.example SRV");
  const auto u = summarize(udp.output);
  EXPECT_EQ(u.status, "NOERROR") << udp.output;
  EXPECT_TRUE(has_flag(u, "tc")) << udp.output;
  EXPECT_GT(u.answer, 0) << udp.output;
  EXPECT_LT(u.answer, 40) << udp.output;
  const auto tcp = dig("+noedns +tcp _big._tcp.corp.example SRV");
  const auto t = summarize(tcp.output);
  EXPECT_FALSE(has_flag(t, "tc")) << tcp.output;
  EXPECT_EQ(t.answer, 40) << tcp.output;
  // Plain dig does both by itself: sees TC, retries over TCP.
  const auto retry = dig("+noedns _big._tcp.corp.example SRV");
  EXPECT_NE(retry.output.find("Truncated, retrying in TCP mode"), std::string::npos) << retry.output;
  EXPECT_EQ(summarize(retry.output).answer, 40) << retry.output;
  EXPECT_EQ(server.counters().truncated, 2u);
}

TEST_F(Dig, EdnsBufferSizeIsHonoured) {
  const auto big = dig("+bufsize=4096 +ignore _big._tcp.corp.example SRV");
  const auto b = summarize(big.output);
  EXPECT_FALSE(has_flag(b, "tc")) << big.output;
  EXPECT_EQ(b.answer, 40) << big.output;
  EXPECT_NE(big.output.find("udp: 1232"), std::string::npos) << big.output;  // our advertised size
  const auto mid = dig("+bufsize=1232 +ignore _big._tcp.corp.example SRV");
  const auto m = summarize(mid.output);
  EXPECT_TRUE(has_flag(m, "tc")) << mid.output;
  EXPECT_GT(m.answer, 20) << mid.output;  // far more than fits in 512
  EXPECT_LT(m.answer, 40) << mid.output;
}

TEST_F(Dig, AnswersAfterMalformedTraffic) {
  const protocol::Bytes garbage{0xde, 0xad, 0xbe, 0xef, 0x00};
  EXPECT_FALSE(test::udp_exchange(server.port(), garbage, 200ms));
  {
    test::TcpClient c(server.port());
    ASSERT_TRUE(c.send_raw({0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00}));
    EXPECT_FALSE(c.read_frame(200ms));
  }
  const auto run = dig("_vlmcs._tcp.corp.example SRV");
  EXPECT_EQ(summarize(run.output).answer, 3) << run.output;
  const auto tcp = dig("+tcp _vlmcs._tcp.corp.example SRV");
  EXPECT_EQ(summarize(tcp.output).answer, 3) << tcp.output;
  EXPECT_EQ(server.counters().malformed, 2u);
}

}  // namespace
}  // namespace kmslab::simulator
