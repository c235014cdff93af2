// UTF-8 <-> UTF-16 for the text KMS carries as UTF-16LE (workstation name, ePID).
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

}  // namespace kmslab::protocol
