// A whole simulated site from one SimulatorConfig: the KMS hosts, the DNS zone(s) that publish
// them, and the time source, running on the caller's io_context. This is what `kmslab serve`,
// the scenario runner and the integration tests start.
//
// start() binds the KMS hosts first, so their real (possibly ephemeral) ports are known, then
// builds the zones: each host's `publish` entry becomes an SRV record `_vlmcs._tcp.<domain>` with
// the bound port and the host's FQDN, plus A/AAAA records for that FQDN with the bound addresses
// (0.0.0.0 / :: are published as loopback); raw records whose SRV port names a host get that
// host's bound port. Then DNS and SNTP start. Everything listens on loopback unless the config
// names other addresses.
// The site owns one FaultEngine (faults()): the KMS hosts consult it at each connection stage, a
// DNS interceptor and the SNTP fault hook apply its hits, and its listener states are applied to
// the hosts' listeners. The config's `faults:` are added at start().
// Thread-safety: start/stop from one thread; the accessors, counters and faults from any thread.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/simulator/activation_log.hpp"
#include "kmslab/simulator/clock.hpp"
#include "kmslab/simulator/dns_responder.hpp"
#include "kmslab/simulator/fault_engine.hpp"
#include "kmslab/simulator/kms_host.hpp"
#include "kmslab/simulator/sim_config.hpp"
#include "kmslab/simulator/sntp_responder.hpp"

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kmslab::simulator {

class Site {
 public:
  Site(net::asio::io_context& io, SimulatorConfig config);
  ~Site();
  Site(const Site&) = delete;
  Site& operator=(const Site&) = delete;

  // Error: one sentence naming the component and the reason (bind failure, bad product name,
  // unwritable activation log, a zone record that does not parse).
  boost::system::result<void, std::string> start();
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(0));
  // Connections the KMS hosts still hold, summed: what a drain waits for (an exchange in flight
  // is an open connection; DNS and SNTP are stopped at once and hold nothing).
  std::size_t open_kms_connections() const;

  const SimulatorConfig& config() const noexcept { return config_; }
  SkewedClock& clock() noexcept { return clock_; }
  KmsHost* kms_host(std::string_view name);
  const std::vector<std::unique_ptr<KmsHost>>& kms_hosts() const noexcept { return hosts_; }
  DnsResponder* dns() noexcept { return dns_.get(); }
  SntpResponder* sntp() noexcept { return sntp_.get(); }
  // "127.0.0.1:5353" for the DNS server (UDP and TCP share it); empty when DNS is disabled.
  std::string dns_endpoint() const;
  std::string sntp_endpoint() const;
  // {"dns": "...", "sntp": "...", "kms": {"kms1": ["127.0.0.1:40001"]}}
  nlohmann::json endpoints() const;
  // Counters since start or the last reset_counters() (gauges such as open connections are
  // reported as they are).
  nlohmann::json counters() const;
  void reset_counters();
  FaultEngine& faults() noexcept { return faults_; }

 private:
  // The zones to serve (the config's, with the hosts published); moves the zone files' records out
  // of config_, so that each record is held once, by the responder's zone.
  boost::system::result<std::vector<DnsZoneConfig>, std::string> build_zones();
  nlohmann::json raw_counters() const;

  net::asio::io_context& io_;
  SimulatorConfig config_;
  SkewedClock clock_;
  FaultEngine faults_;  // before the servers: they hold a pointer to it
  std::shared_ptr<ActivationLog> log_;
  std::vector<std::unique_ptr<KmsHost>> hosts_;
  std::unique_ptr<DnsResponder> dns_;
  std::unique_ptr<SkewedClock> sntp_clock_;
  std::unique_ptr<SntpResponder> sntp_;
  mutable std::mutex baseline_mutex_;
  nlohmann::json baseline_;  // raw counters at the last reset
};

}  // namespace kmslab::simulator
