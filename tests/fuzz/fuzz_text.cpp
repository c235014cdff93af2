// Fuzz target: the small text parsers — hex (hex.hpp), GUIDs (guid.hpp), durations
// (config::parse_duration), ePIDs (epid.hpp), error codes (hresult.hpp), DNS names and rdata in
// presentation form (dns_message.hpp, dns_text.hpp) — which read captures, command lines, config
// values and what a KMS host or DNS zone file says.
//
// Input layout: byte 0 selects the parser (0 hex, 1 GUID, 2 duration, 3 ePID, 4 error code,
// 5 DNS name, 6 DNS rdata whose type is the next two bytes; any other value runs them all), the
// rest is the text. Selector values are never renumbered, so committed corpora keep their
// meaning when parsers are added.
// Properties:
//   - hex: bytes re-encode to the input's digits (lower case, separators dropped) and decode back;
//     an error points inside the text;
//   - GUID: a parsed GUID prints as the input's lower-cased 36-character core, parses back equal,
//     and survives write_guid/read_guid;
//   - duration: a parsed duration printed in nanoseconds parses back to the same value;
//   - ePID: a parsed ePID prints canonically, parses back equal, and validates and describes
//     without failing;
//   - error code: the parsed HRESULT printed as 0x........ parses back to the same HRESULT, and
//     a Win32 code is exactly one that fits 16 bits and wraps as HRESULT_FROM_WIN32;
//   - DNS name: a parsed name prints as text that parses back to an equal name of equal case;
//   - DNS rdata: what parse_rdata accepts prints as text that parses back to the same text.
#include "fuzz_target.hpp"

#include "kmslab/config/yaml_node.hpp"
#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/protocol/dns_text.hpp"
#include "kmslab/protocol/epid.hpp"
#include "kmslab/protocol/guid.hpp"
#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/hresult.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

namespace {

using namespace kmslab::protocol;
using kmslab::fuzz::fuzz_check;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void check_hex(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes) {
    fuzz_check(bytes.error().offset < text.size(), "hex error offset outside the text");
    fuzz_check(bytes.error().code == Errc::bad_value || bytes.error().code == Errc::truncated,
               "hex error of an unexpected class");
    return;
  }
  std::string digits;
  for (char c : text)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != ':') digits.push_back(c);
  const std::string hex = to_hex(*bytes);
  fuzz_check(hex == lower(digits), "to_hex(from_hex(text)) is not the text's digits");
  auto back = from_hex(hex);
  fuzz_check(back.has_value() && *back == *bytes, "hex round trip differs");
}

void check_guid(std::string_view text) {
  auto guid = Guid::parse(text);
  if (!guid) return;
  const std::string printed = guid->to_string();
  const std::string_view core = text.size() == 38 ? text.substr(1, 36) : text;
  fuzz_check(printed == lower(core), "a parsed GUID does not print as its text");
  fuzz_check(Guid::parse(printed) == guid, "GUID text round trip differs");
  fuzz_check(Guid::parse("{" + printed + "}") == guid, "braced GUID parses differently");
  ByteWriter w;
  write_guid(w, *guid);
  ByteReader r(w.data());
  auto read = read_guid(r, "guid");
  fuzz_check(read.has_value() && *read == *guid && r.empty(), "GUID wire round trip differs");
}

void check_duration(std::string_view text) {
  for (std::string_view unit : {"ms", "s", "m"}) {
    auto d = kmslab::config::parse_duration(text, unit);
    if (!d) continue;
    auto back = kmslab::config::parse_duration(std::to_string(d->count()) + "ns", "ms");
    fuzz_check(back.has_value() && *back == *d, "duration printed in ns parses differently");
  }
}

void check_epid(std::string_view text) {
  auto epid = parse_epid(text);
  if (!epid) {
    fuzz_check(epid.error().offset <= std::max(text.size(), kMaxEpidLength), "ePID error offset");
    return;
  }
  const std::string canonical = epid->to_string();
  auto back = parse_epid(canonical);
  fuzz_check(back.has_value() && *back == *epid, "ePID text round trip differs");
  fuzz_check(back->to_string() == canonical, "ePID canonical text is not a fixed point");
  using namespace std::chrono;
  const auto validation = validate_epid(*epid, sys_days{year{2026} / 11 / 25});
  for (const auto& f : validation.findings) fuzz_check(!f.message.empty(), "empty ePID finding");
  (void)describe_epid(*epid);
  (void)epid_date(*epid);
}

void check_error_code(std::string_view text) {
  auto code = parse_error_code(text);
  if (!code) {
    fuzz_check(code.error().offset <= text.size(), "error-code error offset outside the text");
    return;
  }
  fuzz_check(code->hresult != 0, "S_OK parsed as an error code");
  if (code->win32) {
    fuzz_check(*code->win32 >= 1 && *code->win32 <= 0xFFFF, "a Win32 code outside 1..0xFFFF");
    fuzz_check(code->hresult == hresult_from_win32(*code->win32), "Win32 code not wrapped");
  }
  auto again = parse_error_code(format_hresult(code->hresult));
  fuzz_check(again.has_value() && again->hresult == code->hresult, "HRESULT text round trip differs");
  if (const auto* entry = find_hresult(code->hresult))
    fuzz_check(entry->code == code->hresult, "find_hresult returned another code");
}

void check_dns_name(std::string_view text) {
  auto name = dns::Name::parse(text);
  if (!name) {
    fuzz_check(name.error().offset <= text.size(), "DNS name error offset outside the text");
    return;
  }
  fuzz_check(name->wire_length() <= dns::kMaxNameLength, "a parsed name is too long");
  auto back = dns::Name::parse(name->to_string());
  fuzz_check(back.has_value() && back->labels() == name->labels(), "DNS name text round trip differs");
  fuzz_check(name->lowercased() == *name && name->key() == back->key(), "DNS name case handling");
}

void check_dns_rdata(kmslab::fuzz::InputCursor& in) {
  const auto type = static_cast<dns::Type>(in.take_u16());
  const std::string_view text = kmslab::fuzz::as_text(in.rest());
  static const dns::Name origin = *dns::Name::parse("corp.example.");
  auto rdata = dns::parse_rdata(type, text, origin);
  if (!rdata) {
    fuzz_check(rdata.error().offset <= text.size(), "rdata error offset outside the text");
    return;
  }
  const std::string printed = dns::format_rdata(*rdata);
  auto back = dns::parse_rdata(type, printed);
  fuzz_check(back.has_value(), "format_rdata prints text parse_rdata rejects");
  fuzz_check(dns::format_rdata(*back) == printed, "rdata text round trip differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kmslab::fuzz::InputCursor in(data, size);
  const std::uint8_t selector = in.take_u8();
  const std::string_view text = kmslab::fuzz::as_text(in.rest());
  switch (selector) {
    case 0: check_hex(text); break;
    case 1: check_guid(text); break;
    case 2: check_duration(text); break;
    case 3: check_epid(text); break;
    case 4: check_error_code(text); break;
    case 5: check_dns_name(text); break;
    case 6: {
      kmslab::fuzz::InputCursor rdata_in(data + 1, size - 1);
      check_dns_rdata(rdata_in);
      break;
    }
    default:
      check_hex(text);
      check_guid(text);
      check_duration(text);
      check_epid(text);
      check_error_code(text);
      check_dns_name(text);
      break;
  }
  return 0;
}
