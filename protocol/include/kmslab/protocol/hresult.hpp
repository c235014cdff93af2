// The HRESULT table: what each activation error code means and what an operator checks next.
//
// Windows reports a failed KMS activation as an HRESULT (0xC004F074, 0x8007232B ...), a KMS host
// returns one in-band (docs/protocol.md), and vlmcs-style clients report Win32 RPC status
// codes (1722, 1728 ...). `kmslab explain`, the probe's reports and the diagnosis all use this
// one table to turn a code into its symbolic name, its meaning, the runbook cause it belongs to
// (docs/probe.md "Findings", runbook column), the kmslab finding codes that detect it (docs/probe.md
// "Findings") and concrete next checks.
//
// Promises:
// - The table is compiled in, immutable and sorted by code; lookups are thread-safe and pointers
//   stay valid for the program's life.
// - Every entry says where its meaning comes from (`provenance`) and whether that source is
//   docs/protocol.md or Microsoft's activation error list (`verified`); entries whose meaning
//   rests on other sources (vlmcsd's source, winerror.h only) have verified == false.
// - parse_error_code() never throws: it accepts "0xC004F074", "C004F074", "3221549172",
//   "-1073418124" and Win32 codes ("1722" -> HRESULT_FROM_WIN32 = 0x800706BA), and returns a
//   typed Error for anything else.
#pragma once

#include "kmslab/protocol/error.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kmslab::protocol {

// The runbook rows, in the order docs/probe.md lists them.
enum class RunbookCause {
  dns_srv,         // 1a: _vlmcs._tcp SRV lookup fails
  tcp_blocked,     // 1b: TCP 1688 blocked, refused or silent
  slow,            // slow responses: a phase passes its time budget
  key_product,     // 2: key type / product not served / count below threshold
  clock_skew,      // 3: client and host clocks too far apart
  protocol_fault,  // malformed PDUs, bad hashes, RPC faults, bind rejections
  windows_local,   // 4 file locks, 5 AppLocker/SRP/SmartScreen and other client-side causes
};
std::string_view runbook_id(RunbookCause cause) noexcept;     // "1a", "1b", "slow", "2", "3", "protocol", "4/5"
std::string_view runbook_label(RunbookCause cause) noexcept;  // "DNS SRV record not found", ...

struct HresultEntry {
  std::uint32_t code = 0;
  std::string_view name;        // symbolic name from slerror.h / winerror.h
  std::string_view meaning;     // what the code says, in our words
  std::string_view how;         // how it arises in KMS activation and what kmslab simulates
  std::span<const RunbookCause> causes;
  std::span<const std::string_view> findings;     // finding codes (docs/probe.md); may be empty
  std::span<const std::string_view> next_checks;  // commands, in the order to run them
  bool verified = false;
  std::string_view provenance;
};

// The whole table, sorted by code.
std::span<const HresultEntry> hresult_table() noexcept;
const HresultEntry* find_hresult(std::uint32_t code) noexcept;

inline constexpr std::uint32_t hresult_from_win32(std::uint32_t win32) noexcept {
  return win32 == 0 ? 0u : ((win32 & 0xFFFFu) | 0x80070000u);
}
// The Win32 code inside a FACILITY_WIN32 failure HRESULT (0x8007xxxx), else nullopt.
inline constexpr std::optional<std::uint32_t> win32_from_hresult(std::uint32_t hr) noexcept {
  if ((hr & 0xFFFF0000u) == 0x80070000u) return hr & 0xFFFFu;
  return std::nullopt;
}

// "0xC004F074"
std::string format_hresult(std::uint32_t code);

struct ParsedErrorCode {
  std::uint32_t hresult = 0;
  // Set when the text was a Win32 code (a value in 1..0xFFFF), which `hresult` then wraps.
  std::optional<std::uint32_t> win32;
};

// Accepted forms (surrounding blanks ignored):
//   "0x" or "0X" + 1..8 hex digits      0xC004F074, 0x6BA
//   exactly 8 hex digits, no prefix      C004F074, 80070005 (HRESULTs are printed this way)
//   hex digits with a letter, no prefix  6BA
//   decimal digits                       3221549172, 1722
//   '-' + decimal digits (signed 32-bit) -1073418124
// A value in 1..0xFFFF is a Win32 code and becomes HRESULT_FROM_WIN32(value).
// Errors: empty input or a bad character (Errc::bad_value, offset of the character); a value
// above 32 bits or below INT32_MIN (Errc::too_large); zero (Errc::bad_value: S_OK is no error).
Result<ParsedErrorCode> parse_error_code(std::string_view text);

}  // namespace kmslab::protocol
