#include "kmslab/config/json_input.hpp"

#include "kmslab/config/file_input.hpp"
#include "kmslab/protocol/capture.hpp"
#include "kmslab/protocol/utf16.hpp"

#include <fmt/format.h>

#include <optional>

namespace kmslab::config {
namespace {

// The byte offset of the first '[' or '{' (outside strings) that opens a level past the cap.
// A scan of the raw text, so a hostile file is refused before the parser allocates anything.
std::optional<std::size_t> json_too_deep_at(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

ConfigError json_error_at(std::string_view text, std::size_t offset, const std::string& name, std::string message) {
  const auto at = protocol::text_position(text, offset);
  return ConfigError{name, static_cast<int>(at.line), static_cast<int>(at.column), "", std::move(message)};
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at line 1, column 2: <what
// was wrong and expected>"; the position is ours to format, the rest is kept. Its "last read"
// quotes the input, which may hold bytes that are not UTF-8: escaped, so the message can go into
// a JSON answer (the control API) or a terminal as it is.
std::string parse_error_detail(const nlohmann::json::parse_error& e) {
  const std::string what = e.what();
  const auto head = what.find("parse error");
  const auto colon = head == std::string::npos ? std::string::npos : what.find(": ", head);
  return protocol::escape_text(colon == std::string::npos ? what : what.substr(colon + 2));
}

}  // namespace

ConfigResult<nlohmann::json> parse_json_input(std::string_view text, const std::string& name) {
  if (auto deep = json_too_deep_at(text)) {
    return json_error_at(text, *deep, name, fmt::format("nested deeper than {} levels (the limit)", kMaxJsonDepth));
  }
  try {
    return ConfigResult<nlohmann::json>(boost::system::in_place_value, nlohmann::json::parse(text));
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts the characters read, the offending one included.
    return json_error_at(text, e.byte > 0 ? e.byte - 1 : 0, name, fmt::format("not valid JSON: {}", parse_error_detail(e)));
  } catch (const nlohmann::json::out_of_range& e) {
    // A number no double holds (1e999, four hundred nines): the parser names the token but not
    // where it is, so it is located at its first occurrence and quoted at most 40 characters long.
    const std::string what = e.what();
    const auto open = what.find('\'');
    const auto close = open == std::string::npos ? std::string::npos : what.find('\'', open + 1);
    const std::string token = close == std::string::npos ? std::string() : what.substr(open + 1, close - open - 1);
    const auto at = token.empty() ? std::string_view::npos : text.find(token);
    const std::string shown = token.size() > 40 ? token.substr(0, 40) + "..." : token;
    return json_error_at(text, at == std::string_view::npos ? 0 : at, name,
                         fmt::format("not valid JSON: number {} is out of range; expected a number a double holds",
                                     protocol::escape_text(shown)));
  }
}

ConfigResult<nlohmann::json> load_json_file(const std::string& path, std::size_t max_bytes) {
  auto text = read_file_capped(path, max_bytes);
  if (!text) return text.error();
  return parse_json_input(*text, path);
}

}  // namespace kmslab::config
