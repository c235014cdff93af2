// Hex text of a capture -> bytes (see capture.hpp for the accepted forms).
#include "kmslab/protocol/capture.hpp"

#include <fmt/format.h>

#include <limits>

namespace kmslab::protocol {

namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_separator(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == ':' ||
         c == ',';
}

std::string describe_char(char c) {
  const auto code = static_cast<unsigned char>(c);
  if (code >= 0x21 && code < 0x7F) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", code);
}

}  // namespace

Result<HexCapture> parse_hex_capture(std::string_view text) {
  HexCapture out;
  std::uint32_t line = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      if (line == std::numeric_limits<std::uint32_t>::max())
        return make_error(Errc::too_large, i, "more lines than a capture can have");
      ++line;
      ++i;
      continue;
    }
    if (is_separator(c)) {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    // A run: optional 0x prefix, then hex digits up to the next separator or comment.
    std::size_t run = i;
    if (c == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X')) run = i + 2;
    std::size_t end = run;
    while (end < text.size() && hex_digit(text[end]) >= 0) ++end;
    if (end < text.size() && !is_separator(text[end]) && text[end] != '#')
      return make_error(Errc::bad_value, end,
                        fmt::format("{} is not a hex digit, separator or comment", describe_char(text[end])));
    if (end == run)
      return make_error(Errc::bad_value, i, "\"0x\" prefix without hex digits after it");
    if ((end - run) % 2 != 0)
      return make_error(Errc::bad_length, run,
                        fmt::format("odd number of hex digits ({}) in \"{}\": a byte is two digits",
                                    end - run, text.substr(run, std::min<std::size_t>(end - run, 16))));
    if (out.bytes.size() + (end - run) / 2 > kMaxCaptureBytes)
      return make_error(Errc::too_large, run,
                        fmt::format("capture holds more than {} bytes", kMaxCaptureBytes));
    for (std::size_t d = run; d < end; d += 2) {
      out.bytes.push_back(static_cast<std::uint8_t>(hex_digit(text[d]) * 16 + hex_digit(text[d + 1])));
      out.line_of_byte.push_back(line);
    }
    i = end;
  }
  return out;
}

TextPosition text_position(std::string_view text, std::size_t offset) noexcept {
  TextPosition pos;
  const std::size_t stop = std::min(offset, text.size());
  for (std::size_t i = 0; i < stop; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

}  // namespace kmslab::protocol
