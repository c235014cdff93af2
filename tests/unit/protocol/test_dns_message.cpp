// DNS codec: names, every record type round trip, compression, EDNS0, truncation, and one test per
// class of malformed input, each expecting its typed error.
#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/protocol/dns_text.hpp"
#include "kmslab/protocol/hex.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

namespace kmslab::protocol::dns {
namespace {

Name N(std::string_view text) { return Name::parse(text).value(); }

// Builders for hand-made wire messages.
struct Wire {
  Bytes b;
  Wire& u8(unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); return *this; }
  Wire& u16(unsigned v) { return u8(v >> 8).u8(v & 0xFF); }
  Wire& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xFFFF); }
  Wire& header(unsigned qd, unsigned an = 0, unsigned ns = 0, unsigned ar = 0, unsigned flags = 0x0100) {
    return u16(0x1234).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  Wire& label(std::string_view s) {
    u8(static_cast<unsigned>(s.size()));
    for (char c : s) u8(static_cast<unsigned char>(c));
    return *this;
  }
  Wire& name(std::initializer_list<std::string_view> labels) {
    for (auto l : labels) label(l);
    return u8(0);
  }
  Wire& ptr(unsigned offset) { return u16(0xC000 | offset); }
  Wire& question(unsigned type = 1) { return u16(type).u16(1); }
};

Errc error_of(const Bytes& wire, DecodeOptions opts = {}) {
  auto m = decode(wire, opts);
  EXPECT_FALSE(m) << "decoded unexpectedly";
  return m ? Errc{} : m.error().code;
}

Message sample_response() {
  Message m = make_response(make_query(7, N("_vlmcs._tcp.corp.example"), Type::srv));
  m.header.aa = true;
  m.answers.push_back(ResourceRecord::make(N("_vlmcs._tcp.corp.example"), 300,
                                           SrvData{0, 100, 1688, N("kms1.corp.example")}));
  m.additional.push_back(ResourceRecord::make(N("kms1.corp.example"), 300, AData{{127, 0, 0, 1}}));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(DnsName, ParsesAndPrintsPresentationForm) {
  EXPECT_EQ(N("corp.example").to_string(), "corp.example.");
  EXPECT_EQ(N("corp.example.").to_string(), "corp.example.");
  EXPECT_TRUE(N(".").is_root());
  EXPECT_EQ(N(".").to_string(), ".");
  EXPECT_EQ(N("a\\.b.c").labels().size(), 2u);
  EXPECT_EQ(N("a\\.b.c").to_string(), "a\\.b.c.");
  EXPECT_EQ(N("a\\032b.c").labels()[0], "a b");
  EXPECT_EQ(N("a\\032b.c").to_string(), "a\\032b.c.");
  EXPECT_EQ(N("corp.example").wire_length(), 14u);
}

TEST(DnsName, RelativeNamesUseOrigin) {
  const Name origin = N("corp.example");
  EXPECT_EQ(Name::parse("kms1", origin)->to_string(), "kms1.corp.example.");
  EXPECT_EQ(Name::parse("kms1.other.", origin)->to_string(), "kms1.other.");
  EXPECT_EQ(Name::parse("@", origin)->to_string(), "corp.example.");
}

TEST(DnsName, RejectsBadText) {
  EXPECT_EQ(Name::parse("").error().code, Errc::bad_value);
  EXPECT_EQ(Name::parse("a..b").error().code, Errc::bad_value);
  EXPECT_EQ(Name::parse(".a").error().code, Errc::bad_value);
  EXPECT_EQ(Name::parse("a\\2").error().code, Errc::bad_value);
  EXPECT_EQ(Name::parse("a\\300").error().code, Errc::bad_value);
  EXPECT_EQ(Name::parse(std::string(64, 'x') + ".com").error().code, Errc::too_large);
  EXPECT_TRUE(Name::parse(std::string(63, 'x') + ".com"));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(62, 'a') + ".";  // 4*63 + 1 = 253
  EXPECT_TRUE(Name::parse(long_name));
  EXPECT_TRUE(Name::parse("b." + long_name));                               // 255: the limit
  EXPECT_EQ(Name::parse("bb." + long_name).error().code, Errc::too_large);  // 256
  EXPECT_EQ(Name::from_labels({"ok", ""}).error().code, Errc::bad_value);
}

TEST(DnsName, ComparesCaseInsensitively) {
  EXPECT_TRUE(equal_ci("_VLMCS._Tcp", "_vlmcs._tcp"));
  EXPECT_FALSE(equal_ci("abc", "abd"));
  EXPECT_FALSE(equal_ci("abc", "ab"));
  EXPECT_EQ(N("KMS1.Corp.Example"), N("kms1.corp.example."));
  EXPECT_NE(N("kms1.corp.example"), N("kms2.corp.example"));
  EXPECT_EQ(N("KMS1.Corp.Example").key(), "kms1.corp.example.");
  EXPECT_EQ(N("KMS1.Corp.Example").to_string(), "KMS1.Corp.Example.");  // case kept
  EXPECT_TRUE(N("a.B.corp.EXAMPLE").is_subdomain_of(N("corp.example")));
  EXPECT_TRUE(N("corp.example").is_subdomain_of(N("corp.example")));
  EXPECT_FALSE(N("corp.example").is_subdomain_of(N("a.corp.example")));
  EXPECT_FALSE(N("xcorp.example").is_subdomain_of(N("corp.example")));
  EXPECT_EQ(N("a.b.c").parent(), N("b.c"));
}

// ---------------------------------------------------------------------------------------------
// Wire layout and round trips

TEST(DnsCodec, QueryHasTheRfc1035Layout) {
  auto wire = encode(make_query(0x1234, N("_vlmcs._tcp.corp.example"), Type::srv)).value();
  EXPECT_EQ(to_hex(wire),
            "123401000001000000000000"                       // id, RD, qd=1
            "065f766c6d6373045f74637004636f7270076578616d706c6500"  // _vlmcs._tcp.corp.example.
            "00210001");                                    // SRV IN
}

TEST(DnsCodec, HeaderFlagsRoundTrip) {
  for (unsigned bits = 0; bits < 256; ++bits) {
    Message m;
    m.header.id = static_cast<std::uint16_t>(bits * 257);
    m.header.qr = bits & 1;
    m.header.aa = bits & 2;
    m.header.tc = bits & 4;
    m.header.rd = bits & 8;
    m.header.ra = bits & 16;
    m.header.z = bits & 32;
    m.header.ad = bits & 64;
    m.header.cd = bits & 128;
    m.header.opcode = Opcode{static_cast<std::uint8_t>(bits % 16)};
    m.header.rcode = static_cast<std::uint8_t>((bits / 16) % 16);
    auto back = decode(encode(m).value()).value();
    EXPECT_EQ(encode(back).value(), encode(m).value());
    EXPECT_EQ(back.header.tc, m.header.tc);
    EXPECT_EQ(back.header.opcode, m.header.opcode);
    EXPECT_EQ(back.header.rcode, m.header.rcode);
  }
}

TEST(DnsCodec, EveryRecordTypeRoundTrips) {
  const Name o = N("corp.example");
  Message m = make_response(make_query(1, o, Type::any));
  m.answers = {
      ResourceRecord::make(o, 1, AData{{192, 0, 2, 1}}),
      ResourceRecord::make(o, 2, AaaaData{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}),
      ResourceRecord::make(o, 3, NsData{N("ns1.corp.example")}),
      ResourceRecord::make(N("www.corp.example"), 4, CnameData{N("kms1.corp.example")}),
      ResourceRecord::make(N("1.2.0.192.in-addr.arpa"), 5, PtrData{N("kms1.corp.example")}),
      ResourceRecord::make(o, 6, MxData{10, N("mail.corp.example")}),
      ResourceRecord::make(o, 7, TxtData{{"v=kms", "", std::string(255, 'x'), "quote\"d"}}),
      ResourceRecord::make(N("_vlmcs._tcp.corp.example"), 8, SrvData{10, 60, 1688, N("kms1.corp.example")}),
  };
  ResourceRecord raw;
  raw.name = o;
  raw.type = Type{65280};
  raw.rclass = Class::ch;
  raw.ttl = 9;
  raw.data = RawData{{1, 2, 3, 0xC0, 0x0C}};  // looks like a pointer: must be copied verbatim
  m.answers.push_back(raw);
  m.authority = {ResourceRecord::make(
      o, 3600, SoaData{N("ns1.corp.example"), N("hostmaster.corp.example"), 2024, 3600, 600, 86400, 60})};
  m.additional = {ResourceRecord::make(N("kms1.corp.example"), 300, AData{{127, 0, 0, 1}})};
  m.edns = Edns{4096, 0, 0, true, 0, {{10, {1, 2, 3, 4, 5, 6, 7, 8}}, {12, {}}}};

  const Bytes wire = encode(m).value();
  const Message back = decode(wire).value();
  ASSERT_EQ(back.answers.size(), m.answers.size());
  for (std::size_t i = 0; i < m.answers.size(); ++i)
    EXPECT_EQ(to_string(back.answers[i]), to_string(m.answers[i])) << i;
  ASSERT_EQ(back.authority.size(), 1u);
  EXPECT_EQ(to_string(back.authority[0]), to_string(m.authority[0]));
  ASSERT_EQ(back.additional.size(), 1u);
  ASSERT_TRUE(back.edns);
  EXPECT_EQ(back.edns->udp_payload_size, 4096);
  EXPECT_TRUE(back.edns->dnssec_ok);
  EXPECT_EQ(back.edns->options, m.edns->options);
  EXPECT_EQ(back.header.ancount, m.answers.size());
  EXPECT_EQ(back.header.arcount, 2u);  // the A record and the OPT
  EXPECT_EQ(std::get<RawData>(back.answers.back().data).bytes, (Bytes{1, 2, 3, 0xC0, 0x0C}));
  EXPECT_EQ(encode(back).value(), wire);  // byte-for-byte stable
}

TEST(DnsCodec, CompressesOwnersButNeverTheSrvTarget) {
  Message m = sample_response();
  m.authority.push_back(ResourceRecord::make(N("corp.example"), 300, NsData{N("kms1.corp.example")}));
  const Bytes wire = encode(m).value();
  // header 12 + question (26+4) = 42; the answer owner is a pointer to the question name.
  ASSERT_GT(wire.size(), 44u);
  EXPECT_EQ(wire[42], 0xC0);
  EXPECT_EQ(wire[43], 0x0C);
  // SRV rdata: 6 octets of numbers, then kms1.corp.example. written in full (19 octets).
  const std::size_t rdlength_at = 44 + 8;
  EXPECT_EQ((wire[rdlength_at] << 8) | wire[rdlength_at + 1], 6 + 19);
  EXPECT_EQ(wire[rdlength_at + 2 + 6], 4);  // label "kms1", not a pointer
  // The NS host and the A owner, written later, point into the SRV target.
  const std::string hex = to_hex(wire);
  EXPECT_EQ(wire.size(), 42u + (2 + 10 + 25) + (2 + 10 + 2) + (2 + 10 + 4));
  EXPECT_NE(hex.find("c03c"), std::string::npos) << hex;  // pointer to offset 60: kms1...
  EXPECT_EQ(decode(wire).value().answers[0].name, N("_vlmcs._tcp.corp.example"));
}

TEST(DnsCodec, AcceptsACompressedSrvTarget) {
  // Some servers compress the SRV target anyway; decoding must follow the pointer.
  Wire w;
  w.header(1, 1, 0, 0, 0x8400).name({"_vlmcs", "_tcp", "corp", "example"}).question(33);
  w.ptr(12).u16(33).u16(1).u32(300).u16(8).u16(0).u16(0).u16(1688).ptr(12 + 12);  // -> corp.example
  auto m = decode(w.b).value();
  EXPECT_EQ(std::get<SrvData>(m.answers[0].data).target, N("corp.example"));
  EXPECT_EQ(std::get<SrvData>(m.answers[0].data).port, 1688);
}

TEST(DnsCodec, EdnsFieldsAndExtendedRcode) {
  Message m = make_response(make_query(9, N("corp.example"), Type::a, 1232));
  m.set_rcode(Rcode::badvers);
  ASSERT_TRUE(m.edns);
  EXPECT_EQ(m.header.rcode, 0);
  EXPECT_EQ(m.edns->extended_rcode, 1);
  EXPECT_EQ(m.rcode(), Rcode::badvers);
  m.edns->version = 0;
  const Bytes wire = encode(m).value();
  // OPT: root, type 41, class = payload 1232 (0x04d0), ttl = 01 00 0000, rdlength 0.
  EXPECT_EQ(to_hex(ByteSpan(wire).last(11)), "00002904d00100000000" "00");
  const auto back = decode(wire).value();
  EXPECT_EQ(back.rcode(), Rcode::badvers);

  Message plain = make_query(1, N("corp.example"), Type::a);
  plain.set_rcode(Rcode::nxdomain);
  EXPECT_FALSE(plain.edns);
  EXPECT_EQ(decode(encode(plain).value())->rcode(), Rcode::nxdomain);

  Wire v1;  // EDNS version 1 with DO: decoded as is, the responder answers BADVERS
  v1.header(1, 0, 0, 1).name({"corp", "example"}).question().u8(0).u16(41).u16(4096).u32(0x00018000).u16(0);
  const auto q = decode(v1.b).value();
  EXPECT_EQ(q.edns->version, 1);
  EXPECT_TRUE(q.edns->dnssec_ok);
  EXPECT_EQ(q.edns->udp_payload_size, 4096);
}

TEST(DnsCodec, EncodeRejectsInconsistentMessages) {
  Message m = sample_response();
  m.answers[0].type = Type::a;  // SRV rdata labelled A
  EXPECT_EQ(encode(m).error().code, Errc::bad_type);
  m = sample_response();
  m.answers.push_back(ResourceRecord::make(N("corp.example"), 1, TxtData{{std::string(256, 'x')}}));
  EXPECT_EQ(encode(m).error().code, Errc::too_large);
  m = sample_response();
  ResourceRecord opt;
  opt.type = Type::opt;
  opt.data = RawData{};
  m.additional.push_back(opt);
  EXPECT_EQ(encode(m).error().code, Errc::bad_type);
  m = sample_response();
  m.header.rcode = 16;
  EXPECT_EQ(encode(m).error().code, Errc::bad_value);
  m = sample_response();  // 65535 is the most any message can be
  for (int i = 0; i < 300; ++i)
    m.answers.push_back(ResourceRecord::make(N("corp.example"), 1, TxtData{{std::string(250, 'x')}}));
  EXPECT_EQ(encode(m).error().code, Errc::too_large);
}

// ---------------------------------------------------------------------------------------------
// Truncation

Message big_srv_response(int count) {
  Message m = make_response(make_query(3, N("_vlmcs._tcp.corp.example"), Type::srv));
  for (int i = 0; i < count; ++i) {
    const Name target = N(fmt::format("kms{:02d}.corp.example", i));
    m.answers.push_back(ResourceRecord::make(N("_vlmcs._tcp.corp.example"), 300,
                                             SrvData{0, 10, 1688, target}));
    m.additional.push_back(ResourceRecord::make(target, 300, AData{{127, 0, 0, 1}}));
  }
  return m;
}

TEST(DnsTruncate, FitsUnchanged) {
  Message m = sample_response();
  const Bytes full = encode(m).value();
  EXPECT_EQ(truncate_to(m, 512).value(), full);
  EXPECT_FALSE(m.header.tc);
}

TEST(DnsTruncate, DropsRecordsFromTheEndAndSetsTc) {
  Message m = big_srv_response(30);
  ASSERT_GT(encode(m).value().size(), 512u);
  const auto full_answers = m.answers;
  const Bytes wire = truncate_to(m, 512).value();
  EXPECT_LE(wire.size(), 512u);
  EXPECT_TRUE(m.header.tc);
  EXPECT_TRUE(m.additional.empty());
  ASSERT_FALSE(m.answers.empty());
  const auto back = decode(wire).value();
  EXPECT_TRUE(back.header.tc);
  ASSERT_EQ(back.answers.size(), m.answers.size());
  for (std::size_t i = 0; i < back.answers.size(); ++i)
    EXPECT_EQ(to_string(back.answers[i]), to_string(full_answers[i]));
  // One more record would not have fitted.
  Message one_more = big_srv_response(30);
  one_more.answers.resize(m.answers.size() + 1);
  one_more.additional.clear();
  EXPECT_GT(encode(one_more).value().size(), 512u);
}

TEST(DnsTruncate, DroppingOnlyAdditionalLeavesTcClearUnlessAsked) {
  Message m = big_srv_response(12);
  const std::size_t answers_only = [&] {
    Message a = m;
    a.additional.clear();
    return encode(a).value().size();
  }();
  ASSERT_LT(answers_only, 512u);
  ASSERT_GT(encode(m).value().size(), 512u);
  Message copy = m;
  EXPECT_LE(truncate_to(copy, 512).value().size(), 512u);
  EXPECT_FALSE(copy.header.tc);
  EXPECT_EQ(copy.answers.size(), 12u);
  EXPECT_LT(copy.additional.size(), 12u);
  copy = m;
  (void)truncate_to(copy, 512, true).value();
  EXPECT_TRUE(copy.header.tc);
}

TEST(DnsTruncate, KeepsOptAndHonoursTinyLimits) {
  Message m = big_srv_response(30);
  m.edns = Edns{};
  const Bytes wire = truncate_to(m, 600).value();
  EXPECT_LE(wire.size(), 600u);
  EXPECT_TRUE(decode(wire).value().edns);
  Message tiny = big_srv_response(3);
  const Bytes w2 = truncate_to(tiny, 20).value();  // not even the question fits
  EXPECT_TRUE(tiny.header.tc);
  EXPECT_TRUE(tiny.answers.empty());
  EXPECT_EQ(tiny.questions.size(), 1u);
  EXPECT_GT(w2.size(), 20u);
}

// ---------------------------------------------------------------------------------------------
// Malformed input: one test per class, each with its typed error

TEST(DnsMalformed, TruncatedHeader) {
  for (std::size_t n = 0; n < kHeaderSize; ++n) {
    Bytes b(n, 0);
    EXPECT_EQ(decode_header(b).error().code, Errc::truncated) << n;
    EXPECT_EQ(error_of(b), Errc::truncated) << n;
  }
}

TEST(DnsMalformed, TruncatedQuestion) {
  Wire w;
  w.header(1).name({"corp", "example"}).question();
  for (std::size_t cut = kHeaderSize + 5; cut < w.b.size(); ++cut) {
    Bytes b(w.b.begin(), w.b.begin() + static_cast<std::ptrdiff_t>(cut));
    auto m = decode(b);
    ASSERT_FALSE(m) << cut;
    EXPECT_EQ(m.error().code, Errc::truncated) << cut << " " << m.error().message();
  }
}

TEST(DnsMalformed, TruncatedRecord) {
  const Bytes full = encode(sample_response()).value();
  // Cut inside the last record (the A additional): its fixed part, then its rdata.
  for (std::size_t cut = full.size() - 10; cut < full.size(); ++cut) {
    Bytes b(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    auto m = decode(b);
    ASSERT_FALSE(m) << cut;
    EXPECT_EQ(m.error().code, Errc::truncated) << cut << " " << m.error().message();
  }
}

TEST(DnsMalformed, RdlengthPastTheEnd) {
  Wire w;
  w.header(1, 1).name({"corp", "example"}).question().ptr(12).u16(1).u16(1).u32(60).u16(200);
  w.u8(127).u8(0).u8(0).u8(1);
  auto m = decode(w.b);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::truncated);
  EXPECT_NE(m.error().message().find("rdlength 200"), std::string::npos) << m.error().message();
}

TEST(DnsMalformed, RdlengthDisagreesWithFields) {
  Wire a;  // A with 5 octets
  a.header(1, 1).name({"corp", "example"}).question().ptr(12).u16(1).u16(1).u32(60).u16(5);
  a.u8(1).u8(2).u8(3).u8(4).u8(5);
  EXPECT_EQ(error_of(a.b), Errc::bad_length);
  Wire srv;  // SRV whose target runs past its rdlength into the next bytes
  srv.header(1, 1, 0, 0).name({"corp", "example"}).question(33).ptr(12).u16(33).u16(1).u32(60).u16(8);
  srv.u16(0).u16(0).u16(1688).name({"kms1"});
  EXPECT_EQ(error_of(srv.b), Errc::bad_length);
  Wire txt;  // TXT string length past its rdata
  txt.header(1, 1).name({"corp", "example"}).question(16).ptr(12).u16(16).u16(1).u32(60).u16(3);
  txt.u8(5).u8('a').u8('b');
  EXPECT_EQ(error_of(txt.b), Errc::bad_length);
  Wire opt;  // EDNS option longer than the OPT rdata
  opt.header(1, 0, 0, 1).name({"corp", "example"}).question().u8(0).u16(41).u16(1232).u32(0).u16(6);
  opt.u16(10).u16(8).u16(0);
  EXPECT_EQ(error_of(opt.b), Errc::bad_length);
}

TEST(DnsMalformed, PointerLoopsAndForwardPointers) {
  Wire self;  // the question name is a pointer to itself
  self.header(1).ptr(12).question();
  EXPECT_EQ(error_of(self.b), Errc::bad_value);
  Wire fwd;  // pointer forward to a valid name later in the message
  fwd.header(1).ptr(14).name({"corp"}).question();
  EXPECT_EQ(error_of(fwd.b), Errc::bad_value);
  Wire loop;  // answer owner: label then pointer back to its own start (A -> A)
  loop.header(1, 1).name({"corp"}).question().label("x").ptr(22).u16(1).u16(1).u32(1).u16(0);
  EXPECT_EQ(error_of(loop.b), Errc::bad_value);
  Wire two;  // two names pointing at each other: 22 -> 26 is forward, so rejected as well
  two.header(1, 2).name({"corp"}).question();
  two.label("a").ptr(28).u16(1).u16(1).u32(0).u16(0);  // at 22: "a" + ptr to 28
  two.label("b").ptr(22).u16(1).u16(1).u32(0).u16(0);  // at 38 (not 28): never reached
  EXPECT_EQ(error_of(two.b), Errc::bad_value);
  Wire into_own_run;  // a pointer back into the middle of the same name: would loop
  into_own_run.header(1).label("aa").label("bb").ptr(15).question();
  EXPECT_EQ(error_of(into_own_run.b), Errc::bad_value);
}

TEST(DnsMalformed, TooManyPointerHops) {
  // Record k's owner points at record k-1's owner, itself a pointer: k hops for record k.
  Wire w;
  const unsigned records = kMaxPointerHops + 2;
  w.header(0, records);
  std::vector<unsigned> owners;
  for (unsigned k = 0; k < records; ++k) {
    owners.push_back(static_cast<unsigned>(w.b.size()));
    if (k == 0) w.u8(0);
    else w.ptr(owners[k - 1]);
    w.u16(65280).u16(1).u32(0).u16(0);
  }
  auto m = decode(w.b);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::too_large) << m.error().message();
  // One record fewer decodes: kMaxPointerHops hops are allowed.
  Wire ok;
  ok.b = w.b;
  ok.b[7] = static_cast<std::uint8_t>(records - 1);
  ok.b.resize(owners.back());
  EXPECT_TRUE(decode(ok.b)) << decode(ok.b).error().message();
}

TEST(DnsMalformed, LabelLongerThan63) {
  Wire w;
  w.header(1).u8(64);
  for (int i = 0; i < 64; ++i) w.u8('a');
  w.u8(0).question();
  EXPECT_EQ(error_of(w.b), Errc::bad_type);
  Wire ext;  // 0x80: reserved label type
  ext.header(1).u8(0x80).u8(0).question();
  EXPECT_EQ(error_of(ext.b), Errc::bad_type);
}

TEST(DnsMalformed, NameLongerThan255) {
  Wire w;
  w.header(1);
  for (int i = 0; i < 4; ++i) w.label(std::string(63, 'a'));  // 4*64 + 1 = 257
  w.u8(0).question();
  EXPECT_EQ(error_of(w.b), Errc::too_large);
  Wire via_pointer;  // the long name assembled from a pointer still counts in full
  via_pointer.header(1, 1);
  for (int i = 0; i < 3; ++i) via_pointer.label(std::string(63, 'a'));
  via_pointer.u8(0).question();  // 193 octets: fine
  via_pointer.label(std::string(63, 'b')).ptr(12).u16(1).u16(1).u32(0).u16(0);
  EXPECT_EQ(error_of(via_pointer.b), Errc::too_large);
}

TEST(DnsMalformed, CountsLargerThanTheMessage) {
  Wire w;
  w.header(1, 1000).name({"corp"}).question();
  EXPECT_EQ(error_of(w.b), Errc::bad_length);
  Wire q;
  q.header(0xFFFF);
  EXPECT_EQ(error_of(q.b), Errc::bad_length);
  Wire plausible;  // counts that fit the minimum sizes but not the actual records
  plausible.header(1, 1).name({"corp"}).question().ptr(12).u16(1).u16(1).u32(0).u16(4).u8(1);
  EXPECT_EQ(error_of(plausible.b), Errc::truncated);
}

TEST(DnsMalformed, TrailingGarbagePolicy) {
  Bytes b = encode(sample_response()).value();
  b.push_back(0xAB);
  b.push_back(0xCD);
  auto m = decode(b);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::trailing_data);
  EXPECT_EQ(m.error().offset, b.size() - 2);
  EXPECT_TRUE(decode(b, DecodeOptions{.allow_trailing_data = true}));
}

TEST(DnsMalformed, OptPlacementAndCount) {
  auto opt = [](Wire& w) { w.u8(0).u16(41).u16(1232).u32(0).u16(0); };
  Wire in_answer;
  in_answer.header(1, 1).name({"corp"}).question();
  opt(in_answer);
  EXPECT_EQ(error_of(in_answer.b), Errc::bad_value);
  Wire twice;
  twice.header(1, 0, 0, 2).name({"corp"}).question();
  opt(twice);
  opt(twice);
  EXPECT_EQ(error_of(twice.b), Errc::bad_value);
  Wire named;
  named.header(1, 0, 0, 1).name({"corp"}).question().ptr(12).u16(41).u16(1232).u32(0).u16(0);
  EXPECT_EQ(error_of(named.b), Errc::bad_value);
}

TEST(DnsMalformed, OversizedMessage) {
  Bytes b(kMaxMessageSize + 1, 0);
  EXPECT_EQ(error_of(b), Errc::too_large);
}

// Seeded mutations of valid messages: decode never crashes, and whatever decodes re-encodes to a
// fixed point (encode(decode(encode(decode(x))) == encode(decode(x))).
TEST(DnsMalformed, SeededMutationsAreTotal) {
  std::mt19937 rng(20240607);
  Message base = big_srv_response(3);
  base.edns = Edns{};
  base.authority.push_back(ResourceRecord::make(
      N("corp.example"), 60, SoaData{N("ns1.corp.example"), N("h.corp.example"), 1, 2, 3, 4, 5}));
  const Bytes seed = encode(base).value();
  int decoded = 0;
  for (int i = 0; i < 3000; ++i) {
    Bytes b = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % b.size();
      switch (rng() % 3) {
        case 0: b[at] = static_cast<std::uint8_t>(rng()); break;
        case 1: b.resize(at); break;
        default: b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng()));
      }
      if (b.empty()) b.push_back(0);
    }
    auto m = decode(b);
    if (!m) continue;
    ++decoded;
    auto once = encode(*m);
    ASSERT_TRUE(once) << once.error().message();
    auto again = decode(*once);
    ASSERT_TRUE(again) << again.error().message() << "\n" << to_hex(*once);
    EXPECT_EQ(encode(*again).value(), *once);
  }
  EXPECT_GT(decoded, 0);
}

// ---------------------------------------------------------------------------------------------
// Presentation format

TEST(DnsText, ParsesAndFormatsEveryType) {
  const Name o = N("corp.example");
  struct Case {
    Type type;
    const char* text;
    const char* shown;
  };
  const Case cases[] = {
      {Type::a, "192.0.2.7", "192.0.2.7"},
      {Type::aaaa, "2001:db8::1", "2001:db8::1"},
      {Type::ns, "ns1", "ns1.corp.example."},
      {Type::cname, "kms1.other.", "kms1.other."},
      {Type::ptr, "@", "corp.example."},
      {Type::mx, "10 mail", "10 mail.corp.example."},
      {Type::soa, "ns1 hostmaster 1 3600 600 86400 60",
       "ns1.corp.example. hostmaster.corp.example. 1 3600 600 86400 60"},
      {Type::txt, "\"a b\" c \"q\\\"\" \"\\200\"", "\"a b\" \"c\" \"q\\\"\" \"\\200\""},
      {Type::srv, "0 100 1688 kms1", "0 100 1688 kms1.corp.example."},
      {Type{65280}, "\\# 3 0a0b0c", "\\# 3 0a0b0c"},
      // RFC 3597 §5: the generic form of a known type is that type's wire rdata, read as such.
      {Type::a, "\\# 4 7f000001", "127.0.0.1"},
      {Type::srv, "\\# 12 0000006406980468737431 00", "0 100 1688 hst1."},
      {Type::txt, "\\# 0", "\\# 0"},
  };
  for (const auto& c : cases) {
    auto r = parse_rdata(c.type, c.text, o);
    ASSERT_TRUE(r) << c.text << ": " << r.error().message();
    EXPECT_EQ(format_rdata(*r), c.shown) << c.text;
  }
  // Octets that are not valid rdata of the type are an error at "\#", not raw data.
  const auto short_a = parse_rdata(Type::a, "\\# 3 7f0000", o);
  ASSERT_FALSE(short_a);
  EXPECT_EQ(short_a.error().offset, 0u);
  EXPECT_EQ(type_name(Type::srv), "SRV");
  EXPECT_EQ(type_name(Type{65280}), "TYPE65280");
  EXPECT_EQ(parse_type("srv"), Type::srv);
  EXPECT_EQ(parse_type("TYPE65280"), Type{65280});
  EXPECT_FALSE(parse_type("BOGUS"));
  EXPECT_EQ(rcode_name(Rcode::nxdomain), "NXDOMAIN");
  EXPECT_EQ(rcode_name(Rcode::badvers), "BADVERS");
  EXPECT_EQ(to_string(ResourceRecord::make(N("_vlmcs._tcp.corp.example"), 300,
                                           SrvData{0, 100, 1688, N("kms1.corp.example")})),
            "_vlmcs._tcp.corp.example. 300 IN SRV 0 100 1688 kms1.corp.example.");
}

TEST(DnsText, RejectsBadRdataWithOffsets) {
  const Name o = N("corp.example");
  auto err = [&](Type t, std::string_view text) { return parse_rdata(t, text, o).error(); };
  EXPECT_EQ(err(Type::a, "300.1.1.1").code, Errc::bad_value);
  EXPECT_EQ(err(Type::aaaa, "::g").code, Errc::bad_value);
  EXPECT_EQ(err(Type::srv, "0 0 1688").code, Errc::bad_value);
  const auto port = err(Type::srv, "0 0 70000 kms1");
  EXPECT_EQ(port.code, Errc::too_large);
  EXPECT_EQ(port.offset, 4u);
  EXPECT_EQ(err(Type::srv, "0 x 1688 kms1").code, Errc::bad_value);
  EXPECT_EQ(err(Type::srv, "0 0 1688 a..b").code, Errc::bad_value);
  EXPECT_EQ(err(Type::txt, "\"open").code, Errc::bad_value);
  EXPECT_EQ(err(Type::txt, std::string(256, 'x')).code, Errc::too_large);
  EXPECT_EQ(err(Type{65280}, "\\# 4 0a0b").code, Errc::bad_length);
  EXPECT_EQ(err(Type{65280}, "free text").code, Errc::bad_type);
}

}  // namespace
}  // namespace kmslab::protocol::dns
