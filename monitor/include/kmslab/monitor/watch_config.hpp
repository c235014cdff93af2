// The configuration of `kmslab watch`: modules (how to probe) and targets (what to probe, how often).
//
// As in Prometheus' blackbox_exporter, a module is a named set of probe options (the prober, the
// DNS servers, product, protocol, time source, timeouts, phase budgets) and a target names a module
// plus the thing to probe: a domain for the `srv` prober (SRV discovery of `_vlmcs._tcp.<domain>`,
// then activation as a Windows client would), a KMS host[:port] for the `kms` prober (no
// discovery, like `slmgr /skms`). Each target is probed every `interval`, each run delayed by a
// seeded random extra in [0, jitter) so many targets do not probe in lock step.
//
// Loading validates everything before the config is used (so a SIGHUP reload with a bad file can
// keep the old config): unknown keys (with a "did you mean"), a target naming an unknown module,
// duplicate target names, intervals out of range, histogram buckets not increasing, and every
// probe option through client::check_config(). Errors are config::ConfigError with file:line.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kmslab/client/probe.hpp"
#include "kmslab/config/yaml_node.hpp"
#include "kmslab/protocol/error.hpp"

namespace kmslab::monitor {

enum class Prober : std::uint8_t { srv, kms };
std::string_view to_string(Prober prober) noexcept;  // "srv", "kms"

// Latency buckets in seconds: from a LAN round trip to a connect that waits out its deadline.
inline const std::vector<double> kDefaultBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                 0.25,  0.5,    1,     2.5,  5,     10};
inline constexpr std::chrono::milliseconds kMinInterval{100};
inline constexpr std::chrono::hours kMaxInterval{24};
inline constexpr std::size_t kMaxTargets = 1000;
inline constexpr std::size_t kMaxConcurrency = 64;

struct WatchModule {
  std::string name;
  Prober prober = Prober::srv;
  client::ProbeConfig probe;  // everything but the target (domains / kms) and the seed
  // The whole probe's deadline: a run still going then counts as a failure (result "timeout").
  std::chrono::milliseconds timeout{30000};
};

struct WatchTarget {
  std::string name;    // the `target` label; defaults to `target`
  std::string module;  // a key of WatchConfig::modules
  std::string target;  // a domain (srv) or host[:port] (kms)
  std::chrono::milliseconds interval{60000};
  std::chrono::milliseconds jitter{0};  // < interval
};

struct WatchConfig {
  std::string listen = "127.0.0.1:9688";
  std::size_t concurrency = 4;  // probes running at once, over all targets
  std::uint64_t seed = 1;
  std::vector<double> buckets = kDefaultBuckets;
  std::map<std::string, WatchModule> modules;
  std::vector<WatchTarget> targets;
};

config::ConfigResult<WatchConfig> load_watch_config(const std::string& file);
config::ConfigResult<WatchConfig> load_watch_config_text(std::string_view text, const std::string& name);

// The ProbeConfig for one run of `module` against `target` with `seed`. Errors (bad_value): what
// client::check_config() rejects, e.g. a kms target that is not host[:port].
protocol::Result<client::ProbeConfig> probe_config_for(const WatchModule& module, std::string_view target,
                                                       std::uint64_t seed);

}  // namespace kmslab::monitor
