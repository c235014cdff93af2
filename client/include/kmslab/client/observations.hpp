// What the probe saw: the data model between the probe's network I/O and its diagnosis.
//
// The I/O layer (resolver, connect, RPC bind, KMS activation, SNTP) fills these plain structs as
// it works; diagnose() (diagnosis.hpp) turns them into findings and a verdict, and the report
// renders both. Nothing here does I/O or reads a clock: every time is a monotonic offset from the
// probe's start, measured by the caller with std::chrono::steady_clock, at microsecond resolution.
// Each step records its own outcome enum with the raw evidence behind it (rcode, errno, bytes,
// HRESULT, offsets), so a verdict can always name the observation it came from.
//
// Conventions: a step that did not run has outcome `not_attempted` (or `not_run`) and a zero
// Timing; text fields are empty when unknown; ports are host order; HRESULTs are the 32-bit value
// as Windows prints it (0xC004F074).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::client {

using Micros = std::chrono::microseconds;

inline constexpr std::uint16_t kKmsPort = 1688;

// The six timed phases of one probe, in the order a Windows client goes through them.
enum class Phase : std::uint8_t { dns_srv, dns_address, tcp_connect, rpc_bind, kms_activate, time_offset };
inline constexpr std::array<Phase, 6> kAllPhases{Phase::dns_srv,  Phase::dns_address,  Phase::tcp_connect,
                                                 Phase::rpc_bind, Phase::kms_activate, Phase::time_offset};
std::string_view to_string(Phase phase) noexcept;  // "dns.srv", "tcp.connect", ...
std::optional<Phase> parse_phase(std::string_view text) noexcept;

// When a step started (offset from the probe's start) and how long it took, both monotonic.
struct Timing {
  Micros start{0};
  Micros duration{0};
  Micros end() const { return start + duration; }
  friend bool operator==(const Timing&, const Timing&) = default;
};

// One row of the probe's timeline: a phase run against one target (timeline.hpp derives the rows
// from the observations below, so timing and outcome always agree with what diagnosis saw).
enum class PhaseOutcome : std::uint8_t { ok, failed, timed_out };
std::string_view to_string(PhaseOutcome outcome) noexcept;
std::optional<PhaseOutcome> parse_phase_outcome(std::string_view text) noexcept;

struct EvidenceItem {
  std::string key;  // "rcode", "errno", "hresult", "offset_ms", ...
  std::string value;
  friend bool operator==(const EvidenceItem&, const EvidenceItem&) = default;
};

struct PhaseRecord {
  Phase phase = Phase::dns_srv;
  std::string target;  // query name, host, "host:port", time server
  Micros start{0};     // offset from the probe's start
  Micros duration{0};
  PhaseOutcome outcome = PhaseOutcome::ok;
  std::vector<EvidenceItem> evidence;
  friend bool operator==(const PhaseRecord&, const PhaseRecord&) = default;
};

// ---------------------------------------------------------------------------------------------
// DNS

enum class DnsOutcome : std::uint8_t {
  ok,        // NOERROR with answers of the asked type
  nxdomain,  // the name does not exist
  nodata,    // NOERROR, the name exists, no record of that type
  servfail,
  refused,
  timeout,  // no answer from any server before the deadline
  formerr,
  tcp_failed,  // the UDP answer was truncated (TC) and the TCP retry failed
  error,       // anything else (connection closed, unparsable answer ...): see `detail`
  // The server's port is closed: ICMP port unreachable over UDP, connection refused over TCP.
  // The server is down (or not where the client looks), not failing to answer.
  unreachable,
};
std::string_view to_string(DnsOutcome outcome) noexcept;
std::optional<DnsOutcome> parse_dns_outcome(std::string_view text) noexcept;

// One SRV answer record (RFC 2782 fields).
struct SrvAnswer {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;  // host name without the trailing dot; "." means "service not offered"
  std::uint32_t ttl = 0;
  friend bool operator==(const SrvAnswer&, const SrvAnswer&) = default;
};

// One A/AAAA record, from an answer or from the additional section of the SRV answer.
struct AddressAnswer {
  std::string host;
  std::string address;  // textual IPv4 or IPv6
  std::uint32_t ttl = 0;
  friend bool operator==(const AddressAnswer&, const AddressAnswer&) = default;
};

// The SRV lookup `_vlmcs._tcp.<domain>` for one domain.
struct DnsObservation {
  std::string domain;      // "corp.example"
  std::string query_name;  // "_vlmcs._tcp.corp.example"
  DnsOutcome outcome = DnsOutcome::error;
  std::string server;  // the server that answered or was asked last, "127.0.0.1:5353"
  bool used_tcp = false;
  bool truncated = false;  // a UDP answer had TC set
  std::vector<SrvAnswer> records;
  std::vector<AddressAnswer> additional;
  std::string detail;  // the resolver's own words for `error` (and any extra context)
  Timing timing;
};

// ---------------------------------------------------------------------------------------------
// One attempt to activate against one target.

// How the target was found.
enum class TargetSource : std::uint8_t {
  srv,          // from the SRV answer of a domain
  kms,          // named by the operator (--kms, like slmgr /skms)
  cached,       // the client's cached host (--cached-host), tried first as Windows does
  ladder_name,  // triage ladder, rung 1: the host by name on the KMS port
  ladder_ip,    // triage ladder, rung 2: the host by IP address
};
std::string_view to_string(
    TargetSource source) noexcept;  // "srv", "kms", "cached", "ladder-name", "ladder-ip"
std::optional<TargetSource> parse_target_source(std::string_view text) noexcept;
// True for the sources a real Windows client would use (the ladder is the probe's own triage).
bool is_client_path(TargetSource source) noexcept;

enum class AddressSource : std::uint8_t {
  literal,     // the target was an IP address already
  additional,  // A/AAAA records that came with the SRV answer
  query,       // separate A/AAAA queries
};
std::string_view to_string(AddressSource source) noexcept;
std::optional<AddressSource> parse_address_source(std::string_view text) noexcept;

// Name -> addresses for one target (A and AAAA combined: ok when either gave an address;
// otherwise the more telling failure, e.g. nxdomain over nodata).
struct AddressLookup {
  AddressSource source = AddressSource::query;
  DnsOutcome outcome = DnsOutcome::ok;
  std::vector<std::string> addresses;
  std::string server;
  bool used_tcp = false;
  std::string detail;
  Timing timing;
};

enum class ConnectOutcome : std::uint8_t {
  not_attempted,
  ok,
  refused,      // RST: a host answered, nothing listens (ECONNREFUSED)
  timeout,      // no answer at all before the deadline: filtered
  reset,        // reset while connecting
  unreachable,  // ICMP unreachable / no route (EHOSTUNREACH, ENETUNREACH)
  error,        // another errno
};
std::string_view to_string(ConnectOutcome outcome) noexcept;
std::optional<ConnectOutcome> parse_connect_outcome(std::string_view text) noexcept;

struct ConnectObservation {
  ConnectOutcome outcome = ConnectOutcome::not_attempted;
  std::string address;  // "192.0.2.10:1688" or "[2001:db8::1]:1688": the last one tried
  int addresses_tried = 0;
  int error_number = 0;    // errno for refused/reset/unreachable/error
  std::string error_text;  // strerror / Asio message
  Micros deadline{0};      // the connect deadline (what "no answer" waited for)
  Timing timing;
};

enum class TransferSyntax : std::uint8_t { none, ndr32, ndr64 };
std::string_view to_string(TransferSyntax syntax) noexcept;
std::optional<TransferSyntax> parse_transfer_syntax(std::string_view text) noexcept;

enum class BindOutcome : std::uint8_t {
  not_attempted,
  accepted,           // a usable presentation context for the KMS interface
  nak,                // bind_nak PDU
  no_usable_context,  // bind_ack, but every context for the KMS interface was rejected
  fault,              // fault PDU
  malformed,          // the answer did not decode as an RPC PDU of the expected type
  no_response,        // connected, nothing came back before the deadline
  reset,              // the peer reset or closed the connection
};
std::string_view to_string(BindOutcome outcome) noexcept;
std::optional<BindOutcome> parse_bind_outcome(std::string_view text) noexcept;

struct BindObservation {
  BindOutcome outcome = BindOutcome::not_attempted;
  TransferSyntax syntax = TransferSyntax::none;  // the accepted one
  bool alter_context_used = false;  // NDR32 had to be negotiated with alter_context (as vlmcs does)
  bool btfn_acked = false;
  std::uint16_t btfn_bitmap = 0;
  std::uint16_t nak_reason = 0;    // bind_nak reject reason, or the provider reason of a rejection
  std::uint32_t fault_status = 0;  // fault PDU status (e.g. 0x1C010003 nca_unk_if)
  std::string detail;              // decoder message for malformed, errno text for reset
  std::size_t bytes_sent = 0;
  std::size_t bytes_received = 0;
  Micros deadline{0};
  Timing timing;
};

enum class ActivationOutcome : std::uint8_t {
  not_attempted,
  ok,            // a KMS response that passed every client-side check
  hresult,       // the host refused in-band (null pointer + HRESULT in the response stub)
  bad_response,  // decoded, but a client-side check failed: see `failed_check`
  malformed,     // the response PDU or stub did not decode
  fault,         // an RPC fault PDU answered the request
  no_response,
  reset,
};
std::string_view to_string(ActivationOutcome outcome) noexcept;
std::optional<ActivationOutcome> parse_activation_outcome(std::string_view text) noexcept;

// Which client-side check rejected a response (kms.bad_response).
enum class ResponseCheck : std::uint8_t {
  none,
  size,
  padding,
  version,
  mac,
  hash,
  hmac,
  iv,
  cmid_echo,
  time_echo,
};
std::string_view to_string(ResponseCheck check) noexcept;
std::optional<ResponseCheck> parse_response_check(std::string_view text) noexcept;

// The decoded base response (docs/protocol.md) of a successful activation.
struct KmsResponseFields {
  std::uint16_t version_major = 0;
  std::uint16_t version_minor = 0;
  std::string epid;
  std::uint32_t current_count = 0;
  std::uint32_t activation_interval_min = 0;
  std::uint32_t renewal_interval_min = 0;
  bool cmid_echoed = true;  // the response carried our CMID back
  bool time_echoed = true;  // ... and our client time
  std::string hwid;         // v6 hardware id as hex, empty before v6
};

struct ActivationObservation {
  ActivationOutcome outcome = ActivationOutcome::not_attempted;
  std::uint16_t protocol_major = 0;  // the KMS protocol version requested (4, 5, 6)
  std::uint32_t hresult = 0;         // in-band HRESULT for `hresult`
  ResponseCheck failed_check = ResponseCheck::none;
  KmsResponseFields response;      // for `ok`
  std::uint32_t fault_status = 0;  // for `fault`
  std::string detail;
  std::size_t bytes_sent = 0;
  std::size_t bytes_received = 0;
  Micros deadline{0};
  Timing timing;
};

// One target tried, with every step that ran.
struct AttemptObservation {
  std::string host;  // name or address literal as given / found
  std::uint16_t port = kKmsPort;
  TargetSource source = TargetSource::srv;
  std::string domain;            // for srv: the domain whose SRV answer named it
  std::optional<SrvAnswer> srv;  // for srv: the record
  AddressLookup address;
  ConnectObservation connect;
  BindObservation bind;
  ActivationObservation activation;

  std::string label() const;  // "host:port", IPv6 literals in brackets
};

// ---------------------------------------------------------------------------------------------
// Time source

enum class SntpOutcome : std::uint8_t {
  not_run,
  ok,
  no_answer,       // nothing before the deadline
  kiss_of_death,   // stratum 0 with a kiss code (DENY, RATE, ...)
  unsynchronised,  // stratum 16 or leap indicator 3 (alarm)
  bad_reply,       // failed validation (mode, originate mismatch, zero transmit ...)
  error,           // socket error, see detail
};
std::string_view to_string(SntpOutcome outcome) noexcept;
std::optional<SntpOutcome> parse_sntp_outcome(std::string_view text) noexcept;

struct SntpObservation {
  std::string server;  // "127.0.0.1:123"
  SntpOutcome outcome = SntpOutcome::not_run;
  std::int64_t offset_ns = 0;  // source minus local: positive = the local clock is behind
  std::int64_t delay_ns = 0;   // round-trip delay
  std::uint8_t stratum = 0;
  std::string kiss_code;
  std::string detail;
  Timing timing;
};

// ---------------------------------------------------------------------------------------------
// Triage ladder: when discovery or activation failed, the I/O layer activates against the host
// by name, then by IP address. The rung results are attempts with source ladder_name /
// ladder_ip; this records whether the ladder ran, why, and what it aimed at.
struct LadderObservation {
  bool ran = false;
  std::string trigger;  // why it ran, e.g. "SRV discovery failed for corp.example"
  std::string host;     // the KMS host name tried on rung 1
  std::uint16_t port = kKmsPort;
  std::string address;  // the IP tried on rung 2; empty when none was known
};

// What the operator asked for, echoed into the report so a run can be replayed.
struct ProbeOptions {
  std::vector<std::string> domains;
  std::string product;          // product name as given, e.g. "Windows 10 Enterprise"
  std::uint32_t n_policy = 25;  // the product's minimum count (25 client OS, 5 server / Office)
  std::uint16_t protocol = 6;   // KMS protocol major version requested
  std::map<Phase, Micros> budgets;
  std::string discovery_model = "rfc2782";  // SRV ordering: "rfc2782" or "random"
  std::uint64_t seed = 0;
  std::vector<std::string> dns_servers;  // empty = system resolver
  std::string kms_host;                  // --kms, empty when discovering
  std::string cached_host;               // --cached-host
  std::string time_source;               // SNTP server asked, empty when none
  bool strict = false;
};

struct ProbeObservations {
  ProbeOptions options;
  std::chrono::system_clock::time_point started_at{};  // wall clock, for the report only
  Micros total{0};                                     // whole probe, monotonic
  std::vector<DnsObservation> dns;                     // one SRV lookup per domain, in order
  std::vector<AttemptObservation> attempts;            // in the order tried (ladder rungs last)
  LadderObservation ladder;
  std::vector<SntpObservation> sntp;
};

}  // namespace kmslab::client
