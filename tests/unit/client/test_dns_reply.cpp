#include "kmslab/client/dns_reply.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace kmslab::client {
namespace {

using protocol::ByteWriter;
using protocol::Bytes;
using protocol::Errc;

void put_name(ByteWriter& w, std::string_view dotted) {
  while (!dotted.empty()) {
    const auto dot = dotted.find('.');
    const auto label = dotted.substr(0, dot);
    w.u8(static_cast<std::uint8_t>(label.size()));
    for (char c : label) w.u8(static_cast<std::uint8_t>(c));
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
  }
  w.u8(0);
}

void put_pointer(ByteWriter& w, std::uint16_t offset) { w.u16_be(static_cast<std::uint16_t>(0xc000 | offset)); }

void put_header(ByteWriter& w, std::uint16_t flags, std::uint16_t qd, std::uint16_t an, std::uint16_t ns,
                std::uint16_t ar, std::uint16_t id = 0x1234) {
  w.u16_be(id);
  w.u16_be(flags);
  w.u16_be(qd);
  w.u16_be(an);
  w.u16_be(ns);
  w.u16_be(ar);
}

// Record header after the owner name; returns the offset of rdlength for patching.
std::size_t put_rr_fixed(ByteWriter& w, std::uint16_t type, std::uint32_t ttl, std::uint16_t rdlength) {
  w.u16_be(type);
  w.u16_be(kDnsClassIn);
  w.u32_be(ttl);
  const auto at = w.size();
  w.u16_be(rdlength);
  return at;
}

constexpr std::uint16_t kResponseFlags = 0x8580;  // QR AA RD RA, NOERROR

// _vlmcs._tcp.corp.test SRV: two SRV answers, additional A + AAAA, names compressed.
Bytes srv_reply() {
  ByteWriter w;
  put_header(w, kResponseFlags, 1, 2, 0, 2);
  put_name(w, "_vlmcs._tcp.corp.test");  // at 12; "corp.test" starts at 12 + 7 + 5 = 24
  w.u16_be(kDnsTypeSrv);
  w.u16_be(kDnsClassIn);
  // answer 1: priority 0 weight 100 port 1688 target kms1.<ptr corp.test>
  put_pointer(w, 12);
  put_rr_fixed(w, kDnsTypeSrv, 600, 6 + 1 + 4 + 2);
  w.u16_be(0);
  w.u16_be(100);
  w.u16_be(1688);
  const auto kms1_at = static_cast<std::uint16_t>(w.size());
  w.u8(4);
  for (char c : std::string_view("kms1")) w.u8(static_cast<std::uint8_t>(c));
  put_pointer(w, 24);
  // answer 2: priority 10 weight 5 port 1689 target kms2.corp.test uncompressed
  put_pointer(w, 12);
  put_rr_fixed(w, kDnsTypeSrv, 300, 6 + 16);
  w.u16_be(10);
  w.u16_be(5);
  w.u16_be(1689);
  put_name(w, "kms2.corp.test");
  // additional: kms1 A 127.0.0.2, kms1 AAAA ::1
  put_pointer(w, kms1_at);
  put_rr_fixed(w, kDnsTypeA, 60, 4);
  for (int b : {127, 0, 0, 2}) w.u8(static_cast<std::uint8_t>(b));
  put_pointer(w, kms1_at);
  put_rr_fixed(w, kDnsTypeAaaa, 0x80000000u, 16);  // TTL with the top bit set reads as 0
  w.zeros(15);
  w.u8(1);
  return std::move(w).take();
}

TEST(DnsReply, DecodesSrvAnswerWithCompressionAndAdditionalAddresses) {
  const auto bytes = srv_reply();
  auto reply = parse_dns_reply(bytes);
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(reply->id, 0x1234);
  EXPECT_EQ(reply->rcode, kRcodeNoError);
  EXPECT_TRUE(reply->authoritative);
  EXPECT_FALSE(reply->truncated);
  EXPECT_TRUE(reply->recursion_desired);
  EXPECT_TRUE(reply->recursion_available);
  EXPECT_EQ(reply->question_name, "_vlmcs._tcp.corp.test");
  EXPECT_EQ(reply->question_type, kDnsTypeSrv);
  ASSERT_EQ(reply->records.size(), 4u);

  const auto srv = reply->answers_of_type(kDnsTypeSrv);
  ASSERT_EQ(srv.size(), 2u);
  EXPECT_EQ(srv[0]->name, "_vlmcs._tcp.corp.test");
  EXPECT_EQ(srv[0]->ttl, 600u);
  EXPECT_EQ(std::get<DnsSrvData>(srv[0]->data), (DnsSrvData{0, 100, 1688, "kms1.corp.test"}));
  EXPECT_EQ(std::get<DnsSrvData>(srv[1]->data), (DnsSrvData{10, 5, 1689, "kms2.corp.test"}));

  const auto extra = reply->section(DnsSection::additional);
  ASSERT_EQ(extra.size(), 2u);
  EXPECT_EQ(extra[0]->name, "kms1.corp.test");
  EXPECT_EQ(std::get<DnsIpv4Data>(extra[0]->data).octets, (std::array<std::uint8_t, 4>{127, 0, 0, 2}));
  EXPECT_EQ(extra[1]->type, kDnsTypeAaaa);
  EXPECT_EQ(extra[1]->ttl, 0u);
  EXPECT_EQ(std::get<DnsIpv6Data>(extra[1]->data).octets[15], 1);
}

TEST(DnsReply, EveryTruncationIsATypedErrorNeverACrash) {
  const auto bytes = srv_reply();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto reply = parse_dns_reply(protocol::ByteSpan(bytes).first(n));
    ASSERT_FALSE(reply) << "prefix of " << n << " bytes parsed";
    EXPECT_TRUE(reply.error().code == Errc::truncated || reply.error().code == Errc::bad_value)
        << n << ": " << reply.error().message();
  }
}

TEST(DnsReply, NxdomainWithSoaInAuthority) {
  ByteWriter w;
  put_header(w, 0x8583, 1, 0, 1, 0);  // NXDOMAIN
  put_name(w, "_vlmcs._tcp.nowhere.test");
  w.u16_be(kDnsTypeSrv);
  w.u16_be(kDnsClassIn);
  put_name(w, "nowhere.test");
  const auto len_at = put_rr_fixed(w, kDnsTypeSoa, 3600, 0);
  const auto start = w.size();
  put_name(w, "ns.nowhere.test");
  put_name(w, "hostmaster.nowhere.test");
  for (std::uint32_t v : {2026112501u, 7200u, 900u, 1209600u, 300u}) w.u32_be(v);
  w.patch_u16_be(len_at, static_cast<std::uint16_t>(w.size() - start));
  auto reply = parse_dns_reply(w.data());
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(reply->rcode, kRcodeNxDomain);
  EXPECT_EQ(rcode_name(reply->rcode), "NXDOMAIN");
  EXPECT_TRUE(reply->answers_of_type(kDnsTypeSrv).empty());
  const auto auth = reply->section(DnsSection::authority);
  ASSERT_EQ(auth.size(), 1u);
  const auto& soa = std::get<DnsSoaData>(auth[0]->data);
  EXPECT_EQ(soa.mname, "ns.nowhere.test");
  EXPECT_EQ(soa.rname, "hostmaster.nowhere.test");
  EXPECT_EQ(soa.serial, 2026112501u);
  EXPECT_EQ(soa.minimum, 300u);
}

TEST(DnsReply, RootTargetAndEscapedLabels) {
  ByteWriter w;
  put_header(w, kResponseFlags, 1, 2, 0, 0);
  put_name(w, "_vlmcs._tcp.x");
  w.u16_be(kDnsTypeSrv);
  w.u16_be(kDnsClassIn);
  put_pointer(w, 12);
  put_rr_fixed(w, kDnsTypeSrv, 1, 7);
  w.u16_be(0);
  w.u16_be(0);
  w.u16_be(0);
  w.u8(0);  // target "." = service not available
  put_pointer(w, 12);
  put_rr_fixed(w, kDnsTypeCname, 1, 6);
  for (int b : {4, int{'a'}, int{'.'}, int{'\\'}, 0x07, 0}) w.u8(static_cast<std::uint8_t>(b));
  auto reply = parse_dns_reply(w.data());
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(std::get<DnsSrvData>(reply->records[0].data).target, ".");
  EXPECT_EQ(std::get<DnsNameData>(reply->records[1].data).name, "a\\.\\\\\\007");
}

TEST(DnsReply, UnknownTypesKeepRawRdata) {
  ByteWriter w;
  put_header(w, kResponseFlags, 0, 1, 0, 1);
  put_name(w, "t.test");
  put_rr_fixed(w, 16, 5, 3);  // TXT
  for (int b : {2, int{'h'}, int{'i'}}) w.u8(static_cast<std::uint8_t>(b));
  w.u8(0);  // OPT owner "."
  w.u16_be(kDnsTypeOpt);
  w.u16_be(1232);  // OPT class = UDP payload size
  w.u32_be(0);
  w.u16_be(0);
  auto reply = parse_dns_reply(w.data());
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(reply->question_count, 0);
  EXPECT_EQ(std::get<DnsRawData>(reply->records[0].data).bytes, (Bytes{2, 'h', 'i'}));
  EXPECT_EQ(reply->records[1].type, kDnsTypeOpt);
  EXPECT_EQ(reply->records[1].rclass, 1232);
  EXPECT_EQ(type_name(16), "TYPE16");
  EXPECT_EQ(type_name(kDnsTypeSrv), "SRV");
}

// One malformed input class per case, each with the error category it must produce.
struct Malformed {
  const char* what;
  Bytes bytes;
  Errc expected;
};

Bytes with_question(std::uint16_t flags, std::uint16_t an, const std::function<void(ByteWriter&)>& body) {
  ByteWriter w;
  put_header(w, flags, 1, an, 0, 0);
  put_name(w, "q.test");
  w.u16_be(kDnsTypeA);
  w.u16_be(kDnsClassIn);
  body(w);
  return std::move(w).take();
}

TEST(DnsReply, MalformedInputsReturnTypedErrors) {
  std::vector<Malformed> cases;
  cases.push_back({"empty", {}, Errc::truncated});
  cases.push_back({"query, not response", with_question(0x0100, 0, [](ByteWriter&) {}), Errc::bad_value});
  cases.push_back({"pointer to itself", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     put_pointer(w, static_cast<std::uint16_t>(w.size()));
                   }),
                   Errc::bad_value});
  cases.push_back({"forward pointer", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     put_pointer(w, static_cast<std::uint16_t>(w.size() + 2));
                     w.u8(0);
                   }),
                   Errc::bad_value});
  cases.push_back({"pointer loop through two names", [] {
                     // question name at 12 = label "a" then pointer to 17; 17 holds pointer to 12.
                     ByteWriter w;
                     put_header(w, kResponseFlags, 1, 0, 0, 0);
                     w.u8(1);
                     w.u8('a');
                     put_pointer(w, 17);
                     w.u8(0);
                     put_pointer(w, 12);
                     return std::move(w).take();
                   }(),
                   Errc::bad_value});
  cases.push_back({"label type 01", with_question(kResponseFlags, 1, [](ByteWriter& w) { w.u8(0x41); }),
                   Errc::bad_value});
  cases.push_back({"name over 255 octets", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     for (int i = 0; i < 5; ++i) {
                       w.u8(63);
                       w.zeros(63);
                     }
                     w.u8(0);
                   }),
                   Errc::bad_value});
  cases.push_back({"A rdata of 3 bytes", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     put_pointer(w, 12);
                     put_rr_fixed(w, kDnsTypeA, 1, 3);
                     w.zeros(3);
                   }),
                   Errc::bad_length});
  cases.push_back({"AAAA rdata of 15 bytes", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     put_pointer(w, 12);
                     put_rr_fixed(w, kDnsTypeAaaa, 1, 15);
                     w.zeros(15);
                   }),
                   Errc::bad_length});
  cases.push_back({"SRV without target", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     put_pointer(w, 12);
                     put_rr_fixed(w, kDnsTypeSrv, 1, 6);
                     w.zeros(6);
                   }),
                   Errc::bad_length});
  cases.push_back({"SRV target shorter than rdata", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     put_pointer(w, 12);
                     put_rr_fixed(w, kDnsTypeSrv, 1, 9);
                     w.zeros(6);
                     w.u8(0);
                     w.zeros(2);
                   }),
                   Errc::bad_length});
  cases.push_back({"SRV target runs past rdata", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     put_pointer(w, 12);
                     put_rr_fixed(w, kDnsTypeSrv, 1, 8);
                     w.zeros(6);
                     put_name(w, "abc");  // 5 bytes, only 2 inside the rdata
                   }),
                   Errc::truncated});
  cases.push_back({"rdlength beyond message", with_question(kResponseFlags, 1, [](ByteWriter& w) {
                     put_pointer(w, 12);
                     put_rr_fixed(w, kDnsTypeA, 1, 40);
                     w.zeros(4);
                   }),
                   Errc::truncated});
  cases.push_back({"answer count beyond records", with_question(kResponseFlags, 2, [](ByteWriter& w) {
                     put_pointer(w, 12);
                     put_rr_fixed(w, kDnsTypeA, 1, 4);
                     w.zeros(4);
                   }),
                   Errc::truncated});
  cases.push_back({"trailing bytes", with_question(kResponseFlags, 0, [](ByteWriter& w) { w.zeros(3); }),
                   Errc::trailing_data});
  cases.push_back({"over 65535 bytes", Bytes(65536, 0), Errc::too_large});
  for (const auto& c : cases) {
    auto reply = parse_dns_reply(c.bytes);
    ASSERT_FALSE(reply) << c.what;
    EXPECT_EQ(reply.error().code, c.expected) << c.what << ": " << reply.error().message();
    EXPECT_FALSE(reply.error().detail.empty()) << c.what;
  }
}

TEST(DnsReply, RcodeNames) {
  EXPECT_EQ(rcode_name(kRcodeNoError), "NOERROR");
  EXPECT_EQ(rcode_name(kRcodeServFail), "SERVFAIL");
  EXPECT_EQ(rcode_name(kRcodeRefused), "REFUSED");
  EXPECT_EQ(rcode_name(15), "RCODE15");
}

}  // namespace
}  // namespace kmslab::client
