// Inside kmslab::bench: the per-kind target constructors make_target_factory() chooses from.
// Each takes what the factory resolved and checked once (endpoints, product), so a target's
// constructor cannot fail and its request() does no validation work.
#pragma once

#include "kmslab/bench/targets.hpp"
#include "kmslab/client/probe.hpp"
#include "kmslab/net/asio.hpp"

#include <memory>
#include <string>
#include <vector>

namespace kmslab::bench::detail {

struct KmsTargetConfig {
  std::vector<net::tcp::endpoint> endpoints;
  client::ProductChoice product;
  std::uint16_t protocol = 6;
  bool keepalive = false;
  std::string workstation;
  std::chrono::nanoseconds timeout{0};
};
std::unique_ptr<LoadTarget> make_kms_target(const TargetContext& context, const KmsTargetConfig& config);

struct DnsTargetConfig {
  net::udp::endpoint server;
  std::string query_name;  // "_vlmcs._tcp.corp.example"
};
std::unique_ptr<LoadTarget> make_dns_target(const TargetContext& context, const DnsTargetConfig& config);

std::unique_ptr<LoadTarget> make_sntp_target(const TargetContext& context, const net::udp::endpoint& server);

// `base` passed check_config(); each request runs it with its own seed.
std::unique_ptr<LoadTarget> make_probe_target(const TargetContext& context, const client::ProbeConfig& base);

}  // namespace kmslab::bench::detail
