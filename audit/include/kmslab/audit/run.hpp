// The audit's I/O half: SRV lookups, address lookups, and every planned check (address x product
// x protocol, `repeat` times) on Asio, at most `parallel` at a time, each sample with its own
// deadline. It only observes: analyse() (audit.hpp) decides what the observations mean.
//
// Order of work: the SRV record of each domain (one resolver, the probe's c-ares integration);
// each target's addresses (the SRV answer's additional section when it has them, else A and
// AAAA queries); then the checks from plan_checks(), run by `parallel` workers that each take the
// next check. A sample is connect -> bind -> one activation (KmsSession's per-step deadlines),
// raced against `check_timeout` so a host that trickles cannot hold a worker. With
// find_tolerance, each target that activated a product gets the probe's tolerance bisection.
// Randomness (CMIDs, request IVs, DNS query ids) comes from `seed`: check i uses its own
// generator seeded from (seed, i), so results do not depend on which worker ran it.
// Network failures are observations; only a bad config is an error (check_config).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "kmslab/audit/audit.hpp"
#include "kmslab/client/kms_client.hpp"
#include "kmslab/client/probe.hpp"
#include "kmslab/net/asio.hpp"

namespace kmslab::audit {

inline constexpr int kMaxParallel = 64;
inline constexpr int kMaxRepeat = 100;

struct AuditConfig {
  std::vector<std::string> domains;
  std::vector<std::string> dns_servers;  // "ip[:port]"; empty: resolv_conf's nameservers
  std::string resolv_conf = "/etc/resolv.conf";
  std::chrono::milliseconds dns_timeout{2000};
  int dns_tries = 2;
  bool dns_tcp = false;
  std::vector<std::string> products;  // groups or product names; empty: default_products()
  int parallel = 4;
  int repeat = 1;
  client::KmsClientOptions kms_client;
  std::chrono::milliseconds check_timeout{15000};  // one sample, connect to response
  bool find_tolerance = false;
  client::ToleranceSearch tolerance;
  std::string workstation = "kmslab-audit";
  std::uint64_t seed = 1;
  client::WallClock now;  // empty: std::chrono::system_clock
};

// Errors (bad_value, detail names the option): no domain, a domain that is not a name, a DNS
// server that does not parse, an unknown product, parallel outside 1..64, repeat outside 1..100,
// non-positive timeouts.
protocol::Result<void> check_config(const AuditConfig& config);

// REQUIRES: check_config(config) succeeded (else std::invalid_argument), awaited on an executor
// whose handlers never run concurrently.
net::asio::awaitable<AuditObservations> run_audit(AuditConfig config);

// check_config, then run_audit on a private io_context.
// With `stop`: once *stop is true (set from another thread, e.g. on SIGINT), the audit stops within
// a few tens of milliseconds and returns observations marked interrupted: the DNS lookups that
// finished, the targets whose addresses were looked up, and every check of those targets, with
// samples only for the checks that finished (audit.hpp). Errors: those of check_config.
protocol::Result<AuditObservations> run_audit_blocking(AuditConfig config, const std::atomic<bool>* stop = nullptr);

}  // namespace kmslab::audit
