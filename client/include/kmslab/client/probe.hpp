// The probe's orchestration: do what a Windows KMS client does when it activates, record every
// step as an observation, then diagnose.
//
// run_probe(config) goes through, in this order:
//   1. --cached-host: try the client's cached host first (Windows does); when it answers at the
//      KMS level the client stops there, otherwise it falls back to the next step.
//   2. --kms host: the operator's host (slmgr /skms), no discovery. Otherwise SRV discovery:
//      `_vlmcs._tcp.<domain>` for each domain in order until one answer has usable records
//      (like the client's DNS suffix list); targets ordered by the discovery model with the
//      seeded generator; A/AAAA from the additional section when present, else queried.
//   3. Targets are tried in order. As Windows does, the client moves on to the next target only
//      when the target did not answer at the KMS level (no address, connect, bind or RPC failure);
//      an activation, an in-band HRESULT or a response failing a client-side check is final.
//   4. The triage ladder, when no client-path host answered at the KMS level: the host by name
//      on its KMS port, then (unless that answered) by its IP address.
//   5. --ntp: one SNTP query. 6. --find-tolerance: bisection of the client-time offset at which
//      the host that answered starts refusing with 0xC004F06C, over one kept-alive connection.
// Each step has its own deadline (DNS: timeout x tries per server; connect per address; bind;
// request), so a probe always ends. The request's randomness (CMID unless given, IVs, SRV order)
// comes from the seed; the wall clock is injectable. Usage errors are found by check_config()
// before any I/O; network failures are observations, never errors.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kmslab/client/diagnosis.hpp"
#include "kmslab/client/kms_client.hpp"
#include "kmslab/client/observations.hpp"
#include "kmslab/client/sntp_client.hpp"
#include "kmslab/client/srv_order.hpp"
#include "kmslab/net/asio.hpp"
#include "kmslab/protocol/error.hpp"
#include "kmslab/protocol/guid.hpp"

namespace kmslab::client {

// The commonest KMS client in enterprises; Windows 11 Enterprise uses the same SKU ID.
inline constexpr std::string_view kDefaultProduct = "Windows 10 Enterprise";

// Bounds of the --find-tolerance search.
struct ToleranceSearch {
  std::chrono::seconds max_offset{48 * 3600};  // search [-max, +max]
  std::chrono::seconds resolution{60};         // stop bisecting below this
  std::chrono::seconds scan_step{3600};        // when offset 0 is refused: scan for an accepted one
  int max_requests = 160;
};

struct ProbeConfig {
  // Discovery.
  std::vector<std::string> domains;
  std::vector<std::string> dns_servers;  // "host[:port]"; empty: the nameservers of resolv_conf
  std::string resolv_conf = "/etc/resolv.conf";
  std::chrono::milliseconds dns_timeout{2000};
  int dns_tries = 2;
  bool dns_tcp = false;
  DiscoveryModel discovery = DiscoveryModel::rfc2782;
  std::uint64_t seed = 1;
  // Targets.
  std::string kms;          // --kms host[:port]
  std::string cached_host;  // --cached-host host[:port]
  std::string kms_hint;     // --kms-hint host[:port]: the ladder's host when no SRV answer names one
  bool ladder = true;
  // The request.
  std::string product{kDefaultProduct};    // name or GUID from the ID table
  std::optional<std::uint16_t> protocol;   // 4, 5, 6; default: the product's
  std::string workstation = "kmslab-probe";
  std::optional<protocol::Guid> cmid;      // default: a v4 GUID from the seed
  KmsClientOptions kms_client;
  // Time.
  std::string ntp;  // --ntp host[:port]
  std::chrono::milliseconds ntp_timeout{2000};
  std::chrono::seconds clock_offset{0};  // added to the client time sent
  bool find_tolerance = false;
  ToleranceSearch tolerance;
  // Diagnosis.
  std::map<Phase, Micros> budgets;
  std::chrono::nanoseconds time_skew_threshold = kDefaultTimeSkewThreshold;
  bool strict = false;
  WallClock now;  // empty: std::chrono::system_clock
};

// The product a request names, resolved through the ID table.
struct ProductChoice {
  std::string name;
  protocol::Guid app_id;
  protocol::Guid sku_id;
  protocol::Guid kms_count_id;
  std::uint32_t n_policy = 0;
  std::uint16_t protocol = 6;  // the product's own KMS protocol
};

// Errors (bad_value, detail naming what to fix): no match, an ambiguous name (the candidates are
// listed), a SKU without a known KMS count ID or N-policy.
protocol::Result<ProductChoice> choose_product(std::string_view name_or_guid);

// Everything a config can get wrong before any I/O: nothing to probe, a host:port that does not
// parse, an unknown product, protocol not 4/5/6, a workstation name too long for the request,
// non-positive timeouts or tries. Errors are bad_value with the option named in `detail`.
protocol::Result<void> check_config(const ProbeConfig& config);

// What --find-tolerance learned about one host. Offsets are what the probe added to its own
// clock in the request's client time; a host accepts the interval [min_accepted, max_accepted].
struct ToleranceResult {
  std::string target;  // "127.0.0.1:1688"
  bool accepted_at_zero = false;
  std::optional<std::chrono::seconds> min_accepted;  // nullopt: no accepted offset found
  std::optional<std::chrono::seconds> max_accepted;
  bool min_is_bound = false;  // still accepted at -max_offset: the real edge is further out
  bool max_is_bound = false;
  std::chrono::seconds resolution{0};
  int requests = 0;
  std::string detail;  // why the search stopped early, when it did

  // (max + min) / 2: how far the host's clock is from ours; (max - min) / 2: its tolerance.
  std::optional<std::chrono::seconds> host_offset() const;
  std::optional<std::chrono::seconds> tolerance() const;
};
nlohmann::json to_json(const ToleranceResult& result);
std::string render_text(const ToleranceResult& result);

struct ProbeRun {
  ProductChoice product;
  ProbeObservations observations;
  Diagnosis diagnosis;
  std::optional<ToleranceResult> tolerance;  // with find_tolerance
};

DiagnosisPolicy diagnosis_policy(const ProbeConfig& config);

// REQUIRES: check_config(config) succeeded (otherwise std::invalid_argument is thrown), and the
// coroutine is awaited on an executor whose handlers do not run concurrently. A resolver that
// cannot start is not an error: the lookups that needed it are observed as DNS errors.
net::asio::awaitable<ProbeRun> run_probe(ProbeConfig config);

// check_config, then run_probe on a private io_context, for callers without one (the CLI).
// With `stop`: once *stop is true (set from another thread, e.g. on SIGINT), the probe stops
// within a few tens of milliseconds and the run returned holds only the steps that had completed,
// diagnosed by diagnose_interrupted() (verdict interrupted, no findings, no tolerance result).
// Errors: those of check_config.
protocol::Result<ProbeRun> run_probe_blocking(ProbeConfig config, const std::atomic<bool>* stop = nullptr);

}  // namespace kmslab::client
