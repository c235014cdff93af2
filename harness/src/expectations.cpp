#include "kmslab/harness/expectations.hpp"

#include "kmslab/client/timeline.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kmslab::harness {

namespace {

std::string code_list(const std::vector<client::Finding>& findings) {
  if (findings.empty()) return "none";
  std::string out;
  for (const auto& f : findings)
    out += fmt::format("{}{}({})", out.empty() ? "" : ", ", client::to_string(f.code), client::to_string(f.severity));
  return out;
}

std::string ms(Micros d) { return client::format_ms(d) + " ms"; }

const client::Finding* find_code(const client::Diagnosis& d, client::FindingCode code) {
  for (const auto& f : d.findings)
    if (f.code == code) return &f;
  return nullptr;
}

std::string ordinal(std::size_t i) {
  switch (i) {
    case 0:
      return "first";
    case 1:
      return "second";
    case 2:
      return "third";
    default:
      return fmt::format("{}th", i + 1);
  }
}

void check_window(const PhaseWindow& w, const client::Diagnosis& d, std::vector<std::string>& out) {
  std::vector<const client::PhaseRecord*> rows;
  for (const auto& r : d.timeline)
    if (r.phase == w.phase && (w.target.empty() || r.target.find(w.target) != std::string::npos)) rows.push_back(&r);
  const std::string label = fmt::format("{} {}{}", ordinal(w.occurrence), client::to_string(w.phase),
                                        w.target.empty() ? "" : fmt::format(" to '{}'", w.target));
  if (w.occurrence >= rows.size()) {
    out.push_back(fmt::format("phase {}: expected, but the timeline has {} such row(s)", label, rows.size()));
    return;
  }
  const auto& row = *rows[w.occurrence];
  if (w.outcome && row.outcome != *w.outcome)
    out.push_back(fmt::format("phase {}: expected outcome {}, got {}", label, client::to_string(*w.outcome),
                              client::to_string(row.outcome)));
  if (w.min && row.duration < *w.min)
    out.push_back(fmt::format("phase {}: expected at least {}, took {}", label, ms(*w.min), ms(row.duration)));
  if (w.max && row.duration > *w.max)
    out.push_back(fmt::format("phase {}: expected at most {}, took {}", label, ms(*w.max), ms(row.duration)));
}

}  // namespace

CheckResult check_expectation(const Expectation& e, const client::Diagnosis& d, Micros total) {
  CheckResult r;
  auto& out = r.failures;
  for (const auto& want : e.findings) {
    const auto* got = find_code(d, want.code);
    if (got == nullptr) {
      out.push_back(fmt::format("finding {}: expected, not reported (reported: {})", client::to_string(want.code),
                                code_list(d.findings)));
    } else if (want.severity && got->severity != *want.severity) {
      out.push_back(fmt::format("finding {}: expected severity {}, reported as {}", client::to_string(want.code),
                                client::to_string(*want.severity), client::to_string(got->severity)));
    }
  }
  for (const auto code : e.absent)
    if (const auto* got = find_code(d, code))
      out.push_back(fmt::format("finding {}: expected absent, reported ({}: {})", client::to_string(code),
                                client::to_string(got->severity), got->target));
  if (e.exact_findings) {
    for (const auto& f : d.findings) {
      const bool expected = std::any_of(e.findings.begin(), e.findings.end(), [&](const auto& w) { return w.code == f.code; });
      const bool already = std::find(e.absent.begin(), e.absent.end(), f.code) != e.absent.end();
      // Information is not a problem the scenario has to name (for example dns.wrong_port on a
      // simulated site's ephemeral port); `absent` still catches one that must not appear.
      const bool informational = f.severity == client::Severity::info;
      if (!expected && !already && !informational)
        out.push_back(fmt::format("finding {}: not expected, reported ({}: {}{})", client::to_string(f.code),
                                  client::to_string(f.severity), f.target,
                                  f.evidence.empty() ? "" : "; " + f.evidence.front()));
    }
  }
  if (e.verdict && d.verdict != *e.verdict)
    out.push_back(fmt::format("verdict: expected {}, got {}", client::to_string(*e.verdict), client::to_string(d.verdict)));
  if (e.windows_code && d.windows_code != *e.windows_code)
    out.push_back(fmt::format("hresult: expected {}, got {}", client::format_hresult(*e.windows_code),
                              client::format_hresult(d.windows_code)));
  if (e.underlying_code && d.underlying_code != e.underlying_code)
    out.push_back(fmt::format("underlying code: expected {}, got {}", client::format_hresult(*e.underlying_code),
                              d.underlying_code ? client::format_hresult(*d.underlying_code) : "none"));
  if (e.exit_code && d.exit_code != *e.exit_code)
    out.push_back(fmt::format("exit: expected {}, got {}", *e.exit_code, d.exit_code));
  if (e.ladder && d.ladder.verdict != *e.ladder)
    out.push_back(fmt::format("ladder: expected {}, got {}", client::to_string(*e.ladder),
                              client::to_string(d.ladder.verdict)));
  for (const auto& w : e.phases) check_window(w, d, out);
  if (e.total_min && total < *e.total_min)
    out.push_back(fmt::format("total: expected at least {}, took {}", ms(*e.total_min), ms(total)));
  if (e.total_max && total > *e.total_max)
    out.push_back(fmt::format("total: expected at most {}, took {}", ms(*e.total_max), ms(total)));
  r.passed = out.empty();
  return r;
}

std::string describe_expectation(const Expectation& e) {
  std::vector<std::string> parts;
  std::string codes;
  for (const auto& f : e.findings)
    codes += fmt::format("{}{}{}", codes.empty() ? "" : ",", client::to_string(f.code),
                         f.severity ? fmt::format("({})", client::to_string(*f.severity)) : "");
  if (!codes.empty()) parts.push_back(codes);
  else if (e.exact_findings) parts.push_back("no findings");
  if (e.verdict) parts.push_back(std::string(client::to_string(*e.verdict)));
  if (e.windows_code) parts.push_back(*e.windows_code == 0 ? "activates" : client::format_hresult(*e.windows_code));
  if (e.exit_code) parts.push_back(fmt::format("exit {}", *e.exit_code));
  if (!e.phases.empty()) parts.push_back(fmt::format("{} window(s)", e.phases.size()));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

std::string describe_outcome(const client::Diagnosis& d) {
  return fmt::format("{} {} exit {}: {}", client::to_string(d.verdict),
                     d.windows_code == 0 ? "activates" : client::format_hresult(d.windows_code), d.exit_code,
                     code_list(d.findings));
}

std::vector<std::string> discount_own_ports(client::Diagnosis& d, const std::vector<std::string>& own_targets,
                                            bool strict) {
  std::vector<std::string> dropped;
  std::vector<client::Finding> kept;
  std::optional<std::size_t> primary;
  for (std::size_t i = 0; i < d.findings.size(); ++i) {
    auto& f = d.findings[i];
    if (f.code == client::FindingCode::dns_wrong_port &&
        std::find(own_targets.begin(), own_targets.end(), f.target) != own_targets.end()) {
      dropped.push_back(f.target);
      continue;
    }
    if (d.primary_finding == i) primary = kept.size();
    kept.push_back(std::move(f));
  }
  if (dropped.empty()) return dropped;
  d.findings = std::move(kept);
  d.primary_finding = primary;
  const bool warned = std::any_of(d.findings.begin(), d.findings.end(),
                                  [](const client::Finding& f) { return f.severity >= client::Severity::warning; });
  if (d.verdict == client::Verdict::degraded && !warned) d.verdict = client::Verdict::healthy;
  d.exit_code = client::exit_code_for(d.verdict, strict);
  return dropped;
}

Mutation mutate_expectation(const Expectation& e, std::uint64_t seed) {
  Mutation m{e, {}};
  std::vector<client::FindingCode> candidates;
  for (const auto code : client::all_finding_codes()) {
    const bool expected = std::any_of(e.findings.begin(), e.findings.end(), [&](const auto& f) { return f.code == code; });
    const bool absent = std::find(e.absent.begin(), e.absent.end(), code) != e.absent.end();
    if (!expected && !absent) candidates.push_back(code);
  }
  auto names = [](const std::vector<ExpectedFinding>& fs) {
    std::string out;
    for (const auto& f : fs) out += fmt::format("{}{}", out.empty() ? "" : ", ", client::to_string(f.code));
    return "[" + out + "]";
  };
  const std::string before = names(e.findings);
  if (!m.expect.findings.empty()) m.expect.findings.erase(m.expect.findings.begin());
  // Every code is expected or absent: keep the drop only (with exact findings it still fails).
  if (!candidates.empty()) {
    const auto pick = candidates[static_cast<std::size_t>(seed % candidates.size())];
    m.expect.findings.push_back(ExpectedFinding{pick, std::nullopt});
  }
  m.description = fmt::format("expected findings {} -> {}", before, names(m.expect.findings));
  return m;
}

}  // namespace kmslab::harness
