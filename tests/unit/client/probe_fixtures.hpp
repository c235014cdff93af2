// Test helper: minimal observations for the diagnosis and report tests. Values follow the
// captured vlmcsd exchange where one is needed (ePID, count 50, intervals 120 / 10080).
#pragma once

#include <algorithm>
#include <string>

#include "kmslab/client/diagnosis.hpp"
#include "kmslab/client/observations.hpp"

namespace kmslab::client::test {

inline constexpr const char* kDomain = "corp.example";
inline constexpr const char* kHost = "kms1.corp.example";
inline constexpr const char* kHost2 = "kms2.corp.example";
inline constexpr const char* kAddress = "192.0.2.10";
inline constexpr const char* kEpid = "03612-00206-560-338962-03-1056-14393.0000-2462019";

inline Micros us(long long v) { return Micros{v}; }
inline Micros ms(long long v) { return Micros{v * 1000}; }

inline ProbeObservations base_observations() {
  ProbeObservations o;
  o.options.domains = {kDomain};
  o.options.product = "Windows 10 Enterprise";
  o.options.n_policy = 25;
  o.options.protocol = 6;
  o.options.seed = 42;
  o.options.dns_servers = {"127.0.0.1:5353"};
  o.started_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'764'000'000));
  o.total = ms(20);
  return o;
}

inline DnsObservation srv_answer(std::string domain, std::vector<SrvAnswer> records, Micros start = us(0),
                                 Micros duration = us(812)) {
  DnsObservation d;
  d.domain = domain;
  d.query_name = "_vlmcs._tcp." + domain;
  d.outcome = DnsOutcome::ok;
  d.server = "127.0.0.1:5353";
  d.records = std::move(records);
  d.timing = {start, duration};
  return d;
}

inline DnsObservation srv_failure(DnsOutcome outcome, Micros duration = us(640)) {
  auto d = srv_answer(kDomain, {}, us(0), duration);
  d.outcome = outcome;
  return d;
}

inline SrvAnswer srv_record(std::string target, std::uint16_t port = kKmsPort, std::uint16_t priority = 0,
                            std::uint16_t weight = 100) {
  return SrvAnswer{priority, weight, port, std::move(target), 3600};
}

// An attempt that went all the way: address, connect, bind, activation with count 50.
inline AttemptObservation good_attempt(std::string host = kHost, std::uint16_t port = kKmsPort,
                                       TargetSource source = TargetSource::srv, Micros start = ms(1)) {
  AttemptObservation a;
  a.host = std::move(host);
  a.port = port;
  a.source = source;
  a.domain = source == TargetSource::srv ? kDomain : "";
  if (source == TargetSource::srv) a.srv = srv_record(a.host, port);
  a.address.source = AddressSource::query;
  a.address.outcome = DnsOutcome::ok;
  a.address.addresses = {kAddress};
  a.address.server = "127.0.0.1:5353";
  a.address.timing = {start, us(500)};
  a.connect.outcome = ConnectOutcome::ok;
  a.connect.address = std::string(kAddress) + ":" + std::to_string(port);
  a.connect.addresses_tried = 1;
  a.connect.deadline = ms(3000);
  a.connect.timing = {start + us(500), us(300)};
  a.bind.outcome = BindOutcome::accepted;
  a.bind.syntax = TransferSyntax::ndr32;
  a.bind.bytes_sent = 72;
  a.bind.bytes_received = 84;
  a.bind.timing = {start + us(800), us(400)};
  a.activation.outcome = ActivationOutcome::ok;
  a.activation.protocol_major = 6;
  a.activation.response = {6, 0, kEpid, 50, 120, 10080, true, true, "3a1c049600b60076"};
  a.activation.bytes_sent = 292;
  a.activation.bytes_received = 304;
  a.activation.timing = {start + us(1200), us(900)};
  return a;
}

// Steps after `from` did not run.
inline void stop_after_connect(AttemptObservation& a) {
  a.bind = {};
  a.activation = {};
}
inline void stop_after_bind(AttemptObservation& a) { a.activation = {}; }

inline AttemptObservation refused_attempt(std::string host = kHost, TargetSource source = TargetSource::srv,
                                          Micros start = ms(1)) {
  auto a = good_attempt(std::move(host), kKmsPort, source, start);
  a.connect.outcome = ConnectOutcome::refused;
  a.connect.error_number = 111;
  a.connect.error_text = "Connection refused";
  stop_after_connect(a);
  return a;
}

inline AttemptObservation filtered_attempt(std::string host = kHost, TargetSource source = TargetSource::srv,
                                           Micros start = ms(1)) {
  auto a = good_attempt(std::move(host), kKmsPort, source, start);
  a.connect.outcome = ConnectOutcome::timeout;
  a.connect.timing.duration = ms(3000);
  stop_after_connect(a);
  return a;
}

inline SntpObservation sntp(SntpOutcome outcome, std::int64_t offset_ns = 2'000'000) {
  SntpObservation s;
  s.server = "127.0.0.1:123";
  s.outcome = outcome;
  s.offset_ns = offset_ns;
  s.delay_ns = 150'000;
  s.stratum = outcome == SntpOutcome::ok ? 2 : 0;
  s.timing = {ms(5), us(300)};
  return s;
}

// A healthy probe: SRV -> kms1 -> activated.
inline ProbeObservations healthy_observations() {
  auto o = base_observations();
  o.dns.push_back(srv_answer(kDomain, {srv_record(kHost)}));
  o.attempts.push_back(good_attempt());
  return o;
}

inline const Finding* find(const Diagnosis& d, FindingCode code) {
  auto it =
      std::find_if(d.findings.begin(), d.findings.end(), [&](const Finding& f) { return f.code == code; });
  return it == d.findings.end() ? nullptr : &*it;
}

inline bool any_check_mentions(const Finding& f, const std::string& text) {
  return std::any_of(f.next_checks.begin(), f.next_checks.end(), [&](const NextCheck& c) {
    return c.command.find(text) != std::string::npos || c.why.find(text) != std::string::npos;
  });
}

// A catalog placeholder left in a check (PowerShell's own braces are fine).
inline bool has_unfilled_placeholder(const std::string& text) {
  for (const char* p :
       {"{srv_name}", "{domain}", "{host}", "{port}", "{address}", "{dns_server}", "{dns_port}", "{nslookup}",
        "{time_source}"})
    if (text.find(p) != std::string::npos) return true;
  return false;
}

}  // namespace kmslab::client::test
