// Load targets without sockets: URL parsing (every malformed class), and the mapping from what a
// client saw to an outcome kind for each protocol (classify_*), fed real encoded messages.
#include "kmslab/bench/targets.hpp"

#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/protocol/sntp.hpp"

#include <gtest/gtest.h>

namespace kmslab::bench {
namespace {

namespace dns = protocol::dns;
namespace sntp = protocol::sntp;

TEST(TargetUrl, ParsesEachSchemeWithDefaultPorts) {
  auto kms = parse_target_url("kms://127.0.0.1");
  ASSERT_TRUE(kms) << kms.error().message;
  EXPECT_EQ(kms->kind, TargetKind::kms);
  EXPECT_EQ(kms->host, "127.0.0.1");
  EXPECT_EQ(kms->port, 1688);
  auto dns_url = parse_target_url("dns://localhost");
  ASSERT_TRUE(dns_url);
  EXPECT_EQ(dns_url->kind, TargetKind::dns);
  EXPECT_EQ(dns_url->port, 53);
  auto sntp_url = parse_target_url("SNTP://time.lab:1123");
  ASSERT_TRUE(sntp_url);
  EXPECT_EQ(sntp_url->kind, TargetKind::sntp);
  EXPECT_EQ(sntp_url->host, "time.lab");
  EXPECT_EQ(sntp_url->port, 1123);
}

TEST(TargetUrl, Ipv6NeedsBracketsAndRoundTrips) {
  auto url = parse_target_url("kms://[::1]:40000");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 40000);
  EXPECT_EQ(url->to_string(), "kms://[::1]:40000");
  auto bare = parse_target_url("kms://::1:40000");
  ASSERT_FALSE(bare);
  EXPECT_NE(bare.error().message.find("brackets"), std::string::npos);
  EXPECT_FALSE(parse_target_url("kms://[::1:40000"));
  EXPECT_FALSE(parse_target_url("kms://[::1]40000"));
}

TEST(TargetUrl, ProbeTakesDomainAndDnsServer) {
  auto url = parse_target_url("probe://Corp.Example.?dns=127.0.0.1:5353");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->kind, TargetKind::probe);
  EXPECT_EQ(url->host, "corp.example");
  EXPECT_EQ(url->dns_server, "127.0.0.1:5353");
  EXPECT_EQ(url->to_string(), "probe://corp.example?dns=127.0.0.1:5353");
  auto no_dns = parse_target_url("probe://corp.example");
  ASSERT_TRUE(no_dns);
  EXPECT_TRUE(no_dns->dns_server.empty());
  auto default_port = parse_target_url("probe://corp.example?dns=[::1]");
  ASSERT_TRUE(default_port);
  EXPECT_EQ(default_port->dns_server, "[::1]:53");
}

TEST(TargetUrl, RejectsEachMalformedClassWithAClearMessage) {
  struct Case {
    const char* url;
    const char* says;
  };
  const Case cases[] = {
      {"127.0.0.1:1688", "no scheme"},
      {"http://127.0.0.1:1688", "unknown scheme 'http'"},
      {"kms://", "no host"},
      {"kms://:1688", "no host"},
      {"kms://127.0.0.1:", "port '' is not a number"},
      {"kms://127.0.0.1:0", "port 0 is not in 1..65535"},
      {"kms://127.0.0.1:65536", "port 65536 is not in 1..65535"},
      {"kms://127.0.0.1:16x8", "port '16x8' is not a number"},
      {"kms://127.0.0.1:123456", "is not a number in 1..65535"},
      {"kms://127.0.0.1:1688/activate", "no path"},
      {"dns://127.0.0.1?x=1", "takes no '?' options"},
      {"probe://", "no domain"},
      {"probe://corp.example?server=1.2.3.4", "unknown option 'server=1.2.3.4'"},
      {"probe://corp.example?dns=1.2.3.4:99999", "not in 1..65535"},
      {"probe://bad..name", "not a DNS domain"},
  };
  for (const auto& c : cases) {
    auto url = parse_target_url(c.url);
    ASSERT_FALSE(url) << c.url;
    EXPECT_EQ(url.error().code, Errc::bad_argument) << c.url;
    EXPECT_NE(url.error().message.find(c.says), std::string::npos) << c.url << " -> " << url.error().message;
    EXPECT_NE(url.error().message.find(c.url), std::string::npos) << "the message quotes the URL: " << c.url;
  }
}

TEST(TargetFactory, RefusesBadSettingsBeforeAnyIo) {
  auto kms = parse_target_url("kms://127.0.0.1:1688").value();
  TargetSettings s;
  s.product = "No Such Product 2099";
  auto f = make_target_factory(kms, s);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("--product"), std::string::npos);
  s = TargetSettings{};
  s.protocol = 7;
  EXPECT_FALSE(make_target_factory(kms, s));
  s = TargetSettings{};
  s.timeout = std::chrono::nanoseconds(0);
  EXPECT_FALSE(make_target_factory(kms, s));
  auto dns_url = parse_target_url("dns://127.0.0.1:53").value();
  auto no_domain = make_target_factory(dns_url, TargetSettings{});
  ASSERT_FALSE(no_domain);
  EXPECT_NE(no_domain.error().message.find("--domain"), std::string::npos);
  s = TargetSettings{};
  s.domain = "corp.example";
  EXPECT_TRUE(make_target_factory(dns_url, s));
  // Names resolve once, here (localhost from /etc/hosts: no DNS traffic leaves the machine).
  EXPECT_TRUE(make_target_factory(parse_target_url("kms://localhost:1688").value(), TargetSettings{}));
}

// --- KMS ---------------------------------------------------------------------------------------

TEST(ClassifyKms, EachStepsOutcomeMapsToItsKind) {
  using client::ActivationOutcome;
  using client::BindOutcome;
  using client::ConnectOutcome;
  client::ConnectObservation c;
  client::BindObservation b;
  client::ActivationObservation a;
  auto with = [&](ConnectOutcome co, BindOutcome bo, ActivationOutcome ao) {
    c.outcome = co;
    b.outcome = bo;
    a.outcome = ao;
    return classify_kms(c, b, a);
  };
  const auto ok = ConnectOutcome::ok;
  const auto accepted = BindOutcome::accepted;
  EXPECT_EQ(with(ok, accepted, ActivationOutcome::ok), Outcome::success());
  EXPECT_EQ(with(ConnectOutcome::refused, BindOutcome::not_attempted, ActivationOutcome::not_attempted).kind,
            OutcomeKind::refused);
  EXPECT_EQ(with(ConnectOutcome::timeout, BindOutcome::not_attempted, ActivationOutcome::not_attempted).kind,
            OutcomeKind::timeout);
  EXPECT_EQ(with(ConnectOutcome::reset, BindOutcome::not_attempted, ActivationOutcome::not_attempted).kind,
            OutcomeKind::reset);
  EXPECT_EQ(with(ConnectOutcome::error, BindOutcome::not_attempted, ActivationOutcome::not_attempted).kind,
            OutcomeKind::other);
  EXPECT_EQ(with(ok, BindOutcome::no_response, ActivationOutcome::not_attempted).kind, OutcomeKind::timeout);
  EXPECT_EQ(with(ok, BindOutcome::reset, ActivationOutcome::not_attempted).kind, OutcomeKind::reset);
  EXPECT_EQ(with(ok, BindOutcome::nak, ActivationOutcome::not_attempted).kind, OutcomeKind::malformed);
  EXPECT_EQ(with(ok, BindOutcome::malformed, ActivationOutcome::not_attempted).kind, OutcomeKind::malformed);
  b.fault_status = 0x1C010003;
  EXPECT_EQ(with(ok, BindOutcome::fault, ActivationOutcome::not_attempted), Outcome::hresult_error(0x1C010003));
  a.hresult = 0xC004F042;
  EXPECT_EQ(with(ok, accepted, ActivationOutcome::hresult), Outcome::hresult_error(0xC004F042));
  a.fault_status = 0x1C010002;
  EXPECT_EQ(with(ok, accepted, ActivationOutcome::fault), Outcome::hresult_error(0x1C010002));
  EXPECT_EQ(with(ok, accepted, ActivationOutcome::bad_response).kind, OutcomeKind::malformed);
  EXPECT_EQ(with(ok, accepted, ActivationOutcome::malformed).kind, OutcomeKind::malformed);
  EXPECT_EQ(with(ok, accepted, ActivationOutcome::no_response).kind, OutcomeKind::timeout);
  EXPECT_EQ(with(ok, accepted, ActivationOutcome::reset).kind, OutcomeKind::reset);
  EXPECT_EQ(error_key(with(ok, accepted, ActivationOutcome::hresult)), "hresult:0xC004F042");
}

// --- DNS ---------------------------------------------------------------------------------------

constexpr const char* kQname = "_vlmcs._tcp.corp.example";

dns::Message query(std::uint16_t id) { return dns::make_query(id, dns::Name::parse(kQname).value(), dns::Type::srv); }

protocol::Bytes srv_reply(std::uint16_t id, int srv_records = 1) {
  auto r = dns::make_response(query(id));
  for (int i = 0; i < srv_records; ++i)
    r.answers.push_back(dns::ResourceRecord::make(
        dns::Name::parse(kQname).value(), 300,
        dns::SrvData{0, 100, 1688, dns::Name::parse("kms1.corp.example").value()}));
  return dns::encode(r).value();
}

TEST(ClassifyDns, SrvAnswerIsOk) {
  EXPECT_EQ(classify_dns_reply(srv_reply(7), 7, kQname), Outcome::success());
  EXPECT_EQ(classify_dns_reply(srv_reply(7, 2), 7, "_VLMCS._tcp.Corp.Example"), Outcome::success());
}

TEST(ClassifyDns, RcodesBecomeTheWindowsCodes) {
  auto with_rcode = [](dns::Rcode rcode) {
    auto r = dns::make_response(query(9));
    r.set_rcode(rcode);
    return classify_dns_reply(dns::encode(r).value(), 9, kQname);
  };
  EXPECT_EQ(with_rcode(dns::Rcode::nxdomain), Outcome::hresult_error(0x8007232B));
  EXPECT_EQ(with_rcode(dns::Rcode::servfail), Outcome::hresult_error(0x8007232A));
  EXPECT_EQ(with_rcode(dns::Rcode::refused), Outcome::hresult_error(0x8007232D));
  EXPECT_EQ(with_rcode(dns::Rcode::formerr), Outcome::hresult_error(0x80072329));
  EXPECT_EQ(with_rcode(dns::Rcode::notimp), Outcome::hresult_error(0x8007232C));
  // NOERROR without an SRV answer: NODATA.
  EXPECT_EQ(classify_dns_reply(srv_reply(9, 0), 9, kQname), Outcome::hresult_error(0x8007251D));
}

TEST(ClassifyDns, MismatchedOrBrokenRepliesAreMalformed) {
  EXPECT_EQ(classify_dns_reply(srv_reply(7), 8, kQname).kind, OutcomeKind::malformed);  // wrong ID
  EXPECT_EQ(classify_dns_reply(srv_reply(7), 7, "_vlmcs._tcp.other.example").kind, OutcomeKind::malformed);
  auto not_a_reply = dns::encode(query(7)).value();  // QR clear
  EXPECT_EQ(classify_dns_reply(not_a_reply, 7, kQname).kind, OutcomeKind::malformed);
  auto truncated = srv_reply(7);
  truncated.resize(truncated.size() - 3);
  EXPECT_EQ(classify_dns_reply(truncated, 7, kQname).kind, OutcomeKind::malformed);
  EXPECT_EQ(classify_dns_reply({}, 7, kQname).kind, OutcomeKind::malformed);
  auto tc = dns::make_response(query(7));
  tc.header.tc = true;
  EXPECT_EQ(classify_dns_reply(dns::encode(tc).value(), 7, kQname).kind, OutcomeKind::malformed);
}

// --- SNTP --------------------------------------------------------------------------------------

TEST(ClassifySntp, ValidReplyOkKissRefusedRestMalformed) {
  const auto t1 = sntp::to_ntp(std::chrono::system_clock::now());
  const auto request = sntp::make_client_request(t1);
  const auto t2 = sntp::to_ntp(std::chrono::system_clock::now());
  auto reply = sntp::make_server_reply(request, t2, t2, sntp::ServerParams{}).value();
  EXPECT_EQ(classify_sntp_reply(sntp::encode(reply).value(), t1.raw()), Outcome::success());
  // The originate timestamp is not ours.
  EXPECT_EQ(classify_sntp_reply(sntp::encode(reply).value(), t1.raw() + 1).kind, OutcomeKind::malformed);
  auto kod = sntp::make_kiss_of_death(request, "RATE", t2, t2).value();
  EXPECT_EQ(classify_sntp_reply(sntp::encode(kod).value(), t1.raw()).kind, OutcomeKind::refused);
  auto unsync = reply;
  unsync.stratum = 16;
  EXPECT_EQ(classify_sntp_reply(sntp::encode(unsync).value(), t1.raw()).kind, OutcomeKind::malformed);
  auto short_packet = sntp::encode(reply).value();
  short_packet.resize(40);
  EXPECT_EQ(classify_sntp_reply(short_packet, t1.raw()).kind, OutcomeKind::malformed);
  // A client request echoed back is not a server reply.
  EXPECT_EQ(classify_sntp_reply(sntp::encode(request).value(), t1.raw()).kind, OutcomeKind::malformed);
}

// --- probe -------------------------------------------------------------------------------------

TEST(ClassifyProbe, VerdictAndPrimaryFindingDecide) {
  client::Diagnosis d;
  d.verdict = client::Verdict::healthy;
  EXPECT_EQ(classify_probe(d), Outcome::success());
  d.verdict = client::Verdict::degraded;
  EXPECT_EQ(classify_probe(d), Outcome::success());
  d.verdict = client::Verdict::failed;
  auto with_finding = [&](client::FindingCode code) {
    d.findings = {client::make_finding(code, "t", {"seen"}, {})};
    d.primary_finding = 0;
    return classify_probe(d);
  };
  EXPECT_EQ(with_finding(client::FindingCode::tcp_refused).kind, OutcomeKind::refused);
  EXPECT_EQ(with_finding(client::FindingCode::tcp_filtered).kind, OutcomeKind::timeout);
  EXPECT_EQ(with_finding(client::FindingCode::dns_timeout).kind, OutcomeKind::timeout);
  EXPECT_EQ(with_finding(client::FindingCode::rpc_no_response).kind, OutcomeKind::timeout);
  EXPECT_EQ(with_finding(client::FindingCode::tcp_reset).kind, OutcomeKind::reset);
  EXPECT_EQ(with_finding(client::FindingCode::kms_bad_response).kind, OutcomeKind::malformed);
  EXPECT_EQ(with_finding(client::FindingCode::dns_srv_missing), Outcome::hresult_error(0x8007232B));
  EXPECT_EQ(with_finding(client::FindingCode::kms_product_not_served), Outcome::hresult_error(0xC004F042));
  d.findings.clear();
  d.primary_finding.reset();
  d.windows_code = 0xC004F074;
  EXPECT_EQ(classify_probe(d), Outcome::hresult_error(0xC004F074));
  d.windows_code = 0;
  EXPECT_EQ(classify_probe(d).kind, OutcomeKind::other);
}

}  // namespace
}  // namespace kmslab::bench
