// The load targets of `kmslab load`: what one request is for each kind of server kmslab can load.
//
//   kms://host[:port]            one activation per new connection: TCP connect, DCE/RPC bind,
//                                RequestActivation (v4/v5/v6), close. With `keepalive`, each
//                                in-flight slot keeps its connection: bind once, then request after
//                                request (a slot whose connection failed reconnects on its next turn).
//   dns://host[:port]            one SRV query `_vlmcs._tcp.<domain>` over UDP; the reply is matched
//                                by ID and question and must hold at least one SRV answer.
//   sntp://host[:port]           one SNTP client request; the reply is matched by its originate
//                                timestamp and validated as the probe validates it.
//   probe://domain[?dns=h[:p]]   the whole probe pipeline (SRV discovery, connect, bind, activate,
//                                diagnosis) as `kmslab probe --domain domain --dns h:p` runs it.
//
// Every failure becomes one of the engine's outcome kinds (outcome.hpp), never an exception:
// refused (RST, ICMP port unreachable, a KoD from an SNTP server), timeout (no answer before the
// deadline), reset (the peer closed or reset mid-request), malformed (an answer that does not
// decode or fails a client-side check), hresult (a well-formed refusal with its code: a KMS
// in-band HRESULT, an RPC fault status, a DNS rcode as the Windows code a client would show).
// The classify_* functions below are the whole mapping and are pure, so tests pin every class.
//
// Thread-safety: a target instance is used only on the io_context of the thread it was made for
// (the engine's rule); the factory itself may be called from any one thread. Randomness (CMIDs,
// IVs, DNS IDs, SNTP nonces, probe seeds) comes from the per-thread seed the engine derives from
// the run seed, so a run can be replayed.
#pragma once

#include "kmslab/bench/error.hpp"
#include "kmslab/bench/load_driver.hpp"
#include "kmslab/bench/outcome.hpp"
#include "kmslab/client/diagnosis.hpp"
#include "kmslab/client/observations.hpp"
#include "kmslab/protocol/bytes.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kmslab::bench {

enum class TargetKind : std::uint8_t { kms, dns, sntp, probe };
std::string_view to_string(TargetKind kind) noexcept;  // "kms", "dns", "sntp", "probe"

inline constexpr std::uint16_t kDefaultKmsPort = 1688;
inline constexpr std::uint16_t kDefaultDnsPort = 53;
inline constexpr std::uint16_t kDefaultSntpPort = 123;

// A parsed target URL.
struct TargetUrl {
  TargetKind kind = TargetKind::kms;
  std::string host;        // kms/dns/sntp: name or address, IPv6 without brackets; probe: the domain
  std::uint16_t port = 0;  // kms/dns/sntp: the server's port (default per scheme); probe: unused
  std::string dns_server;  // probe only: "host:port" from ?dns=, empty = the system's resolvers
  // The canonical form: "kms://127.0.0.1:1688", "dns://[::1]:53", "probe://corp.example?dns=127.0.0.1:5353".
  std::string to_string() const;
  friend bool operator==(const TargetUrl&, const TargetUrl&) = default;
};

// Pure text work, no DNS. Errors (Errc::bad_argument, the message quotes the URL and says what
// to write instead): no "scheme://", an unknown scheme, an empty host, a port that is not a
// number in 1..65535, unbalanced brackets, a path, a query on anything but probe://, an unknown
// query key, a probe domain that is not a valid DNS name.
Result<TargetUrl> parse_target_url(std::string_view text);

// What a target needs besides its URL (the `kmslab load` options that shape one request).
struct TargetSettings {
  std::string product = "Windows 10 Enterprise";  // name or SKU GUID from the ID table (kms, probe)
  std::optional<std::uint16_t> protocol;          // 4, 5, 6; default: the product's own
  bool keepalive = false;                         // kms: one connection per in-flight slot
  std::string domain;                             // dns: the zone whose _vlmcs._tcp SRV is asked
  std::string workstation = "kmslab-load";        // kms: the request's workstation name
  // Per request. The engine cancels a request at this deadline; targets give their own I/O steps
  // budgets inside it so a slow step is reported for what it is, not cut short by the engine.
  std::chrono::nanoseconds timeout{std::chrono::seconds(2)};
};

// Checks the URL and settings together and builds the factory the engine calls once per thread.
// Host names in kms/dns/sntp URLs are resolved once, here (numeric addresses need no lookup).
// Errors (Errc::bad_argument): an unknown or ambiguous product, protocol not 4/5/6, dns:// without
// a valid domain, a timeout <= 0, a host name that does not resolve (the message names it).
Result<TargetFactory> make_target_factory(const TargetUrl& url, const TargetSettings& settings);

// ---------------------------------------------------------------------------------------------
// The mapping from what a client saw to an outcome kind (exposed for tests).

// connect -> bind -> activation, stopping at the first step that did not succeed. connect:
// refused/unreachable -> refused, timeout -> timeout, reset -> reset, error -> other; bind:
// no_response -> timeout, reset -> reset, fault -> hresult(fault status), nak/no usable context/
// malformed -> malformed; activation: ok -> ok, hresult -> hresult(code), fault -> hresult(fault
// status), bad_response/malformed -> malformed, no_response -> timeout, reset -> reset.
Outcome classify_kms(const client::ConnectObservation& connect, const client::BindObservation& bind,
                     const client::ActivationObservation& activation);

// A decoded DNS reply to `query` (same ID, QR set, same question): ok when it holds at least one
// SRV answer for the name; a non-zero rcode -> hresult with the code Windows shows for it
// (NXDOMAIN 0x8007232B, SERVFAIL 0x8007232A, REFUSED 0x8007232D, FORMERR 0x80072329, NOTIMP
// 0x8007232C), NOERROR without SRV (NODATA) -> hresult 0x8007251D; a reply that does not match
// the query (QR clear, opcode, question) or is truncated with no answer -> malformed.
Outcome classify_dns_reply(protocol::ByteSpan reply, std::uint16_t id, std::string_view query_name);

// One SNTP reply to a request whose transmit timestamp was `sent_transmit` (raw 64-bit NTP).
// ok when it decodes and passes validate_reply; a kiss-o'-death -> refused (the server refuses
// service); anything else wrong (undecodable, wrong mode, unsynchronised, leap alarm, zero
// transmit, originate mismatch) -> malformed.
Outcome classify_sntp_reply(protocol::ByteSpan reply, std::uint64_t sent_transmit);

// A probe's diagnosis: activated (healthy or degraded) -> ok. Otherwise the primary finding's
// class: tcp.refused -> refused; tcp.filtered, rpc.no_response, dns.timeout -> timeout; tcp.reset
// -> reset; rpc.malformed, rpc.bind_rejected, kms.bad_response -> malformed; every other finding
// -> hresult with the finding's own code (dns.srv_missing 0x8007232B, kms.product_not_served
// 0xC004F042 ...), else the diagnosis' Windows code; other when neither is known.
Outcome classify_probe(const client::Diagnosis& diagnosis);

}  // namespace kmslab::bench
