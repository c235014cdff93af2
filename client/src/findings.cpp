#include "kmslab/client/findings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace kmslab::client {
namespace {

using C = CheckTemplate;

// --- next checks, per finding (Windows commands; "on the KMS host" when not run on the client) ---

constexpr C kSrvMissing[] = {
    {"{nslookup} -type=SRV {srv_name} {dns_server}", "does the DNS server return the KMS SRV record?"},
    {"ipconfig /all", "is {domain} the client's primary DNS suffix or in its search list?"},
    {"slmgr /sdns",
     "on the KMS host: turn DNS publishing on; it must be allowed to update the {domain} zone"},
    {"slmgr /skms {host}:{port}", "workaround on the client: name the KMS host explicitly"},
};
constexpr C kSrvNodata[] = {
    {"{nslookup} -type=SRV {srv_name} {dns_server}", "the name exists but has no SRV record"},
    {"slmgr /sdns", "on the KMS host: turn DNS publishing on; check it registered in {domain}"},
    {"slmgr /skms-domain <domain holding the record>",
     "on the client, if the record is published in another zone"},
};
constexpr C kServfail[] = {
    {"{nslookup} -type=SRV {srv_name} {dns_server}", "does it fail on every DNS server or only on this one?"},
    {"dcdiag /test:dns /v", "on a domain controller: zone loading, forwarders, delegation of {domain}"},
};
constexpr C kRefused[] = {
    {"{nslookup} -type=SRV {srv_name} {dns_server}",
     "a server that refuses neither holds {domain} nor recurses for this client"},
    {"ipconfig /all", "is the client configured with the intended DNS servers?"},
};
constexpr C kDnsTimeout[] = {
    {"{nslookup} -timeout=5 -type=SRV {srv_name} {dns_server}", "does the server answer at all?"},
    {"Test-NetConnection {dns_server} -Port {dns_port}", "TCP {dns_port} reachable? UDP {dns_port} must be allowed as well"},
    {"ipconfig /all", "are the configured DNS servers the intended ones?"},
};
constexpr C kDnsUnreachable[] = {
    {"{nslookup} -type=SRV {srv_name} {dns_server}",
     "\"no servers could be reached\" / connection refused: nothing listens on the DNS port"},
    {"Test-NetConnection {dns_server} -Port {dns_port}",
     "TCP {dns_port} refused as well? then the DNS service on {dns_server} is down or on another port"},
    {"ipconfig /all", "is {dns_server} the DNS server the client should use?"},
    {"sc query dns", "on {dns_server}, if it is a Windows DNS server: is the DNS Server service running?"},
};
constexpr C kNoAddress[] = {
    {"{nslookup} {host} {dns_server}", "does the KMS host's name resolve to an A/AAAA record?"},
    {"{nslookup} -type=SRV {srv_name} {dns_server}", "is the SRV target the host's real FQDN?"},
    {"ipconfig /registerdns", "on the KMS host: register its address records again"},
};
constexpr C kWrongPort[] = {
    {"{nslookup} -type=SRV {srv_name} {dns_server}", "check the port field of each record (standard: 1688)"},
    {"Test-NetConnection {host} -Port {port}", "does the host listen on the advertised port?"},
    {"slmgr /sprt 1688",
     "on the KMS host, if it should use the standard port; then republish with slmgr /sdns"},
};
constexpr C kTruncatedNoTcp[] = {
    {"{nslookup} -vc -type=SRV {srv_name} {dns_server}",
     "-vc asks over TCP, as the retry after truncation does"},
    {"Test-NetConnection {dns_server} -Port {dns_port}", "TCP {dns_port} must be open from the client to the DNS server"},
    {"{nslookup} -type=SRV {srv_name} {dns_server}",
     "how many records? too many overflow a 512-byte UDP answer"},
};
constexpr C kTcpRefused[] = {
    {"Test-NetConnection {host} -Port {port}", "from the client"},
    {"netstat -ano | findstr :{port}", "on the KMS host: does anything listen on {port}?"},
    {"sc query sppsvc", "on the KMS host: is the Software Protection service running?"},
    {"slmgr /dlv", "on the KMS host: KMS enabled, listening port, KMS host key installed?"},
};
constexpr C kTcpFiltered[] = {
    {"Test-NetConnection {host} -Port {port}", "no reply at all (not a refusal) points at a firewall"},
    {"tracert {host}", "where does the path to {address} stop?"},
    {"Get-NetFirewallRule -DisplayGroup 'Key Management Service' | Format-Table DisplayName,Enabled,Profile",
     "on the KMS host: the inbound KMS rule must be enabled for the client's network profile"},
};
constexpr C kTcpReset[] = {
    {"Test-NetConnection {host} -Port {port}", "does a plain connect survive?"},
    {"Get-WinEvent -LogName 'Key Management Service' -MaxEvents 20",
     "on the KMS host: did the request arrive?"},
    {"tracert {host}", "which proxy, IPS or load balancer sits in the path to {address}?"},
};
constexpr C kRpcNoResponse[] = {
    {"Test-NetConnection {host} -Port {port}",
     "a connect that works without an RPC answer points at a proxy or a hung service"},
    {"sc query sppsvc", "on the KMS host: is the Software Protection service running?"},
    {"Get-WinEvent -LogName 'Key Management Service' -MaxEvents 20",
     "on the KMS host: is it answering anyone?"},
};
constexpr C kBindRejected[] = {
    {"netstat -ano | findstr :{port}", "on {host}: which process owns {port}? (KMS runs in sppsvc)"},
    {"slmgr /dlv", "on {host}: is it a KMS host at all?"},
};
constexpr C kRpcFault[] = {
    {"slmgr /dlv", "on {host}: KMS state and protocol support"},
    {"Get-WinEvent -LogName 'Key Management Service' -MaxEvents 20",
     "on {host}: errors logged for the request"},
};
constexpr C kRpcMalformed[] = {
    {"netstat -ano | findstr :{port}", "on {host}: which process answers on {port}?"},
    {"kmslab decode <capture.hex>",
     "capture TCP {port} (Wireshark / pktmon) and decode the PDU field by field"},
};
constexpr C kKmsTimeSkew[] = {
    {"w32tm /query /status", "on the client: time source and last successful sync"},
    {"w32tm /stripchart /computer:{host} /samples:3 /dataonly",
     "the offset between this client and the KMS host"},
    {"w32tm /resync", "on whichever side is wrong: client and KMS host must agree within 4 hours"},
    {"tzutil /g", "a wrong time zone moves UTC by hours"},
};
constexpr C kProductNotServed[] = {
    {"slmgr /dlv", "on the KMS host {host}: the KMS host key (CSVLK) installed must cover this product"},
    {"slmgr /dlv", "on the client: the product must carry a KMS client (GVLK) key, not MAK or retail"},
    {"slmgr /ipk <KMS client setup key>", "on the client: install the product's GVLK, then slmgr /ato"},
};
constexpr C kCountTooLow[] = {
    {"slmgr /dlv",
     "on the KMS host {host}: current count; it must reach 25 for client OS, 5 for server OS and Office"},
    {"slmgr /dlv", "on clients: machines cloned without sysprep share one CMID and count once"},
};
constexpr C kInvalidRequest[] = {
    {"slmgr /dlv",
     "on the KMS host {host}: an older host speaks only older protocol versions for newer products"},
    {"kmslab probe --domain {domain} --protocol 5",
     "does an older protocol version work? then the host needs an update"},
};
constexpr C kBadResponse[] = {
    {"netstat -ano | findstr :{port}", "on {host}: is the real KMS service answering on {port}?"},
    {"kmslab decode <capture.hex>", "capture the response and decode it: which check fails?"},
};
constexpr C kTimeSkew[] = {
    {"w32tm /query /status", "time source and last successful sync"},
    {"w32tm /stripchart /computer:{time_source} /samples:5 /dataonly",
     "the offset to the reference, sample by sample"},
    {"w32tm /resync", "sync now (a KMS host rejects clients more than 4 hours off)"},
};
constexpr C kTimeSourceUnavailable[] = {
    {"w32tm /query /peers", "which time sources are configured and their state"},
    {"w32tm /stripchart /computer:{time_source} /samples:3 /dataonly",
     "does the source answer? UDP 123 must be open"},
};
constexpr C kSlowDnsSrv[] = {
    {"Measure-Command { {nslookup} -type=SRV {srv_name} {dns_server} }",
     "time the SRV query from the client"},
};
constexpr C kSlowDnsAddress[] = {
    {"Measure-Command { {nslookup} {host} {dns_server} }",
     "time the address query from the client"},
};
constexpr C kSlowConnect[] = {
    {"Test-NetConnection {host} -Port {port}", "connect time from the client"},
    {"tracert {host}", "latency per hop to {address}"},
};
constexpr C kSlowRpc[] = {
    {"Test-NetConnection {host} -Port {port}", "is the network slow, or the service?"},
    {"Get-WinEvent -LogName 'Key Management Service' -MaxEvents 20",
     "on the KMS host: load and errors around the request"},
};
constexpr C kSlowTime[] = {
    {"w32tm /stripchart /computer:{time_source} /samples:5 /dataonly", "round-trip to the time source"},
};
constexpr C kFailover[] = {
    {"Test-NetConnection {host} -Port {port}", "the target that failed before another one worked"},
    {"{nslookup} -type=SRV {srv_name} {dns_server}",
     "remove records of retired hosts; check priorities and weights"},
    {"slmgr /ckms", "on clients, if the failed target was a fixed or cached host: clear it so they use DNS"},
};

using enum FindingCode;
using B = HresultBasis;
using R = RunbookCause;
using S = Severity;
using P = Phase;
constexpr std::optional<std::uint32_t> kNone = std::nullopt;

// Win32 codes behind the `unverified` HRESULTs (HRESULT_FROM_WIN32 = 0x8007xxxx):
// DNS_INFO_NO_RECORDS 9501, DNS_ERROR_RCODE_SERVER_FAILURE 9002 (also for an unreachable DNS
// server: Microsoft's activation error list gives 0x8007232A for "network or DNS issues", the
// code a client with a dead DNS server most plausibly shows; it may instead surface a timeout,
// ERROR_TIMEOUT 1460 = 0x800705B4, so it stays unverified), DNS_ERROR_RCODE_REFUSED 9005,
// RPC_S_SERVER_UNAVAILABLE 1722, RPC_S_COMM_FAILURE 1820,
// RPC_S_UNSUPPORTED_TRANS_SYN 1730, RPC_S_PROTOCOL_ERROR 1728 (the RPC ones as vlmcs reports them).
constexpr CatalogEntry kCatalog[] = {
    {dns_srv_missing, "dns.srv_missing", S::error, 0x8007232Bu, B::documented, R::dns_srv, P::dns_srv,
     "The domain has no _vlmcs._tcp SRV record (NXDOMAIN)", kSrvMissing},
    {dns_srv_nodata, "dns.srv_nodata", S::error, 0x8007251Du, B::unverified, R::dns_srv, P::dns_srv,
     "The name exists but holds no usable SRV record (NOERROR, no data)", kSrvNodata},
    {dns_servfail, "dns.servfail", S::error, 0x8007232Au, B::unverified, R::dns_srv, P::dns_srv,
     "The DNS server failed the query (SERVFAIL, FORMERR or an answer that did not parse)", kServfail},
    {dns_refused, "dns.refused", S::error, 0x8007232Du, B::unverified, R::dns_srv, P::dns_srv,
     "The DNS server refused the query (REFUSED)", kRefused},
    {dns_timeout, "dns.timeout", S::error, 0x8007232Au, B::unverified, R::dns_srv, P::dns_srv,
     "No DNS server answered before the deadline", kDnsTimeout},
    {dns_unreachable, "dns.unreachable", S::error, 0x8007232Au, B::unverified, R::dns_srv, P::dns_srv,
     "The DNS server is unreachable: its port is closed (ICMP port unreachable / connection refused)",
     kDnsUnreachable},
    {dns_no_address, "dns.no_address", S::error, 0x800706BAu, B::unverified, R::dns_srv, P::dns_address,
     "The KMS host name has no A/AAAA record", kNoAddress},
    {dns_wrong_port, "dns.wrong_port", S::warning, kNone, B::none, R::dns_srv, P::dns_srv,
     "The SRV record advertises a port other than 1688", kWrongPort},
    {dns_truncated_no_tcp, "dns.truncated_no_tcp", S::error, kNone, B::none, R::dns_srv, P::dns_srv,
     "The DNS answer was truncated and the retry over TCP failed", kTruncatedNoTcp},
    {tcp_refused, "tcp.refused", S::error, 0x800706BAu, B::documented, R::tcp_1688, P::tcp_connect,
     "Connection refused (RST): nothing listens on the KMS port", kTcpRefused},
    {tcp_filtered, "tcp.filtered", S::error, 0x800706BAu, B::documented, R::tcp_1688, P::tcp_connect,
     "No TCP answer from the KMS port (filtered, or ICMP unreachable)", kTcpFiltered},
    {tcp_reset, "tcp.reset", S::error, 0x8007071Cu, B::unverified, R::tcp_1688, P::rpc_bind,
     "The connection to the KMS host was reset", kTcpReset},
    {rpc_no_response, "rpc.no_response", S::error, 0x800706BAu, B::unverified, R::tcp_1688, P::rpc_bind,
     "Connected, but no RPC answer before the deadline", kRpcNoResponse},
    {rpc_bind_rejected, "rpc.bind_rejected", S::error, 0x800706C2u, B::unverified, R::protocol, P::rpc_bind,
     "The RPC bind was rejected: no usable context for the KMS interface", kBindRejected},
    {rpc_fault, "rpc.fault", S::error, kNone, B::none, R::protocol, P::kms_activate,
     "The host answered with an RPC fault", kRpcFault},
    {rpc_malformed, "rpc.malformed", S::error, 0x800706C0u, B::unverified, R::protocol, P::rpc_bind,
     "The answer on the KMS port is not a valid RPC PDU", kRpcMalformed},
    {kms_time_skew, "kms.time_skew", S::error, 0xC004F06Cu, B::documented, R::clock, P::kms_activate,
     "The KMS host rejected the request's timestamp (clock skew)", kKmsTimeSkew},
    {kms_product_not_served, "kms.product_not_served", S::error, 0xC004F042u, B::documented, R::key_type,
     P::kms_activate, "The KMS host is not authorised for this product", kProductNotServed},
    {kms_count_too_low, "kms.count_too_low", S::error, 0xC004F038u, B::documented, R::key_type,
     P::kms_activate, "The KMS host's count is below the product's threshold", kCountTooLow},
    {kms_invalid_request, "kms.invalid_request", S::error, 0x8007000Du, B::documented, R::key_type,
     P::kms_activate, "The KMS host rejected the request as invalid or unsupported", kInvalidRequest},
    {kms_bad_response, "kms.bad_response", S::error, kNone, B::none, R::protocol, P::kms_activate,
     "The KMS response failed a client-side check", kBadResponse},
    {time_skew, "time.skew", S::warning, kNone, B::none, R::clock, P::time_offset,
     "The local clock is off from the time source", kTimeSkew},
    {time_source_unavailable, "time.source_unavailable", S::warning, kNone, B::none, R::clock, P::time_offset,
     "The time source gave no usable answer", kTimeSourceUnavailable},
    {slow_dns_srv, "slow.dns.srv", S::warning, kNone, B::none, R::slow, P::dns_srv,
     "The SRV lookup took longer than its budget", kSlowDnsSrv},
    {slow_dns_address, "slow.dns.address", S::warning, kNone, B::none, R::slow, P::dns_address,
     "The address lookup took longer than its budget", kSlowDnsAddress},
    {slow_tcp_connect, "slow.tcp.connect", S::warning, kNone, B::none, R::slow, P::tcp_connect,
     "The TCP connect took longer than its budget", kSlowConnect},
    {slow_rpc_bind, "slow.rpc.bind", S::warning, kNone, B::none, R::slow, P::rpc_bind,
     "The RPC bind took longer than its budget", kSlowRpc},
    {slow_kms_activate, "slow.kms.activate", S::warning, kNone, B::none, R::slow, P::kms_activate,
     "The KMS activation request took longer than its budget", kSlowRpc},
    {slow_time_offset, "slow.time.offset", S::warning, kNone, B::none, R::slow, P::time_offset,
     "The time source answered slower than its budget", kSlowTime},
    {failover_used, "failover.used", S::warning, kNone, B::none, R::tcp_1688, P::tcp_connect,
     "A target failed; a later one worked", kFailover},
};
static_assert(std::size(kCatalog) == kFindingCodeCount);
// Rows sit at their enum value, so catalog_entry() is an index.
static_assert([] {
  for (std::size_t i = 0; i < std::size(kCatalog); ++i)
    if (static_cast<std::size_t>(kCatalog[i].code) != i) return false;
  return true;
}());

constexpr std::array<FindingCode, kFindingCodeCount> kAllCodes = [] {
  std::array<FindingCode, kFindingCodeCount> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = kCatalog[i].code;
  return out;
}();

constexpr C kFileLocks[] = {
    {"sc query sppsvc", "the Software Protection service must be able to start"},
    {"handle.exe -accepteula tokens.dat",
     "Sysinternals: does antivirus or backup hold C:\\Windows\\System32\\spp\\store\\2.0\\tokens.dat open?"},
    {"Get-WinEvent -FilterHashtable @{LogName='Application'; ProviderName='Microsoft-Windows-Security-SPP'} "
     "-MaxEvents 20",
     "licensing store errors logged by the Software Protection Platform"},
};
constexpr C kAppLocker[] = {
    {"Get-AppLockerPolicy -Effective -Xml", "rules that could block slmgr.vbs, cscript.exe or slui.exe"},
    {"Get-WinEvent -LogName 'Microsoft-Windows-AppLocker/EXE and DLL' -MaxEvents 20",
     "recent AppLocker blocks"},
};
constexpr C kSrp[] = {
    {"gpresult /h gpresult.html", "Software Restriction Policies applied to the client"},
};
constexpr C kSmartScreen[] = {
    {"Get-MpThreatDetection", "did Defender or SmartScreen block an activation component?"},
};
constexpr LocalCheck kLocalChecks[] = {
    {"4", "File locks on the licensing store",
     "activation fails locally when the store cannot be read or written", kFileLocks},
    {"5", "AppLocker", "a rule blocking the activation tools stops activation before any traffic",
     kAppLocker},
    {"5", "Software Restriction Policies", "SRP can block slmgr.vbs / cscript like AppLocker", kSrp},
    {"5", "SmartScreen / Defender", "a blocked activation component looks like a failed activation",
     kSmartScreen},
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

std::string fill(std::string_view text, const CheckContext& ctx) {
  const std::string domain = ctx.domain.empty() ? "<domain>" : ctx.domain;
  std::string out(text);
  replace_all(out, "{srv_name}", "_vlmcs._tcp." + domain);
  replace_all(out, "{domain}", domain);
  replace_all(out, "{host}", ctx.host.empty() ? "<kms-host>" : ctx.host);
  replace_all(out, "{port}", std::to_string(ctx.port));
  replace_all(out, "{address}",
              ctx.address.empty() ? (ctx.host.empty() ? "<kms-host>" : ctx.host) : ctx.address);
  replace_all(out, "{dns_server}", ctx.dns_server.empty() ? "<dns-server>" : ctx.dns_server);
  replace_all(out, "{dns_port}", std::to_string(ctx.dns_port));
  // nslookup asks port 53 unless told otherwise: a server probed on another port keeps it.
  replace_all(out, "{nslookup}", ctx.dns_port == 53 ? std::string("nslookup")
                                                    : fmt::format("nslookup -port={}", ctx.dns_port));
  replace_all(out, "{time_source}", ctx.time_source.empty() ? "<time-source>" : ctx.time_source);
  return out;
}

}  // namespace

std::string_view to_string(Severity s) noexcept {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::error:
      return "error";
  }
  return "?";
}

std::optional<Severity> parse_severity(std::string_view t) noexcept {
  for (auto s : {Severity::info, Severity::warning, Severity::error})
    if (to_string(s) == t) return s;
  return std::nullopt;
}

std::string_view to_string(RunbookCause c) noexcept {
  switch (c) {
    case RunbookCause::dns_srv:
      return "1a";
    case RunbookCause::tcp_1688:
      return "1b";
    case RunbookCause::slow:
      return "slow";
    case RunbookCause::key_type:
      return "2";
    case RunbookCause::clock:
      return "3";
    case RunbookCause::protocol:
      return "protocol";
    case RunbookCause::windows_local:
      return "4/5";
  }
  return "?";
}

std::string_view describe(RunbookCause c) noexcept {
  switch (c) {
    case RunbookCause::dns_srv:
      return "DNS SRV discovery";
    case RunbookCause::tcp_1688:
      return "TCP 1688 blocked";
    case RunbookCause::slow:
      return "slow responses";
    case RunbookCause::key_type:
      return "key type / product";
    case RunbookCause::clock:
      return "clock skew";
    case RunbookCause::protocol:
      return "protocol fault";
    case RunbookCause::windows_local:
      return "Windows-local (file locks, AppLocker/SRP/SmartScreen)";
  }
  return "?";
}

std::optional<RunbookCause> parse_runbook_cause(std::string_view id) noexcept {
  for (auto c : {RunbookCause::dns_srv, RunbookCause::tcp_1688, RunbookCause::slow, RunbookCause::key_type,
                 RunbookCause::clock, RunbookCause::protocol, RunbookCause::windows_local})
    if (to_string(c) == id) return c;
  return std::nullopt;
}

std::span<const FindingCode> all_finding_codes() noexcept { return kAllCodes; }

std::string_view to_string(FindingCode code) noexcept { return catalog_entry(code).id; }

std::optional<FindingCode> parse_finding_code(std::string_view text) noexcept {
  for (const auto& row : kCatalog)
    if (row.id == text) return row.code;
  return std::nullopt;
}

FindingCode slow_code(Phase phase) noexcept {
  return static_cast<FindingCode>(static_cast<std::size_t>(FindingCode::slow_dns_srv) +
                                  static_cast<std::size_t>(phase));
}

std::optional<Phase> slow_phase(FindingCode code) noexcept {
  if (code < FindingCode::slow_dns_srv || code > FindingCode::slow_time_offset) return std::nullopt;
  return catalog_entry(code).phase;
}

std::string_view to_string(HresultBasis b) noexcept {
  switch (b) {
    case HresultBasis::none:
      return "none";
    case HresultBasis::documented:
      return "documented";
    case HresultBasis::unverified:
      return "unverified";
    case HresultBasis::observed:
      return "observed";
  }
  return "?";
}

std::optional<HresultBasis> parse_hresult_basis(std::string_view t) noexcept {
  for (auto b :
       {HresultBasis::none, HresultBasis::documented, HresultBasis::unverified, HresultBasis::observed})
    if (to_string(b) == t) return b;
  return std::nullopt;
}

const CatalogEntry& catalog_entry(FindingCode code) noexcept {
  return kCatalog[static_cast<std::size_t>(code)];
}

std::vector<NextCheck> next_checks(FindingCode code, const CheckContext& context) {
  std::vector<NextCheck> out;
  for (const auto& c : catalog_entry(code).checks)
    out.push_back(NextCheck{fill(c.command, context), fill(c.why, context)});
  return out;
}

Finding make_finding(FindingCode code, std::string target, std::vector<std::string> evidence,
                     const CheckContext& context) {
  const auto& e = catalog_entry(code);
  Finding f;
  f.code = code;
  f.severity = e.severity;
  f.hresult = e.hresult;
  f.hresult_basis = e.hresult_basis;
  f.phase = e.phase;
  f.target = std::move(target);
  f.evidence = std::move(evidence);
  f.next_checks = next_checks(code, context);
  return f;
}

std::span<const LocalCheck> windows_local_checks() noexcept { return kLocalChecks; }

std::string format_hresult(std::uint32_t code) { return fmt::format("0x{:08X}", code); }

std::optional<std::uint32_t> parse_hresult(std::string_view text) noexcept {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.empty() || text.size() > 8) return std::nullopt;
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace kmslab::client
