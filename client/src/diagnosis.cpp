#include "kmslab/client/diagnosis.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "assess.hpp"
#include "kmslab/client/timeline.hpp"

namespace kmslab::client {
namespace {

using detail::AttemptAssessment;
using detail::AttemptStatus;

// A finding with where it came from, for the rules that combine findings.
struct Item {
  Finding finding;
  bool client_failure = false;         // a DNS query or client-path attempt failed: may wrap into 0xC004F074
  bool lowerable = false;              // lowered to a warning when the client activated anyway
  Micros when{0};                      // end of the failing step, for "most recent failure"
  std::optional<std::size_t> attempt;  // index of the attempt it came from
  bool primary = false;                // the finding behind the Windows code
};

Item item(Finding f, bool client_failure = false, bool lowerable = false, Micros when = Micros{0},
          std::optional<std::size_t> attempt = std::nullopt) {
  return Item{std::move(f), client_failure, lowerable, when, attempt, false};
}

Finding failover_finding(const ProbeObservations& obs, const std::vector<AttemptAssessment>& assessed,
                         std::size_t success) {
  const auto& good = obs.attempts[success];
  std::vector<std::string> lines;
  std::optional<std::size_t> first_failed;
  for (std::size_t i = 0; i < success; ++i) {
    const auto& a = obs.attempts[i];
    if (!is_client_path(a.source) || assessed[i].status == AttemptStatus::incomplete) continue;
    if (!first_failed) first_failed = i;
    lines.push_back(fmt::format("{} failed first: {}", attempt_target(a), assessed[i].outcome_text));
  }
  const auto& failed = obs.attempts[*first_failed];
  std::string lost;
  const auto from = attempt_span(failed);
  const auto to = attempt_span(good);
  if (from && to && to->start >= from->start)
    lost = fmt::format("; time lost before it: {} ms", format_ms(to->start - from->start));
  lines.push_back(fmt::format("then {} worked{}", attempt_target(good), lost));
  if (failed.source == TargetSource::cached)
    lines.push_back(
        "the cached host is tried before discovery, so every activation pays this delay until it is fixed or "
        "cleared");
  CheckContext ctx;
  ctx.domain = detail::domain_of(failed, obs);
  ctx.host = failed.host;
  ctx.port = failed.port;
  ctx.address = detail::host_part(failed.connect.address);
  if (!obs.dns.empty()) detail::set_dns_server(ctx, obs.dns.front().server);
  auto f = make_finding(FindingCode::failover_used, attempt_target(failed), std::move(lines), ctx);
  f.phase = Phase::tcp_connect;
  return f;
}

std::string rung_words(const AttemptObservation& a, const AttemptAssessment& as) {
  return fmt::format("{} {}: {}", a.source == TargetSource::ladder_name ? "by name" : "by IP", a.label(),
                     as.outcome_text);
}

bool reached_kms(const AttemptAssessment& as) {
  return as.status == AttemptStatus::activated || as.status == AttemptStatus::answered;
}

LadderResult ladder_result(const ProbeObservations& obs, const std::vector<AttemptAssessment>& assessed) {
  LadderResult out;
  if (!obs.ladder.ran) {
    out.text = "not run";
    return out;
  }
  std::optional<std::size_t> by_name;
  std::optional<std::size_t> by_ip;
  for (std::size_t i = 0; i < obs.attempts.size(); ++i) {
    if (obs.attempts[i].source == TargetSource::ladder_name) by_name = i;
    if (obs.attempts[i].source == TargetSource::ladder_ip) by_ip = i;
  }
  if (!obs.ladder.trigger.empty()) out.evidence.push_back("ran because " + obs.ladder.trigger);
  if (by_name) out.evidence.push_back(rung_words(obs.attempts[*by_name], assessed[*by_name]));
  if (by_ip) out.evidence.push_back(rung_words(obs.attempts[*by_ip], assessed[*by_ip]));
  const std::string host = obs.ladder.host.empty() ? std::string("the KMS host") : obs.ladder.host;
  const auto port = obs.ladder.port;

  if (by_name && reached_kms(assessed[*by_name])) {
    out.verdict = LadderVerdict::srv_record;
    out.text = fmt::format(
        "{} answers KMS requests by name on port {}: the SRV record (missing, wrong "
        "target or wrong port) is the problem",
        host, port);
  } else if (by_ip && !by_name && reached_kms(assessed[*by_ip])) {
    // The ladder's host was an IP address (a --kms-hint such as 127.0.0.1:1688): there is no name
    // step, so nothing here speaks about name resolution; the host answers, discovery did not.
    out.verdict = LadderVerdict::srv_record;
    out.text = fmt::format(
        "{} answers KMS requests on port {} (an IP address: there is no name to resolve): SRV "
        "discovery is the problem, not the host (the DNS finding says why)",
        obs.attempts[*by_ip].host, port);
  } else if (by_ip && reached_kms(assessed[*by_ip])) {
    out.verdict = LadderVerdict::name_resolution;
    out.text =
        fmt::format("{} fails by name but answers by IP address {}: name resolution of {} is the problem",
                    host, obs.attempts[*by_ip].host, host);
  } else if (by_ip && obs.attempts[*by_ip].connect.outcome != ConnectOutcome::ok) {
    out.verdict = LadderVerdict::network_or_firewall;
    out.text = fmt::format(
        "not even a TCP connect to {} port {} works by IP address ({}): the network or a "
        "firewall on port {} is the problem",
        obs.attempts[*by_ip].host, port, to_string(obs.attempts[*by_ip].connect.outcome), port);
  } else if (by_ip) {
    out.verdict = LadderVerdict::kms_service;
    out.text = fmt::format(
        "TCP port {} on {} accepts connections, but no KMS answer came back: the service "
        "behind the port is the problem",
        port, obs.attempts[*by_ip].host);
  } else if (by_name) {
    out.verdict = LadderVerdict::inconclusive;
    out.text = fmt::format("{} fails by name and no IP address was known to try it by address", host);
  } else {
    out.verdict = LadderVerdict::inconclusive;
    out.text = "the ladder ran, but no rung was recorded";
  }
  return out;
}

void merge_duplicates(std::vector<Item>& items) {
  std::vector<Item> merged;
  for (auto& item : items) {
    auto same = std::find_if(merged.begin(), merged.end(), [&](const Item& m) {
      return m.finding.code == item.finding.code && m.finding.target == item.finding.target;
    });
    if (same == merged.end()) {
      merged.push_back(std::move(item));
      continue;
    }
    for (auto& line : item.finding.evidence)
      if (std::find(same->finding.evidence.begin(), same->finding.evidence.end(), line) ==
          same->finding.evidence.end())
        same->finding.evidence.push_back(std::move(line));
    same->finding.severity = std::max(same->finding.severity, item.finding.severity);
    same->primary = same->primary || item.primary;
  }
  items = std::move(merged);
}

std::string join_codes(const std::vector<Finding>& findings, Severity severity) {
  std::string out;
  for (const auto& f : findings) {
    if (f.severity != severity) continue;
    const auto code = to_string(f.code);
    if (out.find(code) != std::string::npos) continue;
    if (!out.empty()) out += ", ";
    out += code;
  }
  return out;
}

std::string summarise(const Diagnosis& d, const ProbeObservations& obs) {
  if (d.activated_attempt) {
    const auto& a = obs.attempts[*d.activated_attempt];
    const std::string base =
        fmt::format("activated against {} in {} ms, count {}", attempt_target(a),
                    format_ms(a.activation.timing.duration), a.activation.response.current_count);
    const auto warnings = std::count_if(d.findings.begin(), d.findings.end(),
                                        [](const Finding& f) { return f.severity == Severity::warning; });
    if (warnings == 0) return base;
    return fmt::format("{}; {} warning{}: {}", base, warnings, warnings == 1 ? "" : "s",
                       join_codes(d.findings, Severity::warning));
  }
  if (d.findings.empty() || d.findings.front().severity != Severity::error)
    return obs.attempts.empty() && obs.dns.empty()
               ? "nothing was probed: no domain and no KMS host"
               : "no activation was observed: no attempt reached an answer";
  const auto& first = d.findings[d.primary_finding.value_or(0)];
  const auto errors = std::count_if(d.findings.begin(), d.findings.end(),
                                    [](const Finding& f) { return f.severity == Severity::error; });
  std::string s = fmt::format("{}: {} [{}]", to_string(first.code), first.entry().title, first.target);
  if (errors > 1) s += fmt::format("; {} more error{}", errors - 1, errors == 2 ? "" : "s");
  if (d.ladder.verdict != LadderVerdict::not_run)
    s += fmt::format("; ladder: {}", to_string(d.ladder.verdict));
  return s;
}

// The Windows code: 0 when the client activates; the code of a client-path host that answered at
// the KMS level; otherwise 0xC004F074 around the most recent client-path failure.
void decide_windows_code(Diagnosis& out, std::vector<Item>& items, const ProbeObservations& obs,
                         const std::vector<AttemptAssessment>& assessed) {
  if (out.activated_attempt) {
    out.windows_code = 0;
    out.windows_code_text = "the client activates";
    return;
  }
  std::optional<std::size_t> answered;
  for (std::size_t i = 0; i < obs.attempts.size(); ++i)
    if (is_client_path(obs.attempts[i].source) && assessed[i].status == AttemptStatus::answered) answered = i;
  if (answered && assessed[*answered].failure && assessed[*answered].failure->hresult) {
    for (auto& i : items) i.primary = i.primary || i.attempt == answered;
    out.windows_code = *assessed[*answered].failure->hresult;
    out.windows_code_text =
        fmt::format("{} answered at the KMS level; the client shows its answer {}",
                    attempt_target(obs.attempts[*answered]), format_hresult(out.windows_code));
    return;
  }
  out.windows_code = kNoKmsContacted;
  Item* last = nullptr;
  for (auto& i : items)
    if (i.client_failure && (!last || i.when >= last->when)) last = &i;
  if (!last) {
    out.windows_code_text = "no KMS host could be contacted, and no failure was observed to explain it";
    return;
  }
  last->primary = true;
  out.underlying_code = last->finding.hresult;
  const auto wrapped =
      out.underlying_code ? format_hresult(*out.underlying_code) : std::string("no specific code");
  out.windows_code_text = fmt::format(
      "no KMS host could be contacted: Windows shows 0xC004F074 and records the "
      "underlying error ({}, {}) in its event log",
      to_string(last->finding.code), wrapped);
  last->finding.evidence.push_back(fmt::format(
      "Windows reports this as 0xC004F074 (no KMS host could be contacted), wrapping {}", wrapped));
}

}  // namespace

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::healthy:
      return "healthy";
    case Verdict::degraded:
      return "degraded";
    case Verdict::failed:
      return "failed";
    case Verdict::interrupted:
      return "interrupted";
  }
  return "?";
}

std::optional<Verdict> parse_verdict(std::string_view t) noexcept {
  for (auto v : {Verdict::healthy, Verdict::degraded, Verdict::failed, Verdict::interrupted})
    if (to_string(v) == t) return v;
  return std::nullopt;
}

std::string_view to_string(LadderVerdict v) noexcept {
  switch (v) {
    case LadderVerdict::not_run:
      return "not_run";
    case LadderVerdict::srv_record:
      return "srv_record";
    case LadderVerdict::name_resolution:
      return "name_resolution";
    case LadderVerdict::network_or_firewall:
      return "network_or_firewall";
    case LadderVerdict::kms_service:
      return "kms_service";
    case LadderVerdict::inconclusive:
      return "inconclusive";
  }
  return "?";
}

std::optional<LadderVerdict> parse_ladder_verdict(std::string_view t) noexcept {
  for (auto v : {LadderVerdict::not_run, LadderVerdict::srv_record, LadderVerdict::name_resolution,
                 LadderVerdict::network_or_firewall, LadderVerdict::kms_service, LadderVerdict::inconclusive})
    if (to_string(v) == t) return v;
  return std::nullopt;
}

int exit_code_for(Verdict verdict, bool strict) noexcept {
  switch (verdict) {
    case Verdict::healthy:
      return kExitHealthy;
    case Verdict::degraded:
      return strict ? kExitProblem : kExitHealthy;
    case Verdict::failed:
      return kExitProblem;
    case Verdict::interrupted:
      return kExitInterrupted;
  }
  return kExitProblem;
}

Diagnosis diagnose_interrupted(const ProbeObservations& obs, const std::string& cut) {
  Diagnosis out;
  out.verdict = Verdict::interrupted;
  out.exit_code = kExitInterrupted;
  out.windows_code = 0;
  out.windows_code_text = "not determined: the probe was interrupted before it finished";
  out.interrupted_during = cut;
  out.timeline = build_timeline(obs);
  out.summary = fmt::format("interrupted {}after {} finished phase(s); the phases after it were not run, and no "
                            "diagnosis is drawn from a partial run",
                            cut.empty() ? "" : "during " + cut + " ", out.timeline.size());
  return out;
}

Diagnosis diagnose(const ProbeObservations& obs, const DiagnosisPolicy& policy) {
  Diagnosis out;
  out.timeline = build_timeline(obs);
  std::vector<Item> items;

  for (const auto& d : obs.dns)
    for (auto& f : detail::assess_dns(d, obs)) {
      const bool failure = f.severity == Severity::error;
      items.push_back(item(std::move(f), failure, true, d.timing.end()));
    }

  std::vector<AttemptAssessment> assessed;
  assessed.reserve(obs.attempts.size());
  for (std::size_t i = 0; i < obs.attempts.size(); ++i) {
    const auto& a = obs.attempts[i];
    assessed.push_back(detail::assess_attempt(a, obs));
    const auto& as = assessed.back();
    if (as.status == AttemptStatus::activated && is_client_path(a.source) && !out.activated_attempt)
      out.activated_attempt = i;
    if (as.failure) {
      const auto span = attempt_span(a);
      items.push_back(item(*as.failure, is_client_path(a.source), true, span ? span->end : Micros{0}, i));
    }
  }

  if (out.activated_attempt) {
    const auto s = *out.activated_attempt;
    bool earlier_failed = false;
    for (std::size_t i = 0; i < s; ++i)
      earlier_failed = earlier_failed || (is_client_path(obs.attempts[i].source) &&
                                          assessed[i].status != AttemptStatus::incomplete);
    if (earlier_failed) items.push_back(item(failover_finding(obs, assessed, s)));
    for (auto& i : items)
      if (i.lowerable && i.finding.severity == Severity::error) i.finding.severity = Severity::warning;
  }

  for (const auto& s : obs.sntp)
    for (auto& f : detail::assess_sntp(s, policy)) items.push_back(item(std::move(f)));
  for (auto& f : detail::assess_budgets(obs, policy)) items.push_back(item(std::move(f)));

  decide_windows_code(out, items, obs, assessed);
  out.ladder = ladder_result(obs, assessed);
  merge_duplicates(items);
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.finding.severity != b.finding.severity) return a.finding.severity > b.finding.severity;
    return a.finding.phase < b.finding.phase;
  });
  for (auto& item : items) {
    if (item.primary && !out.primary_finding) out.primary_finding = out.findings.size();
    out.findings.push_back(std::move(item.finding));
  }

  const bool warned = std::any_of(out.findings.begin(), out.findings.end(),
                                  [](const Finding& f) { return f.severity >= Severity::warning; });
  out.verdict = !out.activated_attempt ? Verdict::failed : warned ? Verdict::degraded : Verdict::healthy;
  out.exit_code = exit_code_for(out.verdict, policy.strict);
  out.summary = summarise(out, obs);
  return out;
}

}  // namespace kmslab::client
