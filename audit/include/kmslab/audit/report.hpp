// The audit report's three renderings: a table for people, JSON for pipelines and --baseline,
// and JUnit XML (one testcase per target x product) so CI can gate on a site.
//
// to_json() is the schema read back by read_baseline() (baseline.hpp): a later audit compares
// with an earlier one's JSON. render_junit() marks a testcase failed when the product was not
// activated on every address and protocol, or when an error finding names that target.
// All functions are pure.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "kmslab/audit/audit.hpp"

namespace kmslab::audit {

inline constexpr int kReportSchemaVersion = 1;

nlohmann::json to_json(const AuditReport& report);
std::string render_text(const AuditReport& report);
std::string render_junit(const AuditReport& report);

// Writes `text` to `path` through a temporary file in the same directory and rename(), so a
// reader never sees a half-written report. Error: a sentence naming the path and the reason.
boost::system::result<void, std::string> write_file_atomically(const std::string& path, const std::string& text);

}  // namespace kmslab::audit
