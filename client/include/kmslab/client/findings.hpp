// The findings catalog: every problem the probe can report, with what an operator needs to act.
//
// A finding code is stable (docs/probe.md "Findings" is the one list; the JSON report, scenarios and
// issues use these strings). Each catalog entry fixes the code's severity, the Windows HRESULT a
// client would show for it (or none when Windows shows nothing specific), how sure we are of that
// HRESULT, the runbook cause it belongs to, a title, and the runbook's next checks as command
// templates. A Finding is one catalog entry applied to one target: the evidence lines taken from
// observations and the checks with the domain / host / port filled in.
//
// The catalog is immutable static data; every function here is pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kmslab/client/observations.hpp"

namespace kmslab::client {

enum class Severity : std::uint8_t { info, warning, error };  // ordered: error is the worst
std::string_view to_string(Severity severity) noexcept;       // "info", "warning", "error"
std::optional<Severity> parse_severity(std::string_view text) noexcept;

// The runbook's causes of 0xC004F074 (docs/probe.md "Findings", runbook column).
enum class RunbookCause : std::uint8_t {
  dns_srv,        // 1a: SRV discovery
  tcp_1688,       // 1b: TCP 1688 blocked
  slow,           // slow responses
  key_type,       // 2: key type / product not served / count
  clock,          // 3: clock skew
  protocol,       // protocol faults
  windows_local,  // 4 file locks, 5 AppLocker / SRP / SmartScreen
};
std::string_view to_string(
    RunbookCause cause) noexcept;  // stable id: "1a", "1b", "slow", "2", "3", "protocol", "4/5"
std::string_view describe(RunbookCause cause) noexcept;  // "DNS SRV discovery", ...
std::optional<RunbookCause> parse_runbook_cause(std::string_view id) noexcept;

enum class FindingCode : std::uint8_t {
  dns_srv_missing,
  dns_srv_nodata,
  dns_servfail,
  dns_refused,
  dns_timeout,
  dns_unreachable,
  dns_no_address,
  dns_wrong_port,
  dns_truncated_no_tcp,
  tcp_refused,
  tcp_filtered,
  tcp_reset,
  rpc_no_response,
  rpc_bind_rejected,
  rpc_fault,
  rpc_malformed,
  kms_time_skew,
  kms_product_not_served,
  kms_count_too_low,
  kms_invalid_request,
  kms_bad_response,
  time_skew,
  time_source_unavailable,
  slow_dns_srv,
  slow_dns_address,
  slow_tcp_connect,
  slow_rpc_bind,
  slow_kms_activate,
  slow_time_offset,
  failover_used,
};
inline constexpr std::size_t kFindingCodeCount = 30;
std::span<const FindingCode> all_finding_codes() noexcept;  // in declaration order

std::string_view to_string(FindingCode code) noexcept;  // "dns.srv_missing", "slow.tcp.connect"
std::optional<FindingCode> parse_finding_code(std::string_view text) noexcept;
FindingCode slow_code(Phase phase) noexcept;
std::optional<Phase> slow_phase(FindingCode code) noexcept;

// How a finding's HRESULT is known.
enum class HresultBasis : std::uint8_t {
  none,        // Windows shows no specific code for this
  documented,  // in docs/protocol.md (Microsoft's list / the vlmcsd capture)
  unverified,  // HRESULT_FROM_WIN32 of the Win32 / DNS / RPC status we believe Windows uses;
               // not checked against Microsoft's activation error list
  observed,    // taken off the wire (in-band HRESULT, RPC fault status)
};
std::string_view to_string(HresultBasis basis) noexcept;
std::optional<HresultBasis> parse_hresult_basis(std::string_view text) noexcept;

// One runbook check: the command to run (where: said in `why`) and what it tells.
struct CheckTemplate {
  std::string_view command;
  std::string_view why;
};

struct NextCheck {
  std::string command;
  std::string why;
  friend bool operator==(const NextCheck&, const NextCheck&) = default;
};

struct CatalogEntry {
  FindingCode code;
  std::string_view id;  // "dns.srv_missing"
  Severity severity;
  std::optional<std::uint32_t> hresult;
  HresultBasis hresult_basis;
  RunbookCause cause;
  Phase phase;  // where the finding is normally observed
  std::string_view title;
  // Next checks with placeholders {domain}, {srv_name}, {host}, {port}, {address},
  // {dns_server}, {time_source}; see next_checks().
  std::span<const CheckTemplate> checks;
};
const CatalogEntry& catalog_entry(FindingCode code) noexcept;

// What the placeholders of the next checks become. Empty fields render as "<domain>",
// "<kms-host>" ... so a check is still a usable template when the probe did not learn the value.
struct CheckContext {
  std::string domain;
  std::string host;
  std::uint16_t port = kKmsPort;
  std::string address;
  std::string dns_server;    // host part only
  std::uint16_t dns_port = 53;  // checks ask this port too (nslookup -port=N) when it is not 53
  std::string time_source;
};
std::vector<NextCheck> next_checks(FindingCode code, const CheckContext& context);

struct Finding {
  FindingCode code = FindingCode::dns_srv_missing;
  Severity severity = Severity::error;   // the catalog's, lowered to warning when superseded
  std::optional<std::uint32_t> hresult;  // the catalog's, or the one observed on the wire
  HresultBasis hresult_basis = HresultBasis::none;
  Phase phase = Phase::dns_srv;
  std::string target;                 // "_vlmcs._tcp.corp.example", "kms1.corp.example:1688"
  std::vector<std::string> evidence;  // one observation per line, never empty
  std::vector<NextCheck> next_checks;

  const CatalogEntry& entry() const noexcept { return catalog_entry(code); }
  friend bool operator==(const Finding&, const Finding&) = default;
};

// A finding with the catalog's defaults and the checks filled in from `context`.
Finding make_finding(FindingCode code, std::string target, std::vector<std::string> evidence,
                     const CheckContext& context);

// Windows-local runbook checks (4 file locks, 5 AppLocker / SRP / SmartScreen): the probe cannot
// see them from the network, so every report lists them as "not checked from here".
struct LocalCheck {
  std::string_view runbook;  // "4", "5"
  std::string_view title;
  std::string_view why;
  std::span<const CheckTemplate> commands;
};
std::span<const LocalCheck> windows_local_checks() noexcept;

// "0xC004F074" (upper-case hex, 8 digits).
std::string format_hresult(std::uint32_t code);
std::optional<std::uint32_t> parse_hresult(std::string_view text) noexcept;

}  // namespace kmslab::client
