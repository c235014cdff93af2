// The migration audit's data model and its pure analysis: what to check, what was seen, and what
// that means for a KMS site.
//
// An audit asks every `_vlmcs._tcp` SRV record of every domain, resolves every target, and
// activates against every address x product x protocol the product allows, `repeat` times each.
// The I/O half (run.hpp) fills AuditObservations; everything in this header is pure: no sockets,
// no clock, no randomness, so every finding is unit-tested from hand-made observations.
//
// Findings (code, severity; each names its subject, evidence and the runbook's next check):
//   audit.stale_record (error)      a target with no address, or no address answering at the KMS
//                                   level (connect/bind/RPC failure: 0x800706BA on the client)
//   audit.inconsistent_hosts (error) a target refuses (in-band HRESULT) a product another serves
//   audit.product_not_served (error) no target of a domain activates a product
//   audit.wrong_port (warning)      an SRV port other than the standard one (1688)
//   audit.duplicate_target (warning) one host:port listed twice, or two names on one address:port
//   audit.domain_without_record (error) a domain of the suffix list without a usable SRV record
//   audit.count_too_low (error)     a host reports a count below the product's N-policy (0xC004F038)
//   audit.host_clock_offset (warning) --find-tolerance puts the host's clock beyond the threshold
//   audit.bad_response (error)      a host answered with a response failing a client-side check
// Client shares: for each domain, the share of clients each target would receive, under RFC 2782
// (every client ends on the lowest priority that has an answering target, split in proportion to
// weight; all weights 0 split equally) and under the random model (equal among answering targets).
// Shares are report data; --expect turns a share that differs from the intended one into a finding.
//
// Interrupted audits (SIGINT/SIGTERM): the observations hold every check, but only the finished
// ones (all `repeat` samples) have samples. analyse() reports the others as not run and draws no
// finding from them: a check that was cut says nothing about the host, and a finding that counts
// it as a failure would blame a host for our own stop. The report's exit code is
// kExitInterrupted.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kmslab/client/findings.hpp"
#include "kmslab/client/observations.hpp"
#include "kmslab/client/probe.hpp"
#include "kmslab/protocol/error.hpp"
#include "kmslab/protocol/kms_ids.hpp"

namespace kmslab::audit {

using client::Micros;

inline constexpr int kExitInterrupted = 130;  // as a shell reports a command ended by Ctrl-C
using client::Severity;

// A product the audit requests from every host: a product group ("windows-client",
// "windows-server", "office": a representative SKU of the group) or a product named as in
// `kmslab products`.
struct ProductSpec {
  std::string label;  // as the user named it: "office", "Windows 10 Enterprise"
  std::optional<protocol::ProductGroup> group;
  client::ProductChoice product;
  std::vector<std::uint16_t> protocols;  // ascending: from the KMS count ID's minimum to the SKU's own
};

// The three product groups, in this order.
std::vector<std::string> default_products();
// Errors (bad_value, detail says what to write instead): those of client::choose_product.
protocol::Result<ProductSpec> resolve_product(std::string_view text);

// One SRV record of one domain, and what its target resolved to.
struct TargetObservation {
  std::string domain;
  client::SrvAnswer srv;
  client::AddressLookup address;
  std::string label() const;  // "kms1.corp.example:1688"
};

// What one planned check will do: one address of one target, one product, one protocol.
struct PlannedCheck {
  std::size_t target = 0;  // index into AuditObservations::targets
  std::string address;     // textual IP
  std::size_t product = 0; // index into AuditObservations::products
  std::uint16_t protocol = 6;
  friend bool operator==(const PlannedCheck&, const PlannedCheck&) = default;
};

// One connect -> bind -> activate against one address.
struct Sample {
  client::ConnectObservation connect;
  client::BindObservation bind;
  client::ActivationObservation activation;
  bool deadline_hit = false;  // the check's own deadline ended it
  Micros elapsed{0};          // connect start to the last step's end
};

struct CheckObservation {
  PlannedCheck check;
  std::vector<Sample> samples;  // `repeat` of them, in order
};

struct ToleranceObservation {
  std::size_t target = 0;
  client::ToleranceResult result;
};

struct AuditObservations {
  std::vector<std::string> domains;
  std::vector<ProductSpec> products;
  int repeat = 1;
  std::uint64_t seed = 1;
  std::chrono::system_clock::time_point started_at{};
  Micros total{0};
  std::vector<client::DnsObservation> dns;  // one SRV lookup per domain, in order
  std::vector<TargetObservation> targets;   // every SRV record except ".", in answer order
  std::vector<CheckObservation> checks;     // in plan order
  std::vector<ToleranceObservation> tolerances;
  // Stopped early: a check with fewer than `repeat` samples did not finish (see the header comment).
  bool interrupted = false;
};

// Every usable SRV record ("." and empty targets skipped) as a target whose address is still to
// be looked up; the order is domain order, then answer order.
std::vector<TargetObservation> plan_targets(const std::vector<client::DnsObservation>& dns);
// Every address of every target x product x protocol the product allows, in that nesting order.
std::vector<PlannedCheck> plan_checks(const std::vector<TargetObservation>& targets,
                                      const std::vector<ProductSpec>& products);

struct AuditPolicy {
  std::optional<std::uint16_t> standard_port = client::kKmsPort;  // nullopt: no wrong_port check
  std::chrono::seconds clock_offset_threshold{300};
  bool strict = false;  // warnings also fail (exit 1)
};

struct Finding {
  std::string code;  // "audit.stale_record", "expect.weight", "baseline.epid_changed"
  Severity severity = Severity::error;
  std::string subject;  // "kms1.corp.example:1688", "corp.example", "kms2.corp.example:1688 / office"
  std::string summary;  // one sentence
  std::vector<client::EvidenceItem> evidence;
  std::string next_check;  // the runbook's next step, a command where there is one
};

struct Latency {
  Micros p50{0};
  Micros max{0};
  int samples = 0;
};
// Median (lower middle for an even count) and maximum; nullopt for no values.
std::optional<Latency> latency_of(std::vector<Micros> values);

// not_run: an interrupted audit stopped before the check finished.
enum class Verdict : std::uint8_t { activated, refused, bad_response, unreachable, not_run };
std::string_view to_string(Verdict verdict) noexcept;

// One product x protocol against one target, over all its addresses and samples. The worst
// sample decides: unreachable > bad_response > refused > activated; not_run outranks them all, so a
// result resting on some unfinished check is never read as a verdict on the host.
struct ProductResult {
  std::size_t product = 0;
  std::string label;
  std::uint16_t protocol = 6;
  Verdict verdict = Verdict::unreachable;
  std::uint32_t hresult = 0;  // for refused
  std::string detail;         // what failed, for the other verdicts
  int samples = 0;
  std::optional<std::uint32_t> current_count;  // the lowest the host reported for this product
};

struct AddressState {
  std::string address;
  std::string state;  // "answers", "refused", "timeout", ... (the first failing step)
};

struct TargetSummary {
  std::size_t target = 0;
  std::string domain;
  std::string host;
  std::uint16_t port = 0;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::vector<std::string> addresses;
  std::string address_problem;  // non-empty when the lookup gave no address
  std::vector<AddressState> reachability;
  bool answered = false;  // some address answered at the KMS level
  bool complete = true;   // every check of the target finished (false only in an interrupted audit)
  std::optional<Latency> latency;  // activation request -> response, over every sample that answered
  std::string epid;                // from the first activation
  std::string epid_description;
  std::optional<std::uint32_t> current_count;  // the lowest reported for any product
  std::uint32_t activation_interval_min = 0;
  std::uint32_t renewal_interval_min = 0;
  std::vector<ProductResult> products;
  std::optional<client::ToleranceResult> tolerance;
  double share_rfc2782 = 0;
  double share_random = 0;
  // False when a target of the domain was not fully checked (interrupted): who answers, hence
  // every share of the domain, is then unknown, and the shares above stay 0.
  bool shares_known = true;
  std::string label() const;  // "host:port"
};

struct AuditReport {
  std::vector<std::string> domains;
  std::vector<std::string> products;
  int repeat = 1;
  std::uint64_t seed = 1;
  Micros total{0};
  std::string started_at;  // ISO 8601 UTC
  std::vector<client::DnsObservation> dns;
  std::vector<TargetSummary> targets;
  std::vector<Finding> findings;
  int exit_code = 0;
  bool interrupted = false;
};

// Client shares for one domain's targets (indexes into `targets` with the same domain), given
// which of them answered; see the header comment. Non-answering targets get 0. When none
// answers, every share is 0.
struct Shares {
  std::vector<double> rfc2782;
  std::vector<double> random;
};
Shares client_shares(const std::vector<client::SrvAnswer>& records, const std::vector<bool>& answered);

AuditReport analyse(const AuditObservations& observations, const AuditPolicy& policy);

// Appends findings (from --expect or --baseline) and recomputes the exit code.
void add_findings(AuditReport& report, std::vector<Finding> findings, bool strict);
// 1 when any error finding (or any warning with `strict`), else 0.
int exit_code_of(const std::vector<Finding>& findings, bool strict);

}  // namespace kmslab::audit
