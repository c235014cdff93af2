#include "kmslab/harness/reports.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace kmslab::harness {

namespace {

double seconds(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1e6; }

std::string iso_time(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Decodes one UTF-8 sequence at `i`; returns its length, 0 when invalid.
std::size_t utf8_length(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  if (b < 0x80) {
    cp = b;
    return 1;
  }
  if ((b & 0xE0) == 0xC0) len = 2, cp = b & 0x1Fu;
  else if ((b & 0xF0) == 0xE0) len = 3, cp = b & 0x0Fu;
  else if ((b & 0xF8) == 0xF0) len = 4, cp = b & 0x07u;
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3Fu);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

std::string escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = utf8_length(text, i, cp);
    const bool allowed = len != 0 && (cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                                      (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000);
    if (!allowed) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += len == 0 ? 1 : len;
      continue;
    }
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      // Attribute values normalise raw whitespace to spaces; character references survive.
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      case '\r': out += "&#13;"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      default: out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string attr(std::string_view text) { return escape(text, true); }

std::string fit(std::string text, std::size_t width) {
  if (text.size() <= width) return text;
  return text.substr(0, width - 3) + "...";
}

std::string status_word(Status s) {
  switch (s) {
    case Status::passed: return "PASS";
    case Status::failed: return "FAIL";
    case Status::error: return "ERROR";
    case Status::not_run: return "NOT RUN";
    case Status::skipped: return "SKIP";
  }
  return "?";
}

const char* status_colour(Status s) {
  switch (s) {
    case Status::passed: return "\033[32m";
    case Status::failed:
    case Status::error: return "\033[31m";
    case Status::not_run:
    case Status::skipped: return "\033[33m";
  }
  return "";
}

// The failure text of a run: for each failed step, expected vs actual and the unmet lines.
std::string failure_body(const ScenarioResult& r) {
  std::string out;
  if (r.mutant) out += fmt::format("mutant: {}\n", r.mutation);
  if (!r.error.empty()) out += r.error + "\n";
  for (const auto& s : r.steps) {
    if (s.passed && !r.mutant) continue;
    out += fmt::format("step '{}':\n  expected: {}\n  actual:   {}\n", s.name, s.expected,
                       s.actual.empty() ? "(probe did not complete)" : s.actual);
    for (const auto& f : s.failures) out += fmt::format("  - {}\n", f);
  }
  return out;
}

std::string failure_message(const ScenarioResult& r) {
  if (r.mutant && r.status == Status::failed) return "mutant survived: the expectations still passed after " + r.mutation;
  if (!r.error.empty()) return r.error;
  for (const auto& s : r.steps)
    if (!s.passed && !s.failures.empty())
      return s.failures.size() == 1 ? s.failures.front()
                                    : fmt::format("{} (and {} more)", s.failures.front(), s.failures.size() - 1);
  return "failed";
}

}  // namespace

std::string xml_escape(std::string_view text) { return escape(text, false); }

std::string render_table(const SuiteResult& suite, const TableOptions& options) {
  std::size_t name_w = 8;
  for (const auto& r : suite.results) name_w = std::max(name_w, r.display_name().size());
  name_w = std::min<std::size_t>(name_w, 48);
  constexpr std::size_t kExpectedWidth = 52;
  std::string out = fmt::format("{:<{}}  {:<7}  {:<{}}  {:>8}\n", "SCENARIO", name_w, "RESULT", "EXPECTED",
                                kExpectedWidth, "TIME");
  for (const auto& r : suite.results) {
    const std::string word = status_word(r.status);
    const std::string shown = options.colour ? fmt::format("{}{:<7}\033[0m", status_colour(r.status), word)
                                             : fmt::format("{:<7}", word);
    out += fmt::format("{:<{}}  {}  {:<{}}  {:>7.2f}s\n", fit(r.display_name(), name_w), name_w, shown,
                       fit(r.expected, kExpectedWidth), kExpectedWidth, seconds(r.duration));
  }
  out += fmt::format("\n{} run(s): {} passed, {} failed, {} error(s), {} not run in {:.1f}s (jobs {}, seed {}{})\n",
                     suite.results.size(), suite.count(Status::passed), suite.count(Status::failed),
                     suite.count(Status::error), suite.count(Status::not_run), seconds(suite.wall), suite.jobs,
                     suite.seed, suite.interrupted ? ", interrupted" : "");
  if (suite.interrupted) out += "INTERRUPTED: the scenarios marked NOT RUN did not finish; nothing they saw is a result\n";
  if (const auto skipped = suite.count(Status::skipped); skipped > 0) {
    // Never silent: every skip is counted and its reason printed, whatever `details` says.
    out += fmt::format("{} skipped (not run on this machine, not passed):\n", skipped);
    for (const auto& r : suite.results)
      if (r.status == Status::skipped) out += fmt::format("  SKIP {}: {}\n", r.display_name(), r.error);
  }
  if (options.details) {
    bool header = false;
    for (const auto& r : suite.results) {
      if (r.status == Status::passed || r.status == Status::not_run || r.status == Status::skipped) continue;
      if (!header) out += "\nFailures:\n";
      header = true;
      out += fmt::format("\n{} {} ({}, seed {})\n", status_word(r.status), r.display_name(), r.file, r.seed);
      std::string body = failure_body(r);
      std::size_t pos = 0;
      while (pos < body.size()) {
        const auto nl = body.find('\n', pos);
        out += "  " + body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos + 1);
        if (nl == std::string::npos) break;
        pos = nl + 1;
      }
    }
  }
  return out;
}

std::string render_junit(const SuiteResult& suite) {
  // One <testsuite> per cause, in order of first appearance.
  std::vector<std::string> causes;
  for (const auto& r : suite.results)
    if (std::find(causes.begin(), causes.end(), r.cause) == causes.end()) causes.push_back(r.cause);
  auto count = [&](const std::string& cause, Status s) {
    return std::count_if(suite.results.begin(), suite.results.end(),
                         [&](const auto& r) { return r.cause == cause && r.status == s; });
  };
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"kmslab scenarios\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\" timestamp=\"{}\">\n",
      suite.results.size(), suite.count(Status::failed), suite.count(Status::error),
      suite.count(Status::not_run) + suite.count(Status::skipped), seconds(suite.wall), iso_time(suite.started_at));
  for (const auto& cause : causes) {
    std::chrono::microseconds time{0};
    std::size_t tests = 0;
    for (const auto& r : suite.results)
      if (r.cause == cause) time += r.duration, ++tests;
    out += fmt::format(
        "  <testsuite name=\"kmslab.{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\" "
        "timestamp=\"{}\">\n",
        attr(cause), tests, count(cause, Status::failed), count(cause, Status::error),
        count(cause, Status::not_run) + count(cause, Status::skipped),
        seconds(time), iso_time(suite.started_at));
    out += fmt::format(
        "    <properties>\n      <property name=\"seed\" value=\"{}\"/>\n      <property name=\"jobs\" "
        "value=\"{}\"/>\n    </properties>\n",
        suite.seed, suite.jobs);
    for (const auto& r : suite.results) {
      if (r.cause != cause) continue;
      out += fmt::format("    <testcase classname=\"kmslab.{}\" name=\"{}\" file=\"{}\" time=\"{:.3f}\">\n", attr(cause),
                         attr(r.display_name()), attr(r.file), seconds(r.duration));
      switch (r.status) {
        case Status::passed: break;
        case Status::failed:
          out += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", attr(failure_message(r)),
                             r.mutant ? "mutant-survived" : "expectation", xml_escape(failure_body(r)));
          break;
        case Status::error:
          out += fmt::format("      <error message=\"{}\" type=\"scenario-error\">{}</error>\n", attr(failure_message(r)),
                             xml_escape(failure_body(r)));
          break;
        case Status::not_run:
        case Status::skipped:
          out += fmt::format("      <skipped message=\"{}\"/>\n", attr(r.error.empty() ? "not run" : r.error));
          break;
      }
      std::string sysout = fmt::format("seed {}\n", r.seed);
      for (const auto& s : r.steps) {
        sysout += fmt::format("== step '{}': {} ({} ms)\n", s.name, s.passed ? "passed" : "failed",
                              static_cast<double>(s.duration.count()) / 1000.0);
        sysout += s.report_text;
        if (!sysout.empty() && sysout.back() != '\n') sysout += '\n';
      }
      out += fmt::format("      <system-out>{}</system-out>\n", xml_escape(sysout));
      out += "    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

nlohmann::json suite_to_json(const SuiteResult& suite) {
  using nlohmann::json;
  json runs = json::array();
  for (const auto& r : suite.results) {
    json steps = json::array();
    for (const auto& s : r.steps) {
      steps.push_back({{"name", s.name},
                       {"passed", s.passed},
                       {"expected", s.expected},
                       {"actual", s.actual},
                       {"failures", s.failures},
                       {"duration_ms", static_cast<double>(s.duration.count()) / 1000.0},
                       {"report", s.report_json}});
    }
    json run = {{"name", r.name},
                {"display_name", r.display_name()},
                {"file", r.file},
                {"cause", r.cause},
                {"tags", r.tags},
                {"description", r.description},
                {"repeat", r.repeat},
                {"mutant", r.mutant},
                {"seed", r.seed},
                {"status", to_string(r.status)},
                {"expected", r.expected},
                {"duration_ms", static_cast<double>(r.duration.count()) / 1000.0},
                {"steps", std::move(steps)}};
    if (r.mutant) run["mutation"] = r.mutation;
    if (!r.error.empty()) run["error"] = r.error;
    runs.push_back(std::move(run));
  }
  return {{"schema", "kmslab-suite"},
          {"schema_version", kSuiteSchemaVersion},
          {"seed", suite.seed},
          {"jobs", suite.jobs},
          {"repeat", suite.repeat},
          {"mutate", suite.mutate},
          {"interrupted", suite.interrupted},
          {"started_at", iso_time(suite.started_at)},
          {"wall_ms", static_cast<double>(suite.wall.count()) / 1000.0},
          {"totals",
           {{"runs", suite.results.size()},
            {"passed", suite.count(Status::passed)},
            {"failed", suite.count(Status::failed)},
            {"error", suite.count(Status::error)},
            {"not_run", suite.count(Status::not_run)},
            {"skipped", suite.count(Status::skipped)}}},
          {"exit_code", suite_exit_code(suite)},
          {"scenarios", std::move(runs)}};
}

std::string write_file_atomic(const std::string& path, std::string_view content) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fmt::format("cannot write {}: {}", path, std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return fmt::format("cannot write {}: {}", path, why);
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  if (::close(fd) != 0 || !synced) {
    const std::string why = std::strerror(synced ? errno : sync_errno);
    ::unlink(tmp.c_str());
    return fmt::format("cannot write {}: {}", path, why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fmt::format("cannot write {}: {}", path, why);
  }
  return {};
}

}  // namespace kmslab::harness
