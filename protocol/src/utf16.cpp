#include "kmslab/protocol/utf16.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

namespace {

Error bad_utf8(std::size_t at, std::string_view what) {
  return make_error(Errc::bad_value, at, fmt::format("invalid UTF-8: {}", what));
}

void append_utf8(std::string& out, char32_t cp) {
  auto put = [&out](unsigned v) { out.push_back(static_cast<char>(static_cast<unsigned char>(v))); };
  const auto v = static_cast<unsigned>(cp);
  if (v < 0x80) {
    put(v);
  } else if (v < 0x800) {
    put(0xC0 | (v >> 6));
    put(0x80 | (v & 0x3F));
  } else if (v < 0x10000) {
    put(0xE0 | (v >> 12));
    put(0x80 | ((v >> 6) & 0x3F));
    put(0x80 | (v & 0x3F));
  } else {
    put(0xF0 | (v >> 18));
    put(0x80 | ((v >> 12) & 0x3F));
    put(0x80 | ((v >> 6) & 0x3F));
    put(0x80 | (v & 0x3F));
  }
}

// The well-formed UTF-8 sequence that starts at text[at]: its code point and length, or the
// reason and the byte index where it goes wrong.
struct Utf8Step {
  char32_t cp = 0;
  std::size_t len = 0;     // 0 when malformed
  std::size_t bad_at = 0;  // byte index of the fault, when malformed
  std::string_view why;
};

Utf8Step decode_utf8_at(std::string_view text, std::size_t i) noexcept {
  const auto lead = static_cast<unsigned char>(text[i]);
  // Sequence length, payload bits of the lead byte, smallest code point that needs this length.
  struct Form { std::size_t len; unsigned mask; char32_t min; };
  Form form{};
  if (lead < 0x80) {
    form = {1, 0x7F, 0};
  } else if ((lead & 0xE0) == 0xC0) {
    form = {2, 0x1F, 0x80};
  } else if ((lead & 0xF0) == 0xE0) {
    form = {3, 0x0F, 0x800};
  } else if ((lead & 0xF8) == 0xF0) {
    form = {4, 0x07, 0x10000};
  } else {
    return {.cp = 0, .len = 0, .bad_at = i, .why = "unexpected byte"};
  }
  char32_t cp = lead & form.mask;
  if (i + form.len > text.size()) return {.cp = 0, .len = 0, .bad_at = i, .why = "truncated sequence"};
  for (std::size_t k = 1; k < form.len; ++k) {
    const auto cont = static_cast<unsigned char>(text[i + k]);
    if ((cont & 0xC0) != 0x80) return {.cp = 0, .len = 0, .bad_at = i + k, .why = "expected a continuation byte"};
    cp = (cp << 6) | (cont & 0x3Fu);
  }
  if (cp < form.min) return {.cp = 0, .len = 0, .bad_at = i, .why = "overlong sequence"};
  if (cp >= 0xD800 && cp <= 0xDFFF) return {.cp = 0, .len = 0, .bad_at = i, .why = "surrogate code point"};
  if (cp > 0x10FFFF) return {.cp = 0, .len = 0, .bad_at = i, .why = "code point above U+10FFFF"};
  return {.cp = cp, .len = form.len, .bad_at = 0, .why = {}};
}

}  // namespace

Result<std::u16string> utf8_to_utf16(std::string_view text) {
  std::u16string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Step step = decode_utf8_at(text, i);
    if (step.len == 0) return bad_utf8(step.bad_at, step.why);
    const char32_t cp = step.cp;
    if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (v >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (v & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += step.len;
  }
  return out;
}

std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept {
  return at < text.size() ? decode_utf8_at(text, at).len : 0;
}

std::size_t find_invalid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string escape_text(std::string_view text, TextEscape mode) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t len = utf8_sequence_length(text, i);
    const bool control = byte < 0x20 || byte == 0x7F;
    if (len == 0 || (mode == TextEscape::for_log && control)) {
      out += fmt::format("\\x{:02x}", byte);
      ++i;
      continue;
    }
    if (mode == TextEscape::for_log && byte == '\\') out += '\\';  // a literal "\\xff" in the input stays told apart
    out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

std::string utf16_to_utf8(std::u16string_view units) {
  std::string out;
  out.reserve(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) {
    const char32_t u = units[i];
    if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units.size() && units[i + 1] >= 0xDC00 &&
        units[i + 1] <= 0xDFFF) {
      const char32_t low = units[i + 1];
      append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00));
      ++i;
    } else if (u >= 0xD800 && u <= 0xDFFF) {
      append_utf8(out, 0xFFFD);
    } else {
      append_utf8(out, u);
    }
  }
  return out;
}

}  // namespace kmslab::protocol
