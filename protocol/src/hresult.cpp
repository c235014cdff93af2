#include "kmslab/protocol/hresult.hpp"
#include "kmslab/protocol/hex.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace kmslab::protocol {

namespace {

using C = RunbookCause;
using SV = std::string_view;

// Sources named in `provenance`.
#define KMSLAB_MS_LIST "Microsoft, Troubleshoot Windows activation error codes"
#define KMSLAB_SLERROR "name from slerror.h (Windows SDK)"
#define KMSLAB_WINERROR "name from winerror.h"

// Checks an operator runs, shared by several entries. <domain> / <kms-host> are placeholders.
constexpr SV kNslookupSrv = "nslookup -type=SRV _vlmcs._tcp.<domain>";
constexpr SV kIpconfig = "ipconfig /all   (client: primary DNS suffix, DNS servers, suffix search list)";
constexpr SV kDcdiag = "dcdiag /test:dns   (on a domain controller: health of the AD DNS zone)";
constexpr SV kTestPort = "Test-NetConnection <kms-host> -Port 1688   (TcpTestSucceeded must be True)";
constexpr SV kDlv = "slmgr /dlv   (client: product, channel VOLUME_KMSCLIENT, KMS host and port in use)";
constexpr SV kSkms = "slmgr /skms <kms-host>:1688   (bypass DNS discovery; slmgr /ckms undoes it)";
constexpr SV kAto = "slmgr /ato   (retry activation)";
constexpr SV kEvent12288 =
    "wevtutil qe Application /q:\"*[System[(EventID=12288)]]\" /c:5 /rd:true /f:text   "
    "(the Info line holds the code each KMS host returned)";
constexpr SV kStripchart = "w32tm /stripchart /computer:<kms-host> /samples:5 /dataonly   (offset to the host)";
constexpr SV kW32Status = "w32tm /query /status   (client: time source and last sync)";
constexpr SV kResync = "w32tm /resync";
constexpr SV kHostListening = "netstat -ano | findstr :1688   (on the KMS host: something listens on 1688)";
constexpr SV kHostSppsvc = "sc query sppsvc   (on the KMS host: Software Protection service running)";
constexpr SV kHostDlv = "slmgr /dlv   (on the KMS host: license status, KMS host key description, current count)";
constexpr SV kProducts = "kmslab products <product>   (KMS count ID, N-policy and protocol the client sends)";

constexpr std::array<C, 5> kC074{C::dns_srv, C::tcp_blocked, C::slow, C::clock_skew, C::protocol_fault};
constexpr std::array<SV, 18> kF074{"dns.srv_missing", "dns.srv_nodata", "dns.servfail", "dns.refused",
                                   "dns.timeout", "dns.unreachable", "dns.no_address", "dns.wrong_port", "dns.truncated_no_tcp",
                                   "tcp.refused", "tcp.filtered", "tcp.reset", "rpc.no_response",
                                   "rpc.bind_rejected", "rpc.fault", "rpc.malformed", "kms.bad_response",
                                   "slow.<phase>"};
constexpr std::array<SV, 7> kK074{kEvent12288, kNslookupSrv, kTestPort, kDlv, kStripchart, kSkms, kAto};

constexpr std::array<C, 1> kC06C{C::clock_skew};
constexpr std::array<SV, 3> kF06C{"kms.time_skew", "time.skew", "time.source_unavailable"};
constexpr std::array<SV, 4> kK06C{kStripchart, kW32Status, kResync, kAto};

constexpr std::array<C, 1> kC038{C::key_product};
constexpr std::array<SV, 1> kF038{"kms.count_too_low"};
constexpr std::array<SV, 4> kK038{
    "slmgr /dli   (on the KMS host: current count; 25 needed for client OS, 5 for servers)", kDlv, kProducts, kAto};

constexpr std::array<C, 2> kC039{C::tcp_blocked, C::slow};
constexpr std::array<SV, 4> kF039{"tcp.filtered", "rpc.no_response", "tcp.reset", "slow.<phase>"};
constexpr std::array<SV, 4> kK039{kTestPort, kHostListening, kHostSppsvc, kAto};

constexpr std::array<C, 1> kC041{C::key_product};
constexpr std::array<SV, 3> kK041{kHostDlv, "slmgr /ato   (on the KMS host: activate the host key)", kAto};

constexpr std::array<C, 1> kC042{C::key_product};
constexpr std::array<SV, 1> kF042{"kms.product_not_served"};
constexpr std::array<SV, 5> kK042{kDlv, kProducts, kHostDlv, kSkms, kAto};

constexpr std::array<C, 1> kC050{C::key_product};
constexpr std::array<SV, 3> kK050{
    kDlv, "slmgr /ipk <KMS client setup key of this edition>   (Microsoft's KMS client setup keys page)", kAto};

constexpr std::array<C, 1> kCD104{C::protocol_fault};
constexpr std::array<SV, 2> kKD104{kHostDlv, kAto};

constexpr std::array<C, 1> kC005{C::windows_local};
constexpr std::array<SV, 3> kK005{
    "whoami /groups | findstr /i \"Mandatory Label\"   (must show High Mandatory Level: run elevated)",
    "Get-AppLockerPolicy -Effective -Xml   (AppLocker/SRP rules that block cscript or slmgr.vbs)", kAto};

constexpr std::array<C, 2> kC00D{C::protocol_fault, C::windows_local};
constexpr std::array<SV, 1> kF00D{"kms.invalid_request"};
constexpr std::array<SV, 4> kK00D{
    kDlv, kProducts,
    "(Get-Acl HKLM:\\SYSTEM\\CurrentControlSet\\Enum\\Root).Access   (SYSTEM needs at least Enumerate Subkeys)",
    kAto};

constexpr std::array<C, 1> kC07B{C::dns_srv};
constexpr std::array<SV, 1> kF07B{"dns.srv_missing"};
constexpr std::array<SV, 4> kK07B{kNslookupSrv, kIpconfig, kSkms, kAto};

constexpr std::array<C, 2> kC6BA{C::tcp_blocked, C::dns_srv};
constexpr std::array<SV, 5> kF6BA{"tcp.refused", "tcp.filtered", "tcp.reset", "rpc.no_response", "dns.wrong_port"};
constexpr std::array<SV, 6> kK6BA{kTestPort, kNslookupSrv, kHostListening, kHostSppsvc, kSkms, kAto};

constexpr std::array<C, 1> kC6C0{C::protocol_fault};
constexpr std::array<SV, 2> kF6C0{"rpc.malformed", "rpc.fault"};
constexpr std::array<SV, 3> kK6C0{kTestPort, kEvent12288, kAto};

constexpr std::array<C, 1> kC6C2{C::protocol_fault};
constexpr std::array<SV, 1> kF6C2{"rpc.bind_rejected"};
constexpr std::array<SV, 3> kK6C2{kDlv, kEvent12288, kAto};

constexpr std::array<C, 3> kC71C{C::tcp_blocked, C::slow, C::protocol_fault};
constexpr std::array<SV, 3> kF71C{"tcp.reset", "rpc.no_response", "slow.<phase>"};
constexpr std::array<SV, 4> kK71C{kTestPort, kHostListening, kEvent12288, kAto};

constexpr std::array<C, 1> kC32A{C::dns_srv};
constexpr std::array<SV, 3> kF32A{"dns.servfail", "dns.timeout", "dns.unreachable"};
constexpr std::array<SV, 6> kK32A{kIpconfig, kNslookupSrv, "nslookup <kms-host> <dns-server>", kDcdiag, kSkms, kAto};

constexpr std::array<C, 1> kC32B{C::dns_srv};
constexpr std::array<SV, 1> kF32B{"dns.srv_missing"};
constexpr std::array<SV, 5> kK32B{kNslookupSrv, kIpconfig, kDcdiag, kSkms, kAto};

constexpr std::array<C, 1> kC51D{C::dns_srv};
constexpr std::array<SV, 1> kF51D{"dns.srv_nodata"};
constexpr std::array<SV, 5> kK51D{kNslookupSrv, kIpconfig, kDcdiag, kSkms, kAto};

constexpr std::array<HresultEntry, 18> kTable{{
    {0x80070005, "E_ACCESSDENIED",
     "Access denied: the licensing command needs elevated privileges.",
     "Raised on the Windows client itself (UAC, or a policy blocking the script), before any "
     "network traffic; kmslab cannot simulate it and lists it as a client-side check.",
     kC005, {}, kK005, true, KMSLAB_MS_LIST "; " KMSLAB_WINERROR},
    {0x8007000D, "HRESULT_FROM_WIN32(ERROR_INVALID_DATA)",
     "The data is invalid.",
     "From a KMS host it is an in-band refusal of the request: unsupported protocol version, a "
     "request too short, or an N-policy above 1000 (vlmcsd; a client that retries with a lower "
     "protocol version may recover). On a Windows client without any host answer it can also "
     "come from damaged local licensing state, e.g. registry permissions (Microsoft KB 2230957).",
     kC00D, kF00D, kK00D, true,
     "docs/protocol.md (captured from vlmcsd); Microsoft KB 2230957; " KMSLAB_WINERROR},
    {0x8007007B, "HRESULT_FROM_WIN32(ERROR_INVALID_NAME)",
     "Microsoft lists it as \"DNS name does not exist\": the client found no KMS SRV records.",
     "Treated like 0x8007232B: the _vlmcs._tcp lookup gave the client no KMS host name to use.",
     kC07B, kF07B, kK07B, true, KMSLAB_MS_LIST "; " KMSLAB_WINERROR},
    {0x800706BA, "HRESULT_FROM_WIN32(RPC_S_SERVER_UNAVAILABLE)",
     "The RPC server is unavailable: the client could not reach the KMS host's RPC endpoint.",
     "TCP 1688 refused or filtered by a firewall, the host down or not listening, or a stale SRV "
     "record (or a wrong port in it) sending the client to a dead address. Win32 1722.",
     kC6BA, kF6BA, kK6BA, true, KMSLAB_MS_LIST "; docs/protocol.md; " KMSLAB_WINERROR},
    {0x800706C0, "HRESULT_FROM_WIN32(RPC_S_PROTOCOL_ERROR)",
     "An RPC protocol error occurred.",
     "The KMS host sent a PDU the client's RPC runtime could not accept (malformed, truncated, "
     "unexpected type) or an RPC fault. vlmcs reports this status for such replies and "
     "reconnects; a Windows client would normally end in 0xC004F074. Win32 1728.",
     kC6C0, kF6C0, kK6C0, false,
     "not in Microsoft's activation error list; vlmcs usage from docs/protocol.md; " KMSLAB_WINERROR},
    {0x800706C2, "HRESULT_FROM_WIN32(RPC_S_UNSUPPORTED_TRANS_SYN)",
     "The transfer syntax is not supported by the RPC server.",
     "The RPC bind was rejected: the host accepted none of the offered transfer syntaxes "
     "(NDR32 / NDR64) for the KMS interface. Win32 1730.",
     kC6C2, kF6C2, kK6C2, false,
     "not in Microsoft's activation error list; vlmcs usage from docs/protocol.md; " KMSLAB_WINERROR},
    {0x8007071C, "HRESULT_FROM_WIN32(RPC_S_COMM_FAILURE)",
     "Communications failure during the RPC call.",
     "The connection broke during the call: reset after accept, closed early, or no reply before "
     "the client's timeout (a silent or very slow host). Win32 1820.",
     kC71C, kF71C, kK71C, false,
     "not in Microsoft's activation error list; vlmcs usage from docs/protocol.md; " KMSLAB_WINERROR},
    {0x8007232A, "HRESULT_FROM_WIN32(DNS_ERROR_RCODE_SERVER_FAILURE)",
     "DNS server failure: the DNS query itself failed.",
     "The DNS server answered SERVFAIL or could not be reached at all (down, filtered UDP/TCP 53, "
     "wrong DNS server configured), so the client never learned whether SRV records exist. For a "
     "server whose port is closed (dns.unreachable) this is the most plausible code, not a confirmed "
     "one: a client may show a timeout (0x800705B4) instead.",
     kC32A, kF32A, kK32A, true, KMSLAB_MS_LIST "; " KMSLAB_WINERROR},
    {0x8007232B, "HRESULT_FROM_WIN32(DNS_ERROR_RCODE_NAME_ERROR)",
     "DNS name does not exist: no _vlmcs._tcp SRV records were found for the client's domain.",
     "NXDOMAIN for _vlmcs._tcp.<domain>: no KMS host published its record (DNS publishing off, "
     "no dynamic update), the client's DNS suffix points at another zone, or /skms names a host "
     "that does not resolve.",
     kC32B, kF32B, kK32B, true, KMSLAB_MS_LIST "; docs/protocol.md; " KMSLAB_WINERROR},
    {0x8007251D, "HRESULT_FROM_WIN32(DNS_INFO_NO_RECORDS)",
     "No records found for the DNS query.",
     "The name exists but holds no SRV record (NOERROR with an empty answer), e.g. the zone "
     "exists but the KMS host never registered _vlmcs._tcp in it.",
     kC51D, kF51D, kK51D, true, KMSLAB_MS_LIST "; " KMSLAB_WINERROR},
    {0xC004D104, "SL_REMAPPING_SP_STATUS_INVALIDARG",
     "The security processor reported an invalid argument.",
     "vlmcsd returns it in-band when its client list is full (-M1 with more than 671 clients of "
     "one application); vlmcs prints it as \"security processor reported invalid data\". What a "
     "Microsoft KMS host would mean by it is not documented.",
     kCD104, {}, kKD104, false,
     "not in Microsoft's activation error list; vlmcsd source (docs/protocol.md); " KMSLAB_SLERROR},
    {0xC004F038, "SL_E_VL_NOT_ENOUGH_COUNT",
     "The count the KMS host reported is below the activation threshold.",
     "The client compares the current count in the host's reply with its N-policy (25 for client "
     "OS, 5 for Windows Server) and refuses to activate below it; the host answered normally.",
     kC038, kF038, kK038, true, KMSLAB_MS_LIST "; docs/protocol.md; " KMSLAB_SLERROR},
    {0xC004F039, "SL_E_VL_BINDING_SERVICE_NOT_ENABLED",
     "The Key Management Service is not enabled: the host did not respond to the KMS request.",
     "Microsoft's advice is the network path: a firewall blocking or filtering TCP 1688 between "
     "client and host, or a host that accepts but never answers.",
     kC039, kF039, kK039, true, KMSLAB_MS_LIST "; " KMSLAB_SLERROR},
    {0xC004F041, "SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED",
     "The KMS host itself is not activated.",
     "The host has a KMS host key installed but has not activated it with Microsoft, so it "
     "activates no clients. kmslab's simulated host does not produce it.",
     kC041, {}, kK041, true, KMSLAB_MS_LIST "; " KMSLAB_SLERROR},
    {0xC004F042, "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH",
     "The KMS host cannot be used for this product.",
     "The host refused the request in-band: its host key does not cover the client's KMS count "
     "ID (common with separate OS and Office hosts, or a host key older than the client).",
     kC042, kF042, kK042, true, KMSLAB_MS_LIST "; docs/protocol.md (captured); " KMSLAB_SLERROR},
    {0xC004F050, "SL_E_INVALID_PRODUCT_KEY",
     "The product key is invalid.",
     "A typo, a key for another edition or version, or a pre-release key on a released build; "
     "on a KMS host, a host key the host's build does not know yet.",
     kC050, {}, kK050, true, KMSLAB_MS_LIST "; " KMSLAB_SLERROR},
    {0xC004F06C, "SL_E_VL_INVALID_TIMESTAMP",
     "The KMS host rejected the request timestamp.",
     "Client and host clocks differ by more than the host's tolerance (4 hours, compared in UTC, "
     "so time zones do not matter). Often seen only in the event log under a 0xC004F074.",
     kC06C, kF06C, kK06C, true,
     KMSLAB_MS_LIST "; Microsoft KB 974998; docs/protocol.md (captured); " KMSLAB_SLERROR},
    {0xC004F074, "SL_E_VL_BINDING_SERVICE_UNAVAILABLE",
     "No Key Management Service could be contacted.",
     "Every KMS host the client tried failed: no SRV record or DNS failure, TCP 1688 blocked, "
     "host down, RPC errors, a reply too slow, or an in-band error such as 0xC004F06C. The "
     "Application event log (event 12288) holds the underlying code for each host tried.",
     kC074, kF074, kK074, true, KMSLAB_MS_LIST "; Microsoft KB 974998; docs/protocol.md; " KMSLAB_SLERROR},
}};

#undef KMSLAB_MS_LIST
#undef KMSLAB_SLERROR
#undef KMSLAB_WINERROR

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string_view runbook_id(RunbookCause cause) noexcept {
  switch (cause) {
    case C::dns_srv: return "1a";
    case C::tcp_blocked: return "1b";
    case C::slow: return "slow";
    case C::key_product: return "2";
    case C::clock_skew: return "3";
    case C::protocol_fault: return "protocol";
    case C::windows_local: return "4/5";
  }
  return "?";
}

std::string_view runbook_label(RunbookCause cause) noexcept {
  switch (cause) {
    case C::dns_srv: return "DNS: no usable _vlmcs._tcp SRV record";
    case C::tcp_blocked: return "TCP 1688 blocked, refused or unanswered";
    case C::slow: return "slow responses";
    case C::key_product: return "key type / product not served / count too low";
    case C::clock_skew: return "clock skew between client and KMS host";
    case C::protocol_fault: return "protocol fault (RPC or KMS message)";
    case C::windows_local: return "Windows-local (file locks, AppLocker/SRP/SmartScreen, rights)";
  }
  return "?";
}

std::span<const HresultEntry> hresult_table() noexcept { return kTable; }

const HresultEntry* find_hresult(std::uint32_t code) noexcept {
  const auto it = std::lower_bound(kTable.begin(), kTable.end(), code,
                                   [](const HresultEntry& e, std::uint32_t c) { return e.code < c; });
  return (it != kTable.end() && it->code == code) ? &*it : nullptr;
}

std::string format_hresult(std::uint32_t code) { return fmt::format("0x{:08X}", code); }

Result<ParsedErrorCode> parse_error_code(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && is_blank(text[begin])) ++begin;
  while (end > begin && is_blank(text[end - 1])) --end;
  if (begin == end) return make_error(Errc::bad_value, begin, "empty error code");

  std::size_t pos = begin;
  bool negative = false;
  bool hex = false;
  if (text[pos] == '-') {
    negative = true;
    ++pos;
  } else if (end - pos >= 2 && text[pos] == '0' && (text[pos + 1] == 'x' || text[pos + 1] == 'X')) {
    hex = true;
    pos += 2;
  }
  if (pos == end) return make_error(Errc::bad_value, pos, "no digits in error code");

  if (!negative && !hex) {
    // Without a prefix, 8 hex digits or any letter A-F means hex, as HRESULTs are printed.
    bool all_hex = true;
    bool has_letter = false;
    for (std::size_t i = pos; i < end; ++i) {
      const int v = hex_digit_value(text[i]);
      all_hex = all_hex && v >= 0;
      has_letter = has_letter || v >= 10;
    }
    hex = all_hex && (has_letter || end - pos == 8);
  }

  std::uint64_t value = 0;
  const std::uint64_t limit = negative ? 0x80000000ull : 0xFFFFFFFFull;
  for (std::size_t i = pos; i < end; ++i) {
    const int v = hex_digit_value(text[i]);
    if (v < 0 || (!hex && v > 9))
      return make_error(Errc::bad_value, i,
                        fmt::format("'{}' is not a {} digit", text[i], hex ? "hex" : "decimal"));
    value = value * (hex ? 16u : 10u) + static_cast<std::uint64_t>(v);
    if (value > limit)
      return make_error(Errc::too_large, i,
                        negative ? "below -2147483648 (not a 32-bit HRESULT)"
                                 : "larger than 32 bits (not an HRESULT)");
  }
  if (value == 0) return make_error(Errc::bad_value, begin, "0 is S_OK, not an error");

  ParsedErrorCode out;
  const auto v32 = static_cast<std::uint32_t>(negative ? (0x100000000ull - value) : value);
  if (!negative && v32 <= 0xFFFFu) {
    out.win32 = v32;
    out.hresult = hresult_from_win32(v32);
  } else {
    out.hresult = v32;
  }
  return out;
}

}  // namespace kmslab::protocol
