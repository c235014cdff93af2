// The output boundary of the reports built from what peers sent and files held (probe, decode,
// audit): whatever a string holds, the report still prints (see protocol::escape_text).
#include "commands.hpp"

#include "kmslab/protocol/utf16.hpp"

#include <nlohmann/json.hpp>

namespace kmslab::cli {

namespace {

// Escapes every string, keys included, in place; a key that changes is moved to its new name.
void escape_report_strings(nlohmann::json& value) {
  if (value.is_string()) {
    auto& text = value.get_ref<std::string&>();
    if (protocol::find_invalid_utf8(text) != std::string_view::npos) text = protocol::escape_text(text);
  } else if (value.is_array()) {
    for (auto& item : value) escape_report_strings(item);
  } else if (value.is_object()) {
    nlohmann::json escaped = nlohmann::json::object();
    for (auto& [key, item] : value.items()) {
      escape_report_strings(item);
      escaped[protocol::escape_text(key)] = std::move(item);
    }
    value = std::move(escaped);
  }
}

}  // namespace

std::string dump_report(nlohmann::json report, int indent) {
  escape_report_strings(report);
  return report.dump(indent);
}

std::string report_text(std::string_view text) { return protocol::escape_text(text); }

}  // namespace kmslab::cli
