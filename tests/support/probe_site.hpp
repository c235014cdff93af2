// Test support for the probe: a small simulated KMS site on loopback ephemeral ports (KMS hosts,
// a DNS responder for one zone, an SNTP responder), all on one io_context run by a thread of its
// own, plus a TCP port known to refuse connections. Configure, then start(); everything stops in
// the destructor. Until simulator::Site exists this is the probe tests' site.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/simulator/clock.hpp"
#include "kmslab/simulator/dns_responder.hpp"
#include "kmslab/simulator/dns_zone.hpp"
#include "kmslab/simulator/kms_host.hpp"
#include "kmslab/simulator/sntp_responder.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kmslab::test {

class ProbeSite {
 public:
  static constexpr const char* kDomain = "corp.example";

  ProbeSite() = default;
  ProbeSite(const ProbeSite&) = delete;
  ProbeSite& operator=(const ProbeSite&) = delete;
  ~ProbeSite() { stop(); }

  // A KMS host on 127.0.0.1:<ephemeral>; returns its port. `spec.name` names it for port_of().
  std::uint16_t add_host(simulator::KmsHostSpec spec) {
    if (spec.listen.empty()) spec.listen = {"127.0.0.1:0"};
    auto host = std::make_unique<simulator::KmsHost>(io_.get_executor(), spec, clock_, 7 + hosts_.size());
    auto bound = host->start();
    if (!bound) throw std::runtime_error(bound.error());
    const auto port = bound->front().port();
    ports_[spec.name] = port;
    hosts_.push_back(std::move(host));
    return port;
  }
  // A host that activates everything: every product, count 2 x N.
  std::uint16_t add_host(const std::string& name) {
    simulator::KmsHostSpec spec;
    spec.name = name;
    return add_host(std::move(spec));
  }
  std::uint16_t port_of(const std::string& name) const { return ports_.at(name); }
  simulator::KmsHost& host(std::size_t i) { return *hosts_.at(i); }

  // A loopback port nothing listens on (bound, then closed): connects to it are refused.
  static std::uint16_t refused_port() {
    net::asio::io_context io;
    net::tcp::acceptor a(io, net::tcp::endpoint(net::asio::ip::address_v4::loopback(), 0));
    const auto port = a.local_endpoint().port();
    a.close();
    return port;
  }

  // The zone corp.example with these records ({name, type, ttl, data}, names relative to it).
  // `glue`: add A/AAAA of SRV targets to the additional section (a real server may not).
  void set_zone(std::vector<simulator::DnsRecordConfig> records, bool glue = true) {
    simulator::DnsZoneConfig z;
    z.apex = kDomain;
    z.records = std::move(records);
    auto zone = simulator::Zone::from_config(z);
    if (!zone) throw std::runtime_error(zone.error().message());
    simulator::ZoneSet zones;
    zones.add(std::move(*zone));
    simulator::DnsResponderConfig config;
    config.handler.lookup.additional_addresses = glue;
    dns_ = std::make_unique<simulator::DnsResponder>(io_.get_executor(), std::move(zones), config);
    if (auto ec = dns_->start()) throw std::runtime_error("dns start: " + ec.message());
  }
  static simulator::DnsRecordConfig srv(std::uint16_t priority, std::uint16_t weight, std::uint16_t port,
                                        const std::string& target) {
    return {"_vlmcs._tcp", "SRV", 300, fmt::format("{} {} {} {}", priority, weight, port, target)};
  }
  static simulator::DnsRecordConfig a(const std::string& name, const std::string& address = "127.0.0.1") {
    return {name, "A", 300, address};
  }
  std::string dns_server() const { return fmt::format("127.0.0.1:{}", dns_->port()); }

  // An SNTP responder whose clock runs `skew` ahead of real time.
  void add_sntp(std::chrono::nanoseconds skew) {
    sntp_clock_.set_skew(skew);
    sntp_ = std::make_unique<simulator::SntpResponder>(io_, sntp_clock_);
    if (auto ec = sntp_->start()) throw std::runtime_error("sntp start: " + ec.message());
  }
  std::string sntp_server() const { return fmt::format("127.0.0.1:{}", sntp_->local_endpoint().port()); }

  void start() {
    thread_ = std::thread([this] {
      io_.run();
      finished_ = true;
    });
  }

  void stop() {
    if (dns_) dns_->stop();
    if (sntp_) sntp_->stop();
    for (auto& h : hosts_) h->stop();
    if (thread_.joinable()) {
      // Servers finish their coroutines after stop(); give them a bounded time, then force it.
      for (int i = 0; i < 200 && !finished_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (!finished_) io_.stop();
      thread_.join();
    }
    hosts_.clear();
    dns_.reset();
    sntp_.reset();
  }

 private:
  net::asio::io_context io_;
  simulator::SkewedClock clock_;
  simulator::SkewedClock sntp_clock_;
  std::vector<std::unique_ptr<simulator::KmsHost>> hosts_;
  std::map<std::string, std::uint16_t> ports_;
  std::unique_ptr<simulator::DnsResponder> dns_;
  std::unique_ptr<simulator::SntpResponder> sntp_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
};

}  // namespace kmslab::test
