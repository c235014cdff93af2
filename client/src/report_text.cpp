#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "kmslab/client/report.hpp"
#include "kmslab/client/timeline.hpp"

namespace kmslab::client {
namespace {

// ANSI styling that disappears when colour is off. Padding is applied before styling, so the
// escape codes never shift a column.
class Style {
 public:
  explicit Style(bool on) : on_(on) {}
  std::string operator()(std::string_view text, std::string_view code) const {
    if (!on_ || text.empty()) return std::string(text);
    return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
  }
  std::string bold(std::string_view t) const { return (*this)(t, "1"); }
  std::string dim(std::string_view t) const { return (*this)(t, "2"); }

 private:
  bool on_;
};

std::string_view verdict_colour(Verdict v) {
  switch (v) {
    case Verdict::healthy:
      return "1;32";
    case Verdict::degraded:
      return "1;33";
    case Verdict::failed:
      return "1;31";
    case Verdict::interrupted:
      return "1;35";
  }
  return "1";
}

std::string_view severity_colour(Severity s) {
  switch (s) {
    case Severity::error:
      return "31";
    case Severity::warning:
      return "33";
    case Severity::info:
      return "36";
  }
  return "0";
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
  return out;
}

std::string hresult_words(std::optional<std::uint32_t> code, HresultBasis basis) {
  if (!code) return "no Windows code";
  if (basis == HresultBasis::unverified) return format_hresult(*code) + " (unverified)";
  return format_hresult(*code);
}

void header(std::string& out, const Diagnosis& d, const ProbeObservations& obs, const Style& st) {
  out += fmt::format("{} {}  (exit {})\n", st.bold("KMS probe:"),
                     st(upper(to_string(d.verdict)), verdict_colour(d.verdict)), d.exit_code);
  if (d.verdict == Verdict::interrupted) out += fmt::format("Windows code: -  {}\n", d.windows_code_text);
  else out += fmt::format("Windows code: {}  {}\n", format_hresult(d.windows_code), d.windows_code_text);
  out += fmt::format("Summary:      {}\n", d.summary);
  const auto& o = obs.options;
  const auto secs = std::chrono::floor<std::chrono::seconds>(obs.started_at);
  std::string run =
      fmt::format("started {:%Y-%m-%d %H:%M:%S} UTC, took {} ms, seed {}",
                  std::chrono::sys_seconds(secs.time_since_epoch()), format_ms(obs.total), o.seed);
  if (!o.domains.empty()) run += fmt::format(", domains {}", fmt::join(o.domains, " "));
  if (!o.kms_host.empty()) run += ", kms " + o.kms_host;
  if (!o.cached_host.empty()) run += ", cached " + o.cached_host;
  out += fmt::format("Run:          {}\n", run);
  out += fmt::format("Request:      {} (N-policy {}), protocol v{}, discovery {}\n",
                     o.product.empty() ? std::string("product not named") : o.product, o.n_policy, o.protocol,
                     o.discovery_model);
}

void timeline_table(std::string& out, const std::vector<PhaseRecord>& rows, const Style& st) {
  out += "\n" + st.bold("Timeline") + "\n";
  if (rows.empty()) {
    out += "  (no phase ran)\n";
    return;
  }
  const std::array<std::string, 5> head{"PHASE", "TARGET", "START ms", "DURATION ms", "OUTCOME"};
  std::vector<std::array<std::string, 5>> cells;
  for (const auto& r : rows)
    cells.push_back({std::string(to_string(r.phase)), r.target, format_ms(r.start), format_ms(r.duration),
                     std::string(to_string(r.outcome))});
  std::array<std::size_t, 5> width{};
  for (std::size_t c = 0; c < 5; ++c) {
    width[c] = head[c].size();
    for (const auto& row : cells) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::array<std::string, 5>& row, bool is_head, PhaseOutcome outcome) {
    std::string s = "  ";
    s += fmt::format("{:<{}}  {:<{}}  {:>{}}  {:>{}}  ", row[0], width[0], row[1], width[1], row[2], width[2],
                     row[3], width[3]);
    if (is_head) return s + row[4] + "\n";
    const auto colour = outcome == PhaseOutcome::ok ? "32" : outcome == PhaseOutcome::failed ? "31" : "33";
    return s + st(row[4], colour) + "\n";
  };
  out += st.dim(line(head, true, PhaseOutcome::ok));
  for (std::size_t i = 0; i < cells.size(); ++i) out += line(cells[i], false, rows[i].outcome);
}

void findings_section(std::string& out, const std::vector<Finding>& findings, const Style& st) {
  const auto count = [&](Severity s) {
    return std::count_if(findings.begin(), findings.end(), [s](const Finding& f) { return f.severity == s; });
  };
  out += "\n" +
         st.bold(fmt::format("Findings ({} error, {} warning, {} info)", count(Severity::error),
                             count(Severity::warning), count(Severity::info))) +
         "\n";
  if (findings.empty()) out += "  none\n";
  const std::string indent(11, ' ');
  for (const auto& f : findings) {
    const auto& e = f.entry();
    const std::string tag = fmt::format("{:<8}", upper(to_string(f.severity)));
    out += fmt::format("  {} {}  {}  runbook {} ({})\n", st(tag, severity_colour(f.severity)),
                       st.bold(to_string(f.code)), hresult_words(f.hresult, f.hresult_basis),
                       to_string(e.cause), describe(e.cause));
    out += fmt::format("{}{}\n", indent, e.title);
    out += fmt::format("{}target:   {}\n", indent, f.target);
    for (std::size_t i = 0; i < f.evidence.size(); ++i)
      out += fmt::format("{}{}{}\n", indent, i == 0 ? "evidence: " : "          ", f.evidence[i]);
    if (!f.next_checks.empty()) out += fmt::format("{}next checks:\n", indent);
    for (const auto& c : f.next_checks)
      out += fmt::format("{}  {}\n{}      {}\n", indent, c.command, indent, st.dim(c.why));
  }
}

void ladder_section(std::string& out, const LadderResult& ladder, const Style& st) {
  if (ladder.verdict == LadderVerdict::not_run) return;
  out += "\n" + st.bold(fmt::format("Triage ladder: {}", to_string(ladder.verdict))) + "\n";
  out += fmt::format("  {}\n", ladder.text);
  for (const auto& line : ladder.evidence) out += fmt::format("    - {}\n", line);
}

void local_checks(std::string& out, const Style& st) {
  out += "\n" + st.bold("Not checked from here (Windows-local; run on the client)") + "\n";
  for (const auto& c : windows_local_checks()) {
    out += fmt::format("  runbook {:<2} {}: {}\n", c.runbook, c.title, c.why);
    for (const auto& cmd : c.commands)
      out += fmt::format("    {}\n        {}\n", cmd.command, st.dim(cmd.why));
  }
}

}  // namespace

std::string render_text(const Diagnosis& d, const ProbeObservations& obs, const TextReportOptions& options) {
  const Style st(options.colour);
  std::string out;
  header(out, d, obs, st);
  timeline_table(out, d.timeline, st);
  findings_section(out, d.findings, st);
  ladder_section(out, d.ladder, st);
  local_checks(out, st);
  return out;
}

}  // namespace kmslab::client
