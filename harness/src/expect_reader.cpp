#include "expect_reader.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kmslab::harness::detail {

using config::ConfigNode;

namespace {

template <class Values, class Name>
[[noreturn]] void fail_choice(const ConfigNode& node, std::string_view what, const std::string& text,
                              const Values& values, Name name_of) {
  std::vector<std::string> names;
  for (const auto& v : values) names.emplace_back(name_of(v));
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  if (auto guess = config::nearest(text, names))
    node.fail(fmt::format("unknown {} '{}' (did you mean '{}'? one of: {})", what, text, *guess, list));
  node.fail(fmt::format("unknown {} '{}' (one of: {})", what, text, list));
}

Micros micros(const ConfigNode& n) {
  return std::chrono::duration_cast<Micros>(n.as_duration("ms"));
}

std::uint32_t read_hresult(const ConfigNode& n) {
  const std::string text = n.as_string();
  if (text == "0") return 0;
  const auto value = client::parse_hresult(text);
  if (!value || text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    n.fail(fmt::format("expected an HRESULT such as 0xC004F074 (or 0 for success), got '{}'", text));
  return *value;
}

client::Verdict read_verdict(const ConfigNode& n) {
  const auto text = n.as_string();
  if (auto v = client::parse_verdict(text)) return *v;
  const client::Verdict all[] = {client::Verdict::healthy, client::Verdict::degraded, client::Verdict::failed};
  fail_choice(n, "verdict", text, all, [](auto v) { return client::to_string(v); });
}

client::LadderVerdict read_ladder(const ConfigNode& n) {
  const auto text = n.as_string();
  if (auto v = client::parse_ladder_verdict(text)) return *v;
  using L = client::LadderVerdict;
  const L all[] = {L::not_run, L::srv_record, L::name_resolution, L::network_or_firewall, L::kms_service, L::inconclusive};
  fail_choice(n, "ladder verdict", text, all, [](auto v) { return client::to_string(v); });
}

void read_bounds(const ConfigNode& n, std::optional<Micros>& min, std::optional<Micros>& max) {
  if (auto m = n.optional_child("min")) min = micros(*m);
  if (auto m = n.optional_child("max")) max = micros(*m);
  if (min && max && *min > *max) n.fail("min is greater than max: this window can never hold");
  if (max && max->count() == 0) n.child("max").fail("max must be above 0");
}

PhaseWindow read_window(const ConfigNode& n, client::Phase phase) {
  PhaseWindow w;
  w.phase = phase;
  w.occurrence = static_cast<std::size_t>(n.get_int("occurrence", 0, 0, 64));
  w.target = n.get_string("target", "");
  if (auto o = n.optional_child("outcome")) {
    const auto text = o->as_string();
    auto v = client::parse_phase_outcome(text);
    using P = client::PhaseOutcome;
    const P all[] = {P::ok, P::failed, P::timed_out};
    if (!v) fail_choice(*o, "phase outcome", text, all, [](auto x) { return client::to_string(x); });
    w.outcome = *v;
  }
  read_bounds(n, w.min, w.max);
  if (!w.min && !w.max && !w.outcome) n.fail("a phase window needs min, max or outcome");
  return w;
}

ExpectedFinding read_expected_finding(const ConfigNode& n) {
  ExpectedFinding f;
  if (n.is_scalar()) {
    f.code = read_finding_code(n);
    return f;
  }
  n.expect_keys({"code", "severity"});
  f.code = read_finding_code(n.child("code"));
  if (auto s = n.optional_child("severity")) {
    const auto text = s->as_string();
    auto v = client::parse_severity(text);
    using S = client::Severity;
    const S all[] = {S::info, S::warning, S::error};
    if (!v) fail_choice(*s, "severity", text, all, [](auto x) { return client::to_string(x); });
    f.severity = *v;
  }
  return f;
}

std::vector<ConfigNode> as_list(const ConfigNode& n) {
  return n.is_sequence() ? n.items() : std::vector<ConfigNode>{n};
}

// Contradictions that make an expectation impossible to meet, caught before anything runs.
void check_consistency(const Expectation& e, const ConfigNode& n) {
  for (const auto& f : e.findings)
    if (std::find(e.absent.begin(), e.absent.end(), f.code) != e.absent.end())
      n.child("absent").fail(fmt::format("'{}' is both expected and listed as absent", client::to_string(f.code)));
  for (std::size_t i = 0; i < e.findings.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (e.findings[i].code == e.findings[j].code)
        n.child("findings").fail(fmt::format("'{}' is listed twice", client::to_string(e.findings[i].code)));
  if (e.verdict && e.exit_code) {
    const bool ok = (*e.verdict == client::Verdict::healthy && *e.exit_code == 0) ||
                    (*e.verdict == client::Verdict::failed && *e.exit_code == 1) ||
                    *e.verdict == client::Verdict::degraded;  // 0, or 1 when strict
    if (!ok)
      n.child("exit").fail(fmt::format("verdict '{}' never exits {}", client::to_string(*e.verdict), *e.exit_code));
  }
  if (e.verdict && e.windows_code) {
    const bool activates = *e.windows_code == 0;
    if (activates == (*e.verdict == client::Verdict::failed))
      n.child("hresult").fail(fmt::format("verdict '{}' contradicts hresult {}", client::to_string(*e.verdict),
                                          client::format_hresult(*e.windows_code)));
  }
  if (e.verdict == client::Verdict::healthy && e.exact_findings)
    for (const auto& f : e.findings)
      if (f.severity == client::Severity::error)
        n.child("findings").fail("a healthy verdict has no error-severity finding");
  if (e.underlying_code && e.windows_code && *e.windows_code != client::kNoKmsContacted)
    n.child("underlying").fail("an underlying code only comes with hresult 0xC004F074");
}

}  // namespace

client::FindingCode read_finding_code(const ConfigNode& n) {
  const auto text = n.as_string();
  if (auto c = client::parse_finding_code(text)) return *c;
  fail_choice(n, "finding code", text, client::all_finding_codes(), [](auto c) { return client::to_string(c); });
}

client::Phase read_phase(const ConfigNode& n, const std::string& text) {
  if (auto p = client::parse_phase(text)) return *p;
  fail_choice(n, "phase", text, client::kAllPhases, [](auto p) { return client::to_string(p); });
}

Expectation read_expectation(const ConfigNode& n) {
  n.expect_keys({"findings", "absent", "exact", "verdict", "hresult", "underlying", "exit", "ladder", "phases",
                 "total"});
  Expectation e;
  if (auto f = n.optional_child("findings"))
    if (!f->is_null())
      for (const auto& item : as_list(*f)) e.findings.push_back(read_expected_finding(item));
  if (auto a = n.optional_child("absent"))
    for (const auto& item : as_list(*a)) e.absent.push_back(read_finding_code(item));
  e.exact_findings = n.get_bool("exact", true);
  if (auto v = n.optional_child("verdict")) e.verdict = read_verdict(*v);
  if (auto h = n.optional_child("hresult")) e.windows_code = read_hresult(*h);
  if (auto u = n.optional_child("underlying")) e.underlying_code = read_hresult(*u);
  if (auto x = n.optional_child("exit")) e.exit_code = static_cast<int>(x->as_int(0, 1));
  if (auto l = n.optional_child("ladder")) e.ladder = read_ladder(*l);
  if (auto p = n.optional_child("phases")) {
    if (p->is_map()) {
      for (const auto& [key, value] : p->entries()) {
        value.expect_keys({"occurrence", "target", "outcome", "min", "max"});
        e.phases.push_back(read_window(value, read_phase(value, key)));
      }
    } else {
      for (const auto& item : p->items()) {
        item.expect_keys({"phase", "occurrence", "target", "outcome", "min", "max"});
        const auto phase = item.child("phase");
        e.phases.push_back(read_window(item, read_phase(phase, phase.as_string())));
      }
    }
  }
  if (auto t = n.optional_child("total")) {
    t->expect_keys({"min", "max"});
    read_bounds(*t, e.total_min, e.total_max);
  }
  if (!n.has("findings") && !n.has("verdict") && !n.has("hresult") && !n.has("exit"))
    n.fail("an expectation needs at least one of findings, verdict, hresult or exit");
  check_consistency(e, n);
  return e;
}

}  // namespace kmslab::harness::detail
