// Fuzz target: the small text parsers — hex (hex.hpp), GUIDs (guid.hpp) and durations
// (config::parse_duration) — which read captures, command lines and config values.
//
// Input layout: byte 0 selects the parser (0 hex, 1 GUID, 2 duration; any other value runs them
// all), the rest is the text. Selector values are never renumbered, so committed corpora keep
// their meaning when parsers are added.
// Properties:
//   - hex: bytes re-encode to the input's digits (lower case, separators dropped) and decode back;
//     an error points inside the text;
//   - GUID: a parsed GUID prints as the input's lower-cased 36-character core, parses back equal,
//     and survives write_guid/read_guid;
//   - duration: a parsed duration printed in nanoseconds parses back to the same value.
#include "fuzz_target.hpp"

#include "kmslab/config/yaml_node.hpp"
#include "kmslab/protocol/guid.hpp"
#include "kmslab/protocol/hex.hpp"

#include <cctype>
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kmslab::fuzz::InputCursor in(data, size);
  const std::uint8_t selector = in.take_u8();
  const std::string_view text = kmslab::fuzz::as_text(in.rest());
  switch (selector) {
    case 0: check_hex(text); break;
    case 1: check_guid(text); break;
    case 2: check_duration(text); break;
    default:
      check_hex(text);
      check_guid(text);
      check_duration(text);
      break;
  }
  return 0;
}
