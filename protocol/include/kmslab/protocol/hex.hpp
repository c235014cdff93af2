// Hex text <-> bytes, as the captured vectors and `kmslab decode` use it.
#pragma once

#include "kmslab/protocol/bytes.hpp"

#include <string>
#include <string_view>

namespace kmslab::protocol {

// Accepts upper/lower case and ignores ASCII whitespace and ':' separators. Errors name the
// offending character's offset in the text (not in the bytes).
Result<Bytes> from_hex(std::string_view text);
std::string to_hex(ByteSpan bytes);

// The value of one hex digit (either case), or -1 for any other character.
int hex_digit_value(char c) noexcept;

}  // namespace kmslab::protocol
