// Rendering a probe's diagnosis for people (text) and for programs (JSON, schema version 1).
//
// The text report has a header (verdict, the Windows code, the one-line summary, the options that
// shaped the run), the timeline table, every finding with its evidence and next checks, the triage
// ladder, and the Windows-local checks the probe cannot do ("not checked from here"). Columns are
// aligned with spaces; ANSI colour is added only when the caller asks (pass isatty(stdout)), so a
// redirected report is plain text.
//
// The JSON report is described by docs/schemas/probe-report.v1.json (JSON Schema 2020-12) and
// docs/probe-report-schema.md. Fields are only ever added within a schema version; renaming or
// removing one bumps kReportSchemaVersion. HRESULTs are strings "0xC004F074"; times are integer
// microseconds (`*_us`); enums are the to_string() names of observations.hpp / findings.hpp.
// All functions are pure.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "kmslab/client/diagnosis.hpp"
#include "kmslab/client/findings.hpp"
#include "kmslab/client/observations.hpp"
#include "kmslab/protocol/error.hpp"

namespace kmslab::client {

inline constexpr int kReportSchemaVersion = 1;

struct TextReportOptions {
  bool colour = false;  // ANSI colours (the caller passes isatty)
};

std::string render_text(const Diagnosis& diagnosis, const ProbeObservations& observations,
                        const TextReportOptions& options = {});

nlohmann::json to_json(const Diagnosis& diagnosis, const ProbeObservations& observations);

// One finding as the report writes it, and back. finding_from_json() checks every field's
// presence and type and that codes / enums are known; errors name the field (Errc::bad_value or
// Errc::bad_type, offset 0).
nlohmann::json finding_to_json(const Finding& finding);
protocol::Result<Finding> finding_from_json(const nlohmann::json& json);

// The findings of a whole report (for baselines and tests): checks schema_version first
// (Errc::bad_version when it is not kReportSchemaVersion).
protocol::Result<std::vector<Finding>> findings_from_report(const nlohmann::json& report);

}  // namespace kmslab::client
