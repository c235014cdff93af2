#include "kmslab/protocol/hex.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Bytes> from_hex(std::string_view text) {
  Bytes out;
  out.reserve(text.size() / 2);
  int pending = -1;
  std::size_t pending_at = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ':') continue;
    const int v = hex_digit_value(c);
    if (v < 0) {
      const unsigned code = static_cast<unsigned char>(c);
      return make_error(Errc::bad_value, i, fmt::format("not a hex digit: 0x{:02x}", code));
    }
    if (pending < 0) {
      pending = v;
      pending_at = i;
    } else {
      out.push_back(static_cast<std::uint8_t>(pending * 16 + v));
      pending = -1;
    }
  }
  if (pending >= 0) return make_error(Errc::truncated, pending_at, "odd number of hex digits");
  return out;
}

std::string to_hex(ByteSpan bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

}  // namespace kmslab::protocol
