// Diagnosis: from what the probe observed to findings, a verdict and the Windows error code.
//
// diagnose() is a pure function: the same observations and policy always give the same result,
// no clock, no I/O. It never guesses: every finding it emits carries evidence lines quoted from an
// observation (an rcode, an errno, a timeout with its deadline, a decoded HRESULT, a measured
// offset), and a failure with nothing observed behind it produces no finding.
//
// Rules (docs/probe-report-schema.md repeats them for report readers):
// - The client path is what a Windows client would do: targets found by SRV, named with --kms, or
//   cached. The triage ladder's rungs are the probe's own tests: they produce findings and the
//   ladder verdict, but never make the client "activate".
// - Activated = a client-path attempt got a response that passed every client-side check with a
//   count >= the product's N-policy. Then the Windows code is 0; every failure seen on the way
//   (an earlier target, another domain, a ladder rung) is lowered to a warning, and a failed
//   target before the one that worked adds failover.used.
// - Not activated: if a client-path host answered at the KMS level (in-band HRESULT, or a count
//   below the N-policy) the Windows code is that HRESULT; otherwise no host could be contacted and
//   the code is 0xC004F074, wrapping the underlying code of the most recent client-path failure
//   (the finding says so).
// - Verdict: failed when not activated; degraded when activated with warnings; healthy otherwise.
//   Exit code: 0 healthy, 1 failed; degraded gives 0, or 1 with `strict`.
// - Budgets: a phase that completed (not timed out) above its budget adds slow.<phase>.
// - SNTP: |offset| above the threshold adds time.skew; no usable answer, time.source_unavailable.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kmslab/client/findings.hpp"
#include "kmslab/client/observations.hpp"

namespace kmslab::client {

// interrupted: the probe was stopped (SIGINT/SIGTERM) before it finished; see diagnose_interrupted().
enum class Verdict : std::uint8_t { healthy, degraded, failed, interrupted };
std::string_view to_string(Verdict verdict) noexcept;
std::optional<Verdict> parse_verdict(std::string_view text) noexcept;

enum class LadderVerdict : std::uint8_t {
  not_run,
  srv_record,           // by name works: the SRV record is the problem
  name_resolution,      // by name fails, by IP works: name resolution is the problem
  network_or_firewall,  // by IP the TCP connect fails: network or firewall on the KMS port
  kms_service,          // by IP TCP connects, but no KMS answer: the service on the port
  inconclusive,         // by name failed and no address was known to try by IP
};
std::string_view to_string(LadderVerdict verdict) noexcept;
std::optional<LadderVerdict> parse_ladder_verdict(std::string_view text) noexcept;

struct LadderResult {
  LadderVerdict verdict = LadderVerdict::not_run;
  std::string text;                   // one sentence for the report
  std::vector<std::string> evidence;  // one line per rung
  friend bool operator==(const LadderResult&, const LadderResult&) = default;
};

// Windows' own default maximum clock difference for Kerberos, which domain members must meet
// anyway; far below the 4 hours a KMS host tolerates, so drift shows before activation breaks.
inline constexpr std::chrono::minutes kDefaultTimeSkewThreshold{5};
// The client-time tolerance of a KMS host (docs/protocol.md): beyond it the host answers
// 0xC004F06C.
inline constexpr std::chrono::hours kKmsTimeTolerance{4};

inline constexpr std::uint32_t kNoKmsContacted = 0xC004F074u;

inline constexpr int kExitHealthy = 0;
inline constexpr int kExitProblem = 1;
inline constexpr int kExitUsage = 2;  // for the CLI; diagnose() never returns it
inline constexpr int kExitInterrupted = 130;  // as a shell reports a command ended by Ctrl-C

struct DiagnosisPolicy {
  std::map<Phase, Micros> budgets;  // a phase without an entry has no budget
  std::chrono::nanoseconds time_skew_threshold = kDefaultTimeSkewThreshold;
  bool strict = false;  // degraded exits 1
};

struct Diagnosis {
  Verdict verdict = Verdict::failed;
  std::uint32_t windows_code = kNoKmsContacted;  // what the client would show; 0 = activates
  std::optional<std::uint32_t> underlying_code;  // for 0xC004F074: the wrapped error, if known
  std::string windows_code_text;                 // why that code, one sentence
  int exit_code = kExitProblem;
  std::string summary;                         // one line
  std::vector<Finding> findings;               // error, warning, info; then by phase
  std::optional<std::size_t> primary_finding;  // index of the finding behind windows_code
  LadderResult ladder;
  std::vector<PhaseRecord> timeline;
  std::optional<std::size_t> activated_attempt;  // index into ProbeObservations::attempts
  std::string interrupted_during;                 // verdict interrupted: the step cut short, "" if none
};

Diagnosis diagnose(const ProbeObservations& observations, const DiagnosisPolicy& policy);

// The report of a probe stopped before it finished. Only the steps that completed are in
// `observations`; `cut` names the step the stop cut short ("" when it fell between steps). Most
// findings are conclusions about the whole run ("no host answered", the ladder, failover, the
// Windows code), which a partial run cannot support, and a cut step's failure is the stop's, not
// the site's: so there are no findings, no ladder and no Windows code (windows_code 0 and
// windows_code_text say so; the JSON writes null), only the timeline of the finished phases with
// their outcomes. Verdict interrupted, exit code kExitInterrupted.
Diagnosis diagnose_interrupted(const ProbeObservations& observations, const std::string& cut);

int exit_code_for(Verdict verdict, bool strict) noexcept;

}  // namespace kmslab::client
