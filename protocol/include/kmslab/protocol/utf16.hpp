// UTF-8 <-> UTF-16 for the text KMS carries as UTF-16LE (workstation name, ePID), and the one
// rule for bytes that reach an output (a report, a JSON document, a log line) from the wire or a
// file: invalid UTF-8 is escaped there, never passed on and never an error.
//
// kmslab keeps text as UTF-8 std::string. Encoding is strict: malformed UTF-8 (bad or truncated
// sequences, overlong forms, surrogate code points, values above U+10FFFF) is an Errc::bad_value
// error whose offset is the byte index in the text. Decoding is total: an unpaired surrogate in
// received data becomes U+FFFD, because a host must still answer a client with a mangled name.
#pragma once

#include "kmslab/protocol/error.hpp"

#include <string>
#include <string_view>

namespace kmslab::protocol {

Result<std::u16string> utf8_to_utf16(std::string_view text);
std::string utf16_to_utf8(std::u16string_view units);

// Length in bytes of the well-formed UTF-8 sequence starting at text[at]; 0 when the bytes there
// are not one (or `at` is past the end).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept;

// Byte index of the first byte that is not part of a well-formed UTF-8 sequence; npos if none.
std::size_t find_invalid_utf8(std::string_view text) noexcept;

enum class TextEscape {
  // For reports and JSON: each byte outside a well-formed sequence becomes the four characters
  // `\xNN`; valid text comes back unchanged, so escaping twice changes nothing.
  invalid_utf8,
  // For log lines with peer-supplied bytes: as above, and also C0 controls and DEL (a peer cannot
  // start a line of its own or move the cursor) and backslash doubled (`\\`), so the escapes
  // cannot be forged.
  for_log,
};

// `text` safe to print or to put in a JSON string (see TextEscape).
std::string escape_text(std::string_view text, TextEscape mode = TextEscape::invalid_utf8);

}  // namespace kmslab::protocol
