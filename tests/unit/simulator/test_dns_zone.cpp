// Zone model and lookup semantics (pure: no sockets).
#include "dns_fixtures.hpp"
#include "kmslab/protocol/dns_text.hpp"
#include "kmslab/simulator/dns_zone.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace kmslab::simulator {
namespace {

using dns::Rcode;
using dns::Type;

using test::N;

std::vector<std::string> shown(const std::vector<dns::ResourceRecord>& rrs) {
  std::vector<std::string> out;
  for (const auto& rr : rrs) out.push_back(dns::to_string(rr));
  return out;
}

class ZoneLookup : public ::testing::Test {
 protected:
  ZoneSet zones = test::corp_zones();
  LookupResult find(std::string_view name, Type type) { return lookup(zones, N(name), type); }
};

TEST_F(ZoneLookup, SrvAnswerCarriesTargetAddressesInAdditional) {
  const auto r = find("_vlmcs._tcp.corp.example", Type::srv);
  EXPECT_EQ(r.rcode, Rcode::noerror);
  EXPECT_TRUE(r.authoritative);
  EXPECT_EQ(shown(r.answers), (std::vector<std::string>{
                                  "_vlmcs._tcp.corp.example. 300 IN SRV 0 100 1688 kms1.corp.example.",
                                  "_vlmcs._tcp.corp.example. 300 IN SRV 10 50 1689 kms2.corp.example.",
                                  "_vlmcs._tcp.corp.example. 300 IN SRV 20 0 1688 kms3.elsewhere.example.",
                              }));
  EXPECT_TRUE(r.authority.empty());
  // kms3 lies outside every zone: no address for it.
  EXPECT_EQ(shown(r.additional), (std::vector<std::string>{
                                     "kms1.corp.example. 300 IN A 127.0.0.1",
                                     "kms1.corp.example. 300 IN AAAA ::1",
                                     "kms2.corp.example. 300 IN A 127.0.0.2",
                                 }));
}

TEST_F(ZoneLookup, NxdomainCarriesSoaWithNegativeTtl) {
  const auto r = find("nope.corp.example", Type::srv);
  EXPECT_EQ(r.rcode, Rcode::nxdomain);
  EXPECT_TRUE(r.authoritative);
  EXPECT_TRUE(r.answers.empty());
  ASSERT_EQ(r.authority.size(), 1u);
  EXPECT_EQ(dns::to_string(r.authority[0]),
            "corp.example. 60 IN SOA ns1.corp.example. hostmaster.corp.example. 1 3600 600 86400 60");
}

TEST_F(ZoneLookup, NodataWhenTheNameExistsWithoutThatType) {
  const auto r = find("kms1.corp.example", Type::txt);
  EXPECT_EQ(r.rcode, Rcode::noerror);
  EXPECT_TRUE(r.authoritative);
  EXPECT_TRUE(r.answers.empty());
  ASSERT_EQ(r.authority.size(), 1u);
  EXPECT_EQ(r.authority[0].type, Type::soa);
  // _vlmcs._tcp exists, so asking it for A is NODATA too (what `dns.srv_nodata` is about).
  EXPECT_EQ(find("_vlmcs._tcp.corp.example", Type::a).rcode, Rcode::noerror);
}

TEST_F(ZoneLookup, EmptyNonTerminalIsNodataNotNxdomain) {
  const auto r = find("_tcp.corp.example", Type::srv);
  EXPECT_EQ(r.rcode, Rcode::noerror);
  EXPECT_TRUE(r.answers.empty());
  EXPECT_EQ(r.authority.size(), 1u);
  EXPECT_EQ(find("_udp.corp.example", Type::srv).rcode, Rcode::nxdomain);
}

TEST_F(ZoneLookup, NamesAreCaseInsensitive) {
  const auto r = find("_VLMCS._Tcp.CORP.example", Type::srv);
  EXPECT_EQ(r.rcode, Rcode::noerror);
  EXPECT_EQ(r.answers.size(), 3u);
  EXPECT_EQ(r.additional.size(), 3u);
}

TEST_F(ZoneLookup, RefusedOutsideEveryZone) {
  const auto r = find("_vlmcs._tcp.other.example", Type::srv);
  EXPECT_EQ(r.rcode, Rcode::refused);
  EXPECT_FALSE(r.authoritative);
  EXPECT_TRUE(r.answers.empty());
  EXPECT_TRUE(r.authority.empty());
  EXPECT_EQ(find("example", Type::soa).rcode, Rcode::refused);  // the parent is not ours
}

TEST_F(ZoneLookup, ApexAnswersSoaNsAndAny) {
  EXPECT_EQ(find("corp.example", Type::soa).answers.size(), 1u);
  const auto ns = find("corp.example", Type::ns);
  ASSERT_EQ(ns.answers.size(), 1u);
  EXPECT_EQ(shown(ns.additional), (std::vector<std::string>{"ns1.corp.example. 3600 IN A 127.0.0.53"}));
  const auto any = find("kms1.corp.example", Type::any);
  EXPECT_EQ(any.answers.size(), 2u);
  EXPECT_TRUE(any.additional.empty());
}

TEST_F(ZoneLookup, CnameIsFollowedInsideTheZones) {
  const auto r = find("www.corp.example", Type::a);
  EXPECT_EQ(shown(r.answers), (std::vector<std::string>{
                                  "www.corp.example. 300 IN CNAME kms1.corp.example.",
                                  "kms1.corp.example. 300 IN A 127.0.0.1",
                              }));
  EXPECT_EQ(find("www.corp.example", Type::cname).answers.size(), 1u);
  const auto dangling = find("alias.corp.example", Type::a);  // RFC 6604: the target's rcode
  EXPECT_EQ(dangling.rcode, Rcode::nxdomain);
  EXPECT_EQ(dangling.answers.size(), 1u);
  EXPECT_EQ(dangling.authority.size(), 1u);
  LookupOptions no_follow;
  no_follow.follow_cname = false;
  const auto plain = lookup(zones, N("www.corp.example"), Type::a, no_follow);
  EXPECT_EQ(plain.rcode, Rcode::noerror);
  EXPECT_TRUE(plain.answers.empty());
}

TEST_F(ZoneLookup, CnameLoopsAreBounded) {
  Zone& z = *zones.find(N("corp.example"));
  ASSERT_TRUE(z.add(dns::ResourceRecord::make(N("a.corp.example"), 1, dns::CnameData{N("b.corp.example")})));
  ASSERT_TRUE(z.add(dns::ResourceRecord::make(N("b.corp.example"), 1, dns::CnameData{N("a.corp.example")})));
  const auto r = find("a.corp.example", Type::a);
  EXPECT_EQ(r.answers.size(), LookupOptions{}.max_cname_chain);
}

TEST_F(ZoneLookup, LongestApexWins) {
  DnsZoneConfig sub;
  sub.apex = "lab.corp.example";
  sub.soa.minimum = 5;
  sub.records = {{"_vlmcs._tcp", "SRV", 60, "0 0 1688 kms1.corp.example."}};
  zones.add(Zone::from_config(sub).value());
  const auto r = find("_vlmcs._tcp.lab.corp.example", Type::srv);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.additional.size(), 2u);  // the target's addresses come from the parent zone
  const auto nx = find("x.lab.corp.example", Type::a);
  ASSERT_EQ(nx.authority.size(), 1u);
  EXPECT_EQ(nx.authority[0].name, N("lab.corp.example"));
  EXPECT_EQ(nx.authority[0].ttl, 5u);
}

// A large zone: lookups are indexed by name and type, so the records a query looks at are those
// it answers with (plus the SOA of a negative answer), however many the zone holds.
TEST(ZoneIndex, LookupWorkDoesNotGrowWithTheZone) {
  constexpr int kNames = 2000;
  Zone zone(N("big.example"), dns::SoaData{N("ns1.big.example"), N("hm.big.example"), 1, 2, 3, 4, 60}, 300);
  for (int i = 0; i < kNames; ++i) {
    auto owner = N(fmt::format("host{}.site{}.big.example", i, i % 10));
    ASSERT_TRUE(zone.add(dns::ResourceRecord::make(owner, 300, *dns::parse_rdata(Type::a, "192.0.2.1"))));
  }
  // One name with many records of one type beside a single record of another.
  for (int i = 0; i < 500; ++i)
    ASSERT_TRUE(zone.add(dns::ResourceRecord::make(N("busy.big.example"), 300,
                                                   dns::TxtData{{fmt::format("entry {}", i)}})));
  ASSERT_TRUE(zone.add(dns::ResourceRecord::make(N("busy.big.example"), 300, *dns::parse_rdata(Type::a, "192.0.2.9"))));
  ZoneSet zones;
  zones.add(std::move(zone));

  const auto hit = lookup(zones, N("host1234.site4.big.example"), Type::a);
  EXPECT_EQ(hit.rcode, Rcode::noerror);
  EXPECT_EQ(hit.answers.size(), 1u);
  EXPECT_LE(hit.examined, 1u);
  const auto busy_a = lookup(zones, N("busy.big.example"), Type::a);
  EXPECT_EQ(busy_a.answers.size(), 1u);
  EXPECT_LE(busy_a.examined, 1u) << "the 500 TXT records beside it are not looked at";
  const auto nxdomain = lookup(zones, N("nobody.site3.big.example"), Type::a);
  EXPECT_EQ(nxdomain.rcode, Rcode::nxdomain);
  EXPECT_LE(nxdomain.examined, 1u);
  const auto empty_non_terminal = lookup(zones, N("site3.big.example"), Type::a);
  EXPECT_EQ(empty_non_terminal.rcode, Rcode::noerror);
  EXPECT_TRUE(empty_non_terminal.answers.empty());
  EXPECT_LE(empty_non_terminal.examined, 1u);
  const auto nodata = lookup(zones, N("host7.site7.big.example"), Type::srv);
  EXPECT_EQ(nodata.rcode, Rcode::noerror);
  EXPECT_TRUE(nodata.answers.empty());
  EXPECT_LE(nodata.examined, 1u);
}

// The index follows removals: a name whose records all went is gone, and so is the empty
// non-terminal above it once nothing lies below.
TEST(ZoneIndex, RemovalUpdatesNamesAndEmptyNonTerminals) {
  Zone zone(N("idx.example"), dns::SoaData{N("ns1.idx.example"), N("hm.idx.example"), 1, 2, 3, 4, 60}, 300);
  ASSERT_TRUE(zone.add(dns::ResourceRecord::make(N("a.b.idx.example"), 300, *dns::parse_rdata(Type::a, "192.0.2.1"))));
  ASSERT_TRUE(zone.add(dns::ResourceRecord::make(N("a.b.idx.example"), 300, *dns::parse_rdata(Type::aaaa, "::1"))));
  EXPECT_TRUE(zone.has_name(N("b.idx.example")));
  EXPECT_EQ(zone.size(), 3u);
  EXPECT_EQ(zone.remove(N("a.b.idx.example"), Type::a), 1u);
  EXPECT_TRUE(zone.has_name(N("b.idx.example")));
  EXPECT_EQ(zone.remove(N("a.b.idx.example")), 1u);
  EXPECT_FALSE(zone.has_name(N("a.b.idx.example")));
  EXPECT_FALSE(zone.has_name(N("b.idx.example")));
  EXPECT_TRUE(zone.has_name(N("idx.example")));
  EXPECT_EQ(zone.size(), 1u);
}

TEST(Zone, AddEnforcesZoneRules) {
  Zone z(N("corp.example"), dns::SoaData{N("ns1.corp.example"), N("h.corp.example"), 1, 2, 3, 4, 5}, 60);
  EXPECT_EQ(z.size(), 1u);
  EXPECT_EQ(z.add(dns::ResourceRecord::make(N("kms.other.example"), 1, dns::AData{})).error().code,
            protocol::Errc::bad_value);
  ASSERT_TRUE(z.add(dns::ResourceRecord::make(N("kms1.corp.example"), 1, dns::AData{{1, 2, 3, 4}})));
  ASSERT_TRUE(z.add(dns::ResourceRecord::make(N("KMS1.corp.example"), 1, dns::AData{{1, 2, 3, 4}})));
  EXPECT_EQ(z.size(), 2u);  // the duplicate is not added twice
  EXPECT_FALSE(z.add(dns::ResourceRecord::make(N("kms1.corp.example"), 1, dns::CnameData{N("x.corp.example")})));
  ASSERT_TRUE(z.add(dns::ResourceRecord::make(N("www.corp.example"), 1, dns::CnameData{N("kms1.corp.example")})));
  EXPECT_FALSE(z.add(dns::ResourceRecord::make(N("www.corp.example"), 1, dns::AData{})));
  EXPECT_FALSE(z.add(dns::ResourceRecord::make(N("www.corp.example"), 1, dns::CnameData{N("kms2.corp.example")})));
  EXPECT_FALSE(z.add(dns::ResourceRecord::make(N("corp.example"), 1, dns::SoaData{})));
  dns::ResourceRecord chaos = dns::ResourceRecord::make(N("corp.example"), 1, dns::TxtData{{"x"}});
  chaos.rclass = dns::Class::ch;
  EXPECT_FALSE(z.add(chaos));
  dns::ResourceRecord opt;
  opt.name = N("corp.example");
  opt.type = Type::opt;
  opt.data = dns::RawData{};
  EXPECT_EQ(z.add(opt).error().code, protocol::Errc::bad_type);
}

TEST(Zone, RemoveKeepsTheSoa) {
  auto zones = test::corp_zones();
  Zone& z = *zones.find(N("corp.example"));
  EXPECT_EQ(z.remove(N("kms1.corp.example"), Type::aaaa), 1u);
  EXPECT_EQ(z.records_at(N("kms1.corp.example")).size(), 1u);
  EXPECT_EQ(z.remove(N("_vlmcs._tcp.corp.example")), 3u);
  EXPECT_EQ(lookup(zones, N("_vlmcs._tcp.corp.example"), Type::srv).rcode, Rcode::nxdomain);
  EXPECT_EQ(z.remove(N("corp.example")), 1u);  // the NS went, the SOA stays
  EXPECT_EQ(lookup(zones, N("corp.example"), Type::soa).answers.size(), 1u);
  EXPECT_TRUE(zones.remove(N("corp.example")));
  EXPECT_EQ(lookup(zones, N("corp.example"), Type::soa).rcode, Rcode::refused);
}

TEST(Zone, FromConfigNamesTheBadRecord) {
  auto config = test::corp_zone_config();
  config.records.push_back({"kms9", "A", 300, "not-an-address"});
  auto bad = Zone::from_config(config);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, protocol::Errc::bad_value);
  EXPECT_NE(bad.error().detail.find("kms9 A"), std::string::npos) << bad.error().detail;
  config.records.back() = {"kms9", "BOGUS", 300, "x"};
  EXPECT_EQ(Zone::from_config(config).error().code, protocol::Errc::bad_type);
  config.records.back() = {"kms9.other.example.", "A", 300, "127.0.0.9"};
  EXPECT_EQ(Zone::from_config(config).error().code, protocol::Errc::bad_value);
  config.records.pop_back();
  config.apex = "bad..apex";
  EXPECT_FALSE(Zone::from_config(config));
}

TEST(ZoneSet, FromConfigBuildsEveryZoneAndRejectsDuplicates) {
  DnsZoneConfig lab;
  lab.apex = "lab.example";
  lab.records = {{"_vlmcs._tcp", "SRV", 60, "0 0 1688 kms1.corp.example."}};
  std::vector<DnsZoneConfig> configs = {test::corp_zone_config(), lab};
  auto zones = ZoneSet::from_config(configs);
  ASSERT_TRUE(zones) << zones.error().message();
  EXPECT_EQ(zones->zones().size(), 2u);
  EXPECT_EQ(lookup(*zones, N("_vlmcs._tcp.lab.example"), Type::srv).additional.size(), 2u);
  configs.push_back(lab);
  auto twice = ZoneSet::from_config(configs);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().offset, 2u);
  configs.back().records.push_back({"x", "A", 1, "bad"});
  EXPECT_EQ(ZoneSet::from_config(configs).error().code, protocol::Errc::bad_value);
}

}  // namespace
}  // namespace kmslab::simulator
