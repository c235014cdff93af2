// A scenario: one failure mode of a KMS site, reproduced and checked end to end.
//
// A scenario is data read from YAML (scenario_loader.hpp; docs/scenarios.md documents every key):
// the simulated site (the `simulator:` section, the same schema `kmslab serve` reads), the faults
// injected into it, the probe options, and what the probe must conclude: finding codes present and
// absent, the Windows code, the exit status, and time windows per phase. Optional steps change the
// faults between probe runs (the primary dies, the next probe fails over); a scenario without
// `steps:` has exactly one implicit step built from its top-level `probe:` and `expect:`.
//
// Everything here is plain values: a loaded Scenario is validated (names, codes, ranges,
// cross-references), immutable, and can be copied to run it several times in parallel.
#pragma once

#include "kmslab/client/diagnosis.hpp"
#include "kmslab/client/findings.hpp"
#include "kmslab/client/observations.hpp"
#include "kmslab/harness/fault_bridge.hpp"
#include "kmslab/simulator/sim_config.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::harness {

using Micros = client::Micros;

// A finding the probe must report; `severity` pins it (a failed primary is a warning when the
// secondary worked, an error when nothing did).
struct ExpectedFinding {
  client::FindingCode code = client::FindingCode::dns_srv_missing;
  std::optional<client::Severity> severity;
  friend bool operator==(const ExpectedFinding&, const ExpectedFinding&) = default;
};

// A time window for one row of the probe's timeline. Rows of the same phase are counted in
// timeline order (`occurrence` 0 = the first tcp.connect); `target` narrows the rows to those whose
// target contains the text. A bound that is not set is not checked.
struct PhaseWindow {
  client::Phase phase = client::Phase::dns_srv;
  std::size_t occurrence = 0;
  std::string target;
  std::optional<client::PhaseOutcome> outcome;
  std::optional<Micros> min;
  std::optional<Micros> max;
  friend bool operator==(const PhaseWindow&, const PhaseWindow&) = default;
};

struct Expectation {
  std::vector<ExpectedFinding> findings;      // each must be reported
  std::vector<client::FindingCode> absent;    // none of these may be reported
  bool exact_findings = true;                 // no code beyond `findings` may be reported
  std::optional<client::Verdict> verdict;
  std::optional<std::uint32_t> windows_code;  // `hresult:` (0 = activates)
  std::optional<std::uint32_t> underlying_code;
  std::optional<int> exit_code;
  std::optional<client::LadderVerdict> ladder;
  std::vector<PhaseWindow> phases;
  std::optional<Micros> total_min;  // the whole probe
  std::optional<Micros> total_max;
  friend bool operator==(const Expectation&, const Expectation&) = default;
};

// What the probe is told. Host references (`kms`, `cached_host`, `kms_hint`) name a simulator host
// (replaced by its bound endpoint at run time) or are a literal host:port.
struct ProbeSpec {
  std::vector<std::string> domains;  // empty: the first domain any host publishes to
  bool site_dns = true;              // ask the site's DNS responder (else `dns_servers`)
  bool closed_dns = false;           // ask a loopback port nothing listens on (a DNS server that is down)
  std::vector<std::string> dns_servers;
  std::string kms;
  std::string cached_host;
  std::string kms_hint;
  bool ntp = false;        // query the site's SNTP responder
  std::string ntp_server;  // a literal time source instead
  std::string product = "Windows 10 Enterprise";
  std::optional<std::uint16_t> protocol;  // 4, 5, 6; default: the product's
  std::string discovery = "rfc2782";      // or "random"
  std::optional<std::uint64_t> seed;      // default: derived from the run's seed
  std::map<client::Phase, Micros> budgets;
  // Short defaults: a scenario's timeouts are real waits, and the catalog's time is a budget.
  std::chrono::milliseconds dns_timeout{1000};
  int dns_tries = 1;
  bool dns_tcp = false;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds bind_timeout{2000};
  std::chrono::milliseconds request_timeout{2000};
  std::chrono::milliseconds ntp_timeout{1000};
  std::chrono::seconds clock_offset{0};
  std::optional<std::chrono::nanoseconds> time_skew_threshold;
  bool ladder = true;
  bool strict = false;
  bool ndr64 = true;
  bool btfn = true;
  bool multiplexed = true;
  std::string workstation;  // empty: the probe's default
};

// Runtime state changes applied before a step's probe run, in this order: clear, remove, add.
struct FaultChanges {
  bool clear = false;
  std::vector<std::string> remove;  // fault names
  std::vector<FaultSpec> add;
};

struct Step {
  std::string name;  // "primary up", "primary refused"; default "step <n>"
  FaultChanges faults;
  std::chrono::milliseconds sleep{0};  // real wait after the changes, before probing
  ProbeSpec probe;                     // the scenario's probe with this step's overrides
  Expectation expect;
};

// The runbook rows a scenario can belong to (docs/probe.md "Findings", runbook column): the ids of
// client::RunbookCause ("1a", "1b", "slow", "2", "3", "protocol") plus "baseline" for healthy sites.
inline constexpr std::string_view kBaselineCause = "baseline";

// Where a scenario runs. none: in the runner's process, on loopback. netns: in a child process in
// a fresh network namespace of its own (harness/isolation.hpp), for faults that change the network
// itself (a `filtered` fault with mode nftables); skipped, with the reason, where that cannot run.
enum class Isolation : std::uint8_t { none, netns };
std::string_view to_string(Isolation isolation) noexcept;  // "none", "netns"

inline constexpr std::chrono::milliseconds kDefaultScenarioTimeout{20'000};
inline constexpr std::chrono::milliseconds kMaxScenarioTimeout{300'000};

struct Scenario {
  std::string name;  // unique in a suite; [a-z0-9._-]
  std::string description;
  std::string cause;  // runbook id or "baseline"
  std::vector<std::string> tags;
  std::string file;  // where it was loaded from ("" for text)
  std::optional<std::uint64_t> seed;
  std::chrono::milliseconds timeout = kDefaultScenarioTimeout;  // the whole scenario, all steps
  Isolation isolation = Isolation::none;  // `isolation:`; netns when a fault needs it
  simulator::SimulatorConfig simulator;
  std::vector<FaultSpec> faults;  // active from the start
  std::vector<Step> steps;                   // never empty once loaded
};

}  // namespace kmslab::harness
