// Rendering a suite's results: the summary table for people, JUnit XML for CI test reporters, and
// JSON for programs.
//
// JUnit follows the shape GitLab, Jenkins (the JUnit plugin) and GitHub test-report actions read:
// <testsuites> with one <testsuite> per scenario cause, one <testcase classname="kmslab.<cause>"
// name="<scenario>" time="<seconds>"> per run; a failed run has <failure message="..."> with
// expected vs actual, an errored one <error>, one that did not run <skipped>; <system-out> holds
// the probe's text report. Text is escaped for XML, and characters XML 1.0 cannot carry (control
// bytes, invalid UTF-8) are replaced, so the file always parses.
//
// The JSON document ("kmslab-suite", version 1) holds every run with its steps, failures and the
// probe's JSON report. Report files are written atomically (temp file, fsync, rename), so a reader
// never sees half a report, even when the run is interrupted.
#pragma once

#include "kmslab/harness/results.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace kmslab::harness {

inline constexpr int kSuiteSchemaVersion = 1;

struct TableOptions {
  bool colour = false;  // ANSI colours (the caller passes isatty)
  bool details = true;  // failure lines under the table
};
std::string render_table(const SuiteResult& suite, const TableOptions& options = {});

std::string render_junit(const SuiteResult& suite);
nlohmann::json suite_to_json(const SuiteResult& suite);

// XML 1.0 text / attribute escaping (also replaces characters XML cannot carry with U+FFFD).
std::string xml_escape(std::string_view text);

// Writes `content` to `path` through a temporary file in the same directory and a rename.
// Returns an empty string on success, else one sentence naming the file and the reason.
std::string write_file_atomic(const std::string& path, std::string_view content);

}  // namespace kmslab::harness
