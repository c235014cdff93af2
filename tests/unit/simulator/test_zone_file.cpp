// BIND zone files for `kmslab serve --zone`: directives, relative names, parentheses, unsupported
// types listed, and file:line errors.
#include "kmslab/simulator/zone_file.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

constexpr const char* kZone = R"($ORIGIN corp.example.
$TTL 1h
@   IN  SOA ns1 hostmaster (
        2024010101 ; serial
        3600 600 86400
        300 )     ; minimum
    IN  NS  ns1
ns1         A   192.0.2.53
kms1   600  IN  A     127.0.0.1
            IN  AAAA  ::1
kms2.corp.example.  IN 300 A 127.0.0.2
_vlmcs._tcp  SRV 0 100 1688 kms1
_vlmcs._tcp  SRV 10 50 1688 kms2.corp.example.
@           TXT "kmslab lab zone; test only" second
@           MX  10 mail      ; not loaded
www         CNAME kms1
$ORIGIN branch.corp.example.
_vlmcs._tcp SRV 0 100 1688 kms1.corp.example.
)";

const DnsRecordSpec* find(const ZoneFile& z, std::string_view name, std::string_view type, std::size_t nth = 0) {
  for (const auto& r : z.zone.records)
    if (r.name == name && r.type == type && nth-- == 0) return &r;
  return nullptr;
}

TEST(ZoneFile, ParsesDirectivesRelativeNamesParenthesesAndComments) {
  auto z = parse_zone_file(kZone, "db.corp.example");
  ASSERT_TRUE(z) << z.error().format();
  EXPECT_EQ(z->zone.origin, "corp.example");
  EXPECT_TRUE(z->has_soa);
  EXPECT_EQ(z->zone.soa_mname, "ns1.corp.example.");
  EXPECT_EQ(z->zone.soa_rname, "hostmaster.corp.example.");
  EXPECT_EQ(z->zone.soa_serial, 2024010101u);
  EXPECT_EQ(z->zone.soa_minimum, 300u);
  EXPECT_EQ(z->zone.ttl, 3600u);
  const auto* ns = find(*z, "corp.example.", "NS");
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(ns->target, "ns1.corp.example.");
  const auto* a = find(*z, "kms1.corp.example.", "A");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->ttl, 600u);
  const auto* aaaa = find(*z, "kms1.corp.example.", "AAAA");  // blank owner: the previous one
  ASSERT_NE(aaaa, nullptr);
  EXPECT_EQ(aaaa->address, "::1");
  EXPECT_EQ(find(*z, "kms2.corp.example.", "A")->ttl, 300u);  // class before TTL
  const auto* srv = find(*z, "_vlmcs._tcp.corp.example.", "SRV");
  ASSERT_NE(srv, nullptr);
  EXPECT_EQ(srv->priority, 0);
  EXPECT_EQ(srv->weight, 100);
  EXPECT_EQ(srv->port, 1688);
  EXPECT_EQ(srv->target, "kms1.corp.example.");
  EXPECT_EQ(srv->ttl, 3600u);
  EXPECT_EQ(find(*z, "_vlmcs._tcp.corp.example.", "SRV", 1)->priority, 10);
  const auto* txt = find(*z, "corp.example.", "TXT");
  ASSERT_NE(txt, nullptr);
  EXPECT_EQ(txt->text, (std::vector<std::string>{"kmslab lab zone; test only", "second"}));
  EXPECT_EQ(find(*z, "www.corp.example.", "CNAME")->target, "kms1.corp.example.");
  EXPECT_NE(find(*z, "_vlmcs._tcp.branch.corp.example.", "SRV"), nullptr);
  ASSERT_EQ(z->unsupported.size(), 1u);
  EXPECT_EQ(z->unsupported[0].type, "MX");
  EXPECT_EQ(z->unsupported[0].line, 15);
  EXPECT_EQ(z->record_lines.size(), z->zone.records.size());
}

TEST(ZoneFile, OriginFromCallerWithoutSoa) {
  auto z = parse_zone_file("_vlmcs._tcp 300 IN SRV 0 0 1688 kms1\nkms1 A 10.0.0.1\n", "x", "lab.example");
  ASSERT_TRUE(z) << z.error().format();
  EXPECT_EQ(z->zone.origin, "lab.example");
  EXPECT_FALSE(z->has_soa);
  EXPECT_EQ(z->zone.soa_mname, "ns1.lab.example");
  EXPECT_EQ(z->zone.records.size(), 2u);
}

TEST(ZoneFile, TtlUnits) {
  EXPECT_EQ(parse_zone_ttl("3600"), 3600u);
  EXPECT_EQ(parse_zone_ttl("1h30m"), 5400u);
  EXPECT_EQ(parse_zone_ttl("1W"), 604800u);
  EXPECT_EQ(parse_zone_ttl("2d"), 172800u);
  EXPECT_FALSE(parse_zone_ttl(""));
  EXPECT_FALSE(parse_zone_ttl("h"));
  EXPECT_FALSE(parse_zone_ttl("1x"));
  EXPECT_FALSE(parse_zone_ttl("4294967296"));
}

struct BadZone {
  const char* text;
  int line;
  const char* words;
};

TEST(ZoneFile, ErrorsNameFileAndLine) {
  const BadZone cases[] = {
      {"$ORIGIN corp.example.\nkms1 A 300.1.2.3\n", 2, "A data"},
      {"$ORIGIN corp.example.\n_vlmcs._tcp SRV 0 100 kms1\n", 2, "SRV data"},
      {"kms1 A 127.0.0.1\n", 1, "no origin"},
      {"$ORIGIN corp.example.\n@ SOA ns1 hm ( 1 2 3 4 5\n", 2, "never closed"},
      {"$ORIGIN corp.example.\nkms1 A 127.0.0.1 )\n", 2, "without a matching"},
      {"$ORIGIN corp.example.\n@ TXT \"open\n", 2, "unterminated"},
      {"$ORIGIN corp.example.\n$INCLUDE other.zone\n", 2, "not supported"},
      {"$ORIGIN corp.example.\n$TTL soon\n", 2, "$TTL"},
      {"$ORIGIN corp.example.\nkms1 CH A 127.0.0.1\n", 2, "only IN"},
      {"$ORIGIN corp.example.\nkms1 BOGUS 127.0.0.1\n", 2, "not a record type"},
      {"$ORIGIN corp.example.\nkms1.other.example. A 127.0.0.1\n", 2, "outside the zone"},
      {"$ORIGIN corp.example.\n@ SOA a b 1 2 3 4 5\n@ SOA a b 1 2 3 4 5\n", 3, "second SOA"},
      {"  A 127.0.0.1\n", 1, "previous owner"},
      {"$ORIGIN corp.example.\nkms1 A\n", 2, "without data"},
      {"$BOGUS x\n", 1, "unknown directive"},
  };
  for (const auto& c : cases) {
    auto z = parse_zone_file(c.text, "db.test");
    ASSERT_FALSE(z) << c.text;
    EXPECT_EQ(z.error().file, "db.test");
    EXPECT_EQ(z.error().line, c.line) << c.text << " -> " << z.error().format();
    EXPECT_NE(z.error().format().find(c.words), std::string::npos) << z.error().format();
  }
}

TEST(ZoneFile, LoadMissingFileIsAnError) {
  auto z = load_zone_file("/nonexistent/db.corp.example");
  ASSERT_FALSE(z);
  EXPECT_NE(z.error().format().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace kmslab::simulator
