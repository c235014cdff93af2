#include "kmslab/protocol/epid.hpp"
#include "kmslab/protocol/utf16.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace kmslab::protocol {
namespace {

using namespace std::chrono;

// The capture date of the vectors (vectors/README.md: 2026-11-25).
constexpr sys_days kCaptureDay{year{2026} / November / 25};

constexpr const char* kCapturedV6 = "03612-00206-560-338962-03-1056-14393.0000-2462019";
constexpr const char* kCapturedOdd = "55041-00206-559-924941-03-1102-6002.0000-1202024";
constexpr const char* kCapturedOffice = "03612-00206-451-729212-03-1056-14393.0000-0992019";

Epid must_parse(const std::string& text) {
  auto e = parse_epid(text);
  EXPECT_TRUE(e) << text << ": " << (e ? "" : e.error().message());
  return e ? *e : Epid{};
}

std::string findings_text(const EpidValidation& v) {
  std::string out;
  for (const auto& f : v.findings)
    out += std::string(to_string(f.field)) + "/" + std::string(to_string(f.severity)) + ": " + f.message + "\n";
  return out;
}

TEST(Epid, ParsesCapturedEpidIntoFields) {
  const Epid e = must_parse(kCapturedV6);
  EXPECT_EQ(e.platform_id, 3612u);
  EXPECT_EQ(e.group_id, 206u);
  EXPECT_EQ(e.key_id, 560338962u);
  EXPECT_EQ(e.channel, 3u);
  EXPECT_EQ(e.lcid, 1056u);
  EXPECT_EQ(e.build, 14393u);
  EXPECT_EQ(e.build_suffix, 0u);
  EXPECT_EQ(e.day_of_year, 246u);
  EXPECT_EQ(e.year, 2019u);
  EXPECT_EQ(e.to_string(), kCapturedV6);
}

TEST(Epid, ParsesTheOddSizedFourDigitBuildEpid) {
  const Epid e = must_parse(kCapturedOdd);
  EXPECT_EQ(e.platform_id, 55041u);
  EXPECT_EQ(e.build, 6002u);
  EXPECT_EQ(e.lcid, 1102u);
  EXPECT_EQ(e.key_id, 559924941u);
  EXPECT_EQ(e.day_of_year, 120u);
  EXPECT_EQ(e.year, 2024u);
  EXPECT_EQ(e.to_string(), kCapturedOdd);
  EXPECT_EQ(std::string(kCapturedOdd).size(), 48u);  // PIDSize 98 in the capture
}

TEST(Epid, CapturedEpidsValidateWithoutFindings) {
  for (const char* text : {kCapturedV6, kCapturedOdd, kCapturedOffice}) {
    const auto v = validate_epid(must_parse(text), kCaptureDay);
    EXPECT_TRUE(v.valid()) << text << "\n" << findings_text(v);
    EXPECT_TRUE(v.findings.empty()) << text << "\n" << findings_text(v);
    ASSERT_NE(v.host, nullptr);
    ASSERT_NE(v.csvlk, nullptr);
  }
  EXPECT_EQ(validate_epid(must_parse(kCapturedV6), kCaptureDay).csvlk->name, "Windows");
  EXPECT_EQ(validate_epid(must_parse(kCapturedOffice), kCaptureDay).csvlk->name, "Office 2016");
  EXPECT_EQ(validate_epid(must_parse(kCapturedOdd), kCaptureDay).host->build, 6002u);
}

TEST(Epid, VlmcsdFixedEpidsAreValid) {
  for (const Csvlk& c : csvlks()) {
    const auto v = validate_epid(must_parse(std::string(c.fixed_epid)), kCaptureDay);
    EXPECT_TRUE(v.valid()) << c.name << "\n" << findings_text(v);
    ASSERT_NE(v.csvlk, nullptr) << c.name;
    EXPECT_EQ(v.csvlk->name, c.name);
  }
}

TEST(Epid, DateOfCapturedEpids) {
  EXPECT_EQ(epid_date(must_parse(kCapturedV6)), Date{year{2019} / September / 3});
  EXPECT_EQ(epid_date(must_parse(kCapturedOdd)), Date{year{2024} / April / 29});  // leap year
  EXPECT_EQ(epid_date(must_parse("03612-00206-560-338962-03-1056-14393.0000-3662020")),
            Date{year{2020} / December / 31});
  EXPECT_EQ(epid_date(must_parse("03612-00206-560-338962-03-1056-14393.0000-3662019")), std::nullopt);
  EXPECT_EQ(epid_date(must_parse("03612-00206-560-338962-03-1056-14393.0000-0002019")), std::nullopt);
}

TEST(Epid, DescribesHostKeyGroupAndLcid) {
  const std::string d = describe_epid(must_parse(kCapturedV6));
  EXPECT_NE(d.find("Windows 10 1607 / Server 2016"), std::string::npos) << d;
  EXPECT_NE(d.find("platform 03612"), std::string::npos) << d;
  EXPECT_NE(d.find("key group 00206 = Windows CSVLK"), std::string::npos) << d;
  EXPECT_NE(d.find("LCID 1056 (ur-PK)"), std::string::npos) << d;
  EXPECT_NE(d.find("activated 2019-09-03"), std::string::npos) << d;
  const std::string odd = describe_epid(must_parse("12345-00207-560-338962-03-9999-1234.0000-3662019"));
  EXPECT_NE(odd.find("not in kmslab's tables"), std::string::npos) << odd;
  EXPECT_NE(odd.find("unknown CSVLK"), std::string::npos) << odd;
  EXPECT_NE(odd.find("activation date invalid"), std::string::npos) << odd;
}

// --- malformed text: typed errors with the offset where the shape broke -----------------------

TEST(Epid, MalformedTextIsATypedErrorAtItsOffset) {
  struct Case {
    std::string text;
    Errc code;
    std::size_t offset;
  };
  const Case cases[] = {
      {"", Errc::truncated, 0},
      {"03612-00206-56", Errc::truncated, 14},
      {"03612-00206-560-338962-03-1056-14393.0000-", Errc::truncated, 42},
      {"03612-00206-560-338962-03-1056-14393", Errc::truncated, 36},
      {"0361-00206-560-338962-03-1056-14393.0000-2462019", Errc::bad_value, 4},
      {"036120-0206-560-338962-03-1056-14393.0000-2462019", Errc::bad_value, 5},
      {"03612_00206-560-338962-03-1056-14393.0000-2462019", Errc::bad_value, 5},
      {"03612-00a06-560-338962-03-1056-14393.0000-2462019", Errc::bad_value, 8},
      {"03612-00206-560-338962-3-1056-14393.0000-2462019", Errc::bad_value, 24},
      {"03612-00206-560-338962-03-105600-14393.0000-2462019", Errc::bad_value, 31},
      {"03612-00206-560-338962-03--14393.0000-2462019", Errc::bad_value, 26},
      {"03612-00206-560-338962-03-1056-14393-0000-2462019", Errc::bad_value, 36},
      {"03612-00206-560-338962-03-1056-14393.000-2462019", Errc::bad_value, 40},
      {"03612-00206-560-338962-03-1056-14393.0000-246201", Errc::truncated, 48},
      {"03612-00206-560-338962-03-1056-14393.0000-24620190", Errc::bad_value, 49},
      {"03612-00206-560-338962-03-1056-14393.0000-2462019 ", Errc::trailing_data, 49},
      {std::string(65, '0'), Errc::too_large, 64},
  };
  for (const Case& c : cases) {
    auto r = parse_epid(c.text);
    ASSERT_FALSE(r) << "accepted: " << c.text;
    EXPECT_EQ(r.error().code, c.code) << c.text << ": " << r.error().message();
    EXPECT_EQ(r.error().offset, c.offset) << c.text << ": " << r.error().message();
    EXPECT_FALSE(r.error().detail.empty());
  }
}

// A host's ePID arrives as UTF-16 and is kept as UTF-8: the error names the whole character it
// stopped at, never one byte of it (which would not be text and broke the probe's JSON report).
TEST(Epid, ErrorNamesTheWholeCharacterNotOneByteOfIt) {
  for (const std::string text : {"\xC3\xBF" "5426-00206-520-000000-03-1033-17763.0000-2452020",   // ÿ
                                 "05426\xE2\x80\x94" "00206-520-000000-03-1033-17763.0000-2452020"}) {  // em dash
    auto r = parse_epid(text);
    ASSERT_FALSE(r);
    const std::string message = r.error().message() + " " + r.error().detail;
    EXPECT_EQ(find_invalid_utf8(message), std::string_view::npos) << message;
    EXPECT_NE(message.find(text.substr(r.error().offset, utf8_sequence_length(text, r.error().offset))),
              std::string::npos)
        << message;
  }
}

// --- each invalid-field class is reported as a finding ----------------------------------------

struct FieldCase {
  const char* text;
  EpidField field;
  Severity severity;
};

TEST(Epid, EachImplausibleFieldIsReported) {
  const FieldCase cases[] = {
      // platform id of another build
      {"06401-00206-560-338962-03-1056-14393.0000-2462019", EpidField::platform_id, Severity::error},
      // unknown build (platform is known, so only the build is flagged)
      {"03612-00206-560-338962-03-1056-10240.0000-2462019", EpidField::build, Severity::error},
      // unknown build and unknown platform
      {"12345-00206-560-338962-03-1056-12345.0000-2462019", EpidField::platform_id, Severity::error},
      {"12345-00206-560-338962-03-1056-12345.0000-2462019", EpidField::build, Severity::error},
      // unknown group
      {"03612-00207-560-338962-03-1056-14393.0000-2462019", EpidField::group_id, Severity::error},
      // key id outside every range of group 206
      {"03612-00206-300-000000-03-1056-14393.0000-2462019", EpidField::key_id, Severity::error},
      // key id of the Windows range under the Office 2010 group
      {"03612-00096-560-338962-03-1056-14393.0000-2462019", EpidField::key_id, Severity::error},
      // channel other than 03
      {"03612-00206-560-338962-04-1056-14393.0000-2462019", EpidField::channel, Severity::error},
      // build suffix other than .0000
      {"03612-00206-560-338962-03-1056-14393.0001-2462019", EpidField::build_suffix, Severity::error},
      // LCID 0 and above 0xFFFF are impossible; an uncommon one is only unusual
      {"03612-00206-560-338962-03-0-14393.0000-2462019", EpidField::lcid, Severity::error},
      {"03612-00206-560-338962-03-70000-14393.0000-2462019", EpidField::lcid, Severity::error},
      {"03612-00206-560-338962-03-12345-14393.0000-2462019", EpidField::lcid, Severity::warning},
      // day of year 0, 366 in a common year, 999
      {"03612-00206-560-338962-03-1056-14393.0000-0002019", EpidField::day_of_year, Severity::error},
      {"03612-00206-560-338962-03-1056-14393.0000-3662019", EpidField::day_of_year, Severity::error},
      {"03612-00206-560-338962-03-1056-14393.0000-9992019", EpidField::day_of_year, Severity::error},
      // year before the Windows CSVLK's release (2018) and after today (2026)
      {"03612-00206-560-338962-03-1056-14393.0000-2462017", EpidField::year, Severity::error},
      {"03612-00206-560-338962-03-1056-14393.0000-0012030", EpidField::year, Severity::error},
      // Office 2010 CSVLK (2010) on a 17763 host (2018-10-02): 2011-01-01 predates the host
      {"03612-00096-200-000000-03-1033-17763.0000-0012011", EpidField::date, Severity::warning},
      // later this year than today
      {"03612-00206-560-338962-03-1056-14393.0000-3502026", EpidField::date, Severity::warning},
  };
  for (const FieldCase& c : cases) {
    const auto v = validate_epid(must_parse(c.text), kCaptureDay);
    bool found = false;
    for (const auto& f : v.findings)
      if (f.field == c.field && f.severity == c.severity && !f.message.empty()) found = true;
    EXPECT_TRUE(found) << c.text << " expected " << to_string(c.field) << "/" << to_string(c.severity)
                       << ", got:\n" << findings_text(v);
    EXPECT_EQ(v.valid(), c.severity == Severity::warning) << c.text << "\n" << findings_text(v);
  }
}

TEST(Epid, LeapDayIsValidAndFindingsNameOnlyTheBadField) {
  const auto v = validate_epid(must_parse("03612-00206-560-338962-03-1056-14393.0000-3662020"), kCaptureDay);
  EXPECT_TRUE(v.findings.empty()) << findings_text(v);
  const auto bad = validate_epid(must_parse("03612-00206-560-338962-04-1056-14393.0000-2462019"), kCaptureDay);
  ASSERT_EQ(bad.findings.size(), 1u) << findings_text(bad);
  EXPECT_TRUE(bad.has(EpidField::channel));
  EXPECT_FALSE(bad.has(EpidField::key_id));
}

// --- generation ---------------------------------------------------------------------------------

TEST(Epid, GeneratedEpidsValidateForEveryHostBuildAndCsvlk) {
  std::mt19937_64 rng(20261125);
  std::set<std::string> distinct;
  for (const HostBuild& h : host_builds()) {
    for (std::size_t ci = 0; ci < csvlks().size(); ++ci) {
      for (int i = 0; i < 25; ++i) {
        const EpidRequest req{h.build, 1033, ci, kCaptureDay};
        auto e = generate_epid(req, rng);
        ASSERT_TRUE(e) << h.build << "/" << ci << ": " << e.error().message();
        const std::string text = e->to_string();
        const auto v = validate_epid(*e, kCaptureDay);
        EXPECT_TRUE(v.findings.empty()) << text << "\n" << findings_text(v);
        ASSERT_NE(v.csvlk, nullptr);
        EXPECT_EQ(v.csvlk, &csvlks()[ci]) << text;
        EXPECT_EQ(v.host, &h) << text;
        auto round = parse_epid(text);
        ASSERT_TRUE(round) << text;
        EXPECT_EQ(*round, *e) << text;
        distinct.insert(text);
      }
    }
  }
  EXPECT_GT(distinct.size(), 800u);  // 900 draws from ranges of millions: nearly all differ
}

TEST(Epid, GenerationIsDeterministicPerSeed) {
  const EpidRequest req{14393, 1056, 0, kCaptureDay};
  std::mt19937_64 a(7), b(7), c(8);
  const auto ea = generate_epid(req, a);
  const auto eb = generate_epid(req, b);
  const auto ec = generate_epid(req, c);
  ASSERT_TRUE(ea && eb && ec);
  EXPECT_EQ(*ea, *eb);
  EXPECT_NE(*ea, *ec);
  EXPECT_EQ(ea->platform_id, 3612u);
  EXPECT_EQ(ea->lcid, 1056u);
}

TEST(Epid, GenerationRespectsTheEarliestDate) {
  // Windows CSVLK 2018-10-02, host 17763 2018-10-02: with now on that day the date is fixed.
  std::mt19937_64 rng(1);
  const sys_days release{year{2018} / October / 2};
  const auto e = generate_epid({17763, 1033, 0, release}, rng);
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(epid_date(*e), Date{release});
  EXPECT_EQ(e->day_of_year, 275u);
  const auto early = generate_epid({17763, 1033, 0, release - days{1}}, rng);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::bad_value);
}

TEST(Epid, GenerationRejectsBadRequests) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(generate_epid({10240, 1033, 0, kCaptureDay}, rng).error().code, Errc::bad_value);
  EXPECT_EQ(generate_epid({14393, 1033, csvlks().size(), kCaptureDay}, rng).error().code, Errc::bad_value);
  EXPECT_EQ(generate_epid({14393, 0, 0, kCaptureDay}, rng).error().code, Errc::bad_value);
  EXPECT_EQ(generate_epid({14393, 0x10000, 0, kCaptureDay}, rng).error().code, Errc::bad_value);
}

TEST(Epid, CommonLcidsAreSortedAndTagged) {
  const auto lcids = common_lcids();
  ASSERT_FALSE(lcids.empty());
  EXPECT_TRUE(std::is_sorted(lcids.begin(), lcids.end()));
  for (auto l : lcids) EXPECT_FALSE(lcid_tag(l).empty()) << l;
  EXPECT_EQ(lcid_tag(1033), "en-US");
  EXPECT_EQ(lcid_tag(1056), "ur-PK");
  EXPECT_EQ(lcid_tag(1102), "mr-IN");
  EXPECT_TRUE(lcid_tag(12345).empty());
}

}  // namespace
}  // namespace kmslab::protocol
