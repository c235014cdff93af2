// BIND zone files for `kmslab serve --zone`: directives, relative names, parentheses, unsupported
// types listed, and file:line errors.
#include "kmslab/simulator/zone_file.hpp"

#include "kmslab/protocol/dns_text.hpp"

#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

namespace dns = protocol::dns;

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

// RFC 3597 generic rdata ("\# <length> <hex>") is the type's own wire rdata: each loaded type
// reads it into the same typed value as its usual presentation form.
TEST(ZoneFile, GenericRdataIsReadAsTheTypedRecordForEveryLoadedType) {
  constexpr const char* kGeneric = R"($ORIGIN corp.example.
@ IN SOA \# 63 036e733104636f7270076578616d706c65000a686f73746d617374657204636f7270076578616d706c65000000000700000e1000000258000151800000012c
@ NS \# 19 046b6d733104636f7270076578616d706c6500
kms1 A \# 4 7f000001
kms1 AAAA \# 16 00000000000000000000000000000001
_vlmcs._tcp SRV \# 25 000000640698046b6d733104636f7270076578616d706c6500
@ TXT \# 12 0568656c6c6f05776f726c64
www CNAME \# 19 046b6d733104636f7270076578616d706c6500
kms2 TYPE1 \# 4 7f000002
)";
  auto z = parse_zone_file(kGeneric, "db.generic");
  ASSERT_TRUE(z) << z.error().format();
  EXPECT_TRUE(z->has_soa);
  EXPECT_EQ(z->zone.soa_mname, "ns1.corp.example.");
  EXPECT_EQ(z->zone.soa_rname, "hostmaster.corp.example.");
  EXPECT_EQ(z->zone.soa_serial, 7u);
  EXPECT_EQ(z->zone.soa_minimum, 300u);
  auto typed = [&](std::string_view name, std::string_view type, std::string_view presentation) {
    const auto* r = find(*z, name, type);
    ASSERT_NE(r, nullptr) << name << " " << type;
    ASSERT_TRUE(r->rdata.has_value()) << name << " " << type;
    auto expected = dns::parse_rdata(*dns::parse_type(type), presentation, *dns::Name::parse("corp.example."));
    ASSERT_TRUE(expected) << presentation;
    EXPECT_EQ(dns::format_rdata(*r->rdata), dns::format_rdata(*expected)) << name << " " << type;
  };
  typed("corp.example.", "NS", "kms1");
  typed("kms1.corp.example.", "A", "127.0.0.1");
  typed("kms1.corp.example.", "AAAA", "::1");
  typed("_vlmcs._tcp.corp.example.", "SRV", "0 100 1688 kms1");
  typed("corp.example.", "TXT", "hello world");
  typed("www.corp.example.", "CNAME", "kms1");
  typed("kms2.corp.example.", "A", "127.0.0.2");  // TYPE1 is A (RFC 3597 §5)
  EXPECT_EQ(find(*z, "_vlmcs._tcp.corp.example.", "SRV")->port, 1688);
  EXPECT_EQ(find(*z, "corp.example.", "TXT")->text, (std::vector<std::string>{"hello", "world"}));
  EXPECT_EQ(find(*z, "www.corp.example.", "CNAME")->target, "kms1.corp.example.");
  EXPECT_EQ(find(*z, "kms1.corp.example.", "A")->address, "127.0.0.1");
  EXPECT_TRUE(z->unsupported.empty());
}

// Every record keeps the rdata it was parsed into; nothing downstream parses the text again.
TEST(ZoneFile, EveryLoadedRecordCarriesItsTypedRdata) {
  auto z = parse_zone_file(kZone, "db.corp.example");
  ASSERT_TRUE(z) << z.error().format();
  for (const auto& r : z->zone.records) {
    ASSERT_TRUE(r.rdata.has_value()) << r.name << " " << r.type;
    EXPECT_EQ(dns::type_of(*r.rdata), dns::parse_type(r.type)) << r.name << " " << r.type;
  }
  // A quoted TXT string with spaces stays one string.
  EXPECT_EQ(std::get<dns::TxtData>(*find(*z, "corp.example.", "TXT")->rdata).strings.front(),
            "kmslab lab zone; test only");
}

struct LocatedBadZone {
  const char* text;
  int line;
  int column;
  const char* words;
};

TEST(ZoneFile, MalformedGenericRdataAndEdgeCasesAreLocatedErrors) {
  const std::string big_txt = [] {
    std::string s = "$ORIGIN corp.example.\nbig TXT";
    for (int i = 0; i < 300; ++i) s += " \"" + std::string(250, 'x') + "\"";
    return s + "\n";
  }();
  const LocatedBadZone cases[] = {
      {"$ORIGIN corp.example.\n@ IN SOA \\# 0\n", 2, 10, "SOA data"},
      {"$ORIGIN corp.example.\n_vlmcs._tcp SRV \\# 3 000001\n", 2, 17, "SRV data"},
      {"$ORIGIN corp.example.\nkms1 A \\# 3 7f0000\n", 2, 8, "A data"},
      {"$ORIGIN corp.example.\nwww CNAME \\# 2 0100\n", 2, 11, "CNAME data"},
      {"$ORIGIN corp.example.\nkms TXT \\# 0\n", 2, 9, "no character-string"},
      {"$ORIGIN corp.example.\nkms1 A \\# 4 7f0000zz\n", 2, 13, "A data"},
      {"$ORIGIN corp.example.\nkms1 \"\" A 127.0.0.1\n", 2, 6, "not a record type"},
      {"$ORIGIN corp.example.\n\"\" A 127.0.0.1\n", 2, 1, "owner"},
      {"$ORIGIN corp.example.\nkms1 A 300.1.2.3\n", 2, 8, "not an IPv4 address"},
      {"$ORIGIN corp.example.\n@ SOA ns1 hm (\n  1 2 x 4 5 )\n", 3, 7, "SOA"},
      {"$ORIGIN corp.example.\n@ SOA ns1 hm ( 1 2 3 4 5\n", 2, 14, "never closed"},
      {"$ORIGIN .\nkms1 A 127.0.0.1\n", 2, 1, "root"},
      {"$ORIGIN .\n", 1, 1, "no zone apex"},
      {"$ORIGIN .\n@ SOA a. b. 1 2 3 4 5\n", 2, 1, "root"},
      {"$ORIGIN corp.example.\nkms1 A 127.0.0.1\nother.example. A 127.0.0.1\n", 3, 1, "outside the zone"},
      {big_txt.c_str(), 2, 9, "at most"},
      {"$ORIGIN corp.example.\nwww A 127.0.0.1\n  CNAME kms1\n", 3, 1, "CNAME"},
      {"$ORIGIN corp.example.\nwww CNAME kms1\nWWW A 127.0.0.1\n", 3, 1, "CNAME"},
      {"$ORIGIN corp.example.\nwww CNAME kms1\nwww CNAME kms2\n", 3, 1, "CNAME"},
      {"$ORIGIN corp.example.\nkms1 A 127.0.0.1\n@ CNAME kms1\n", 3, 1, "CNAME"},
  };
  for (const auto& c : cases) {
    auto z = parse_zone_file(c.text, "db.test");
    ASSERT_FALSE(z) << c.text;
    EXPECT_EQ(z.error().file, "db.test");
    EXPECT_EQ(z.error().line, c.line) << c.text << " -> " << z.error().format();
    EXPECT_EQ(z.error().column, c.column) << c.text << " -> " << z.error().format();
    EXPECT_NE(z.error().format().find(c.words), std::string::npos) << z.error().format();
  }
}

// The same CNAME twice is one record (as the responder's zone keeps it), not a clash.
TEST(ZoneFile, RepeatedCnameIsNotAClash) {
  auto z = parse_zone_file("$ORIGIN corp.example.\nwww CNAME kms1\nWWW CNAME KMS1\n", "db.test");
  ASSERT_TRUE(z) << z.error().format();
}

// An export made by BIND's tools starts with "$ORIGIN ." and names the apex in full.
TEST(ZoneFile, RootOriginWithAnAbsoluteSoaIsAccepted) {
  auto z = parse_zone_file("$ORIGIN .\ncorp.example 300 IN SOA ns1.corp.example. hm.corp.example. 1 2 3 4 5\n"
                           "$ORIGIN corp.example.\nkms1 A 127.0.0.1\n", "db.bind");
  ASSERT_TRUE(z) << z.error().format();
  EXPECT_EQ(z->zone.origin, "corp.example");
  EXPECT_NE(find(*z, "kms1.corp.example.", "A"), nullptr);
}

TEST(ZoneFile, LoadMissingFileIsAnError) {
  auto z = load_zone_file("/nonexistent/db.corp.example");
  ASSERT_FALSE(z);
  EXPECT_NE(z.error().format().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace kmslab::simulator
