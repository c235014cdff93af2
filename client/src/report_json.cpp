#include <fmt/chrono.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "kmslab/client/report.hpp"

namespace kmslab::client {
namespace {

using json = nlohmann::json;
using protocol::Errc;
using protocol::make_error;

json hresult_json(std::optional<std::uint32_t> code) {
  return code ? json(format_hresult(*code)) : json(nullptr);
}

void put_timing(json& j, const Timing& t) {
  j["start_us"] = t.start.count();
  j["duration_us"] = t.duration.count();
}

json checks_json(std::span<const CheckTemplate> checks) {
  json out = json::array();
  for (const auto& c : checks) out.push_back({{"command", c.command}, {"why", c.why}});
  return out;
}

json srv_json(const SrvAnswer& r) {
  return {
      {"priority", r.priority}, {"weight", r.weight}, {"port", r.port}, {"target", r.target}, {"ttl", r.ttl}};
}

json dns_json(const DnsObservation& d) {
  json j{{"domain", d.domain},       {"query_name", d.query_name},  {"outcome", to_string(d.outcome)},
         {"server", d.server},       {"used_tcp", d.used_tcp},      {"truncated", d.truncated},
         {"records", json::array()}, {"additional", json::array()}, {"detail", d.detail}};
  for (const auto& r : d.records) j["records"].push_back(srv_json(r));
  for (const auto& a : d.additional)
    j["additional"].push_back({{"host", a.host}, {"address", a.address}, {"ttl", a.ttl}});
  put_timing(j, d.timing);
  return j;
}

json attempt_json(const AttemptObservation& a) {
  json address{{"source", to_string(a.address.source)}, {"outcome", to_string(a.address.outcome)},
               {"addresses", a.address.addresses},      {"server", a.address.server},
               {"used_tcp", a.address.used_tcp},        {"detail", a.address.detail}};
  put_timing(address, a.address.timing);
  const auto& c = a.connect;
  json connect{
      {"outcome", to_string(c.outcome)}, {"address", c.address},  {"addresses_tried", c.addresses_tried},
      {"errno", c.error_number},         {"error", c.error_text}, {"deadline_us", c.deadline.count()}};
  put_timing(connect, c.timing);
  const auto& b = a.bind;
  json bind{{"outcome", to_string(b.outcome)},
            {"syntax", to_string(b.syntax)},
            {"alter_context", b.alter_context_used},
            {"btfn_acked", b.btfn_acked},
            {"btfn_bitmap", b.btfn_bitmap},
            {"nak_reason", b.nak_reason},
            {"fault_status", fmt::format("0x{:08X}", b.fault_status)},
            {"detail", b.detail},
            {"bytes_sent", b.bytes_sent},
            {"bytes_received", b.bytes_received},
            {"deadline_us", b.deadline.count()}};
  put_timing(bind, b.timing);
  const auto& k = a.activation;
  json response = nullptr;
  if (k.outcome == ActivationOutcome::ok) {
    const auto& r = k.response;
    response = {{"version", fmt::format("{}.{}", r.version_major, r.version_minor)},
                {"epid", r.epid},
                {"current_count", r.current_count},
                {"activation_interval_min", r.activation_interval_min},
                {"renewal_interval_min", r.renewal_interval_min},
                {"cmid_echoed", r.cmid_echoed},
                {"time_echoed", r.time_echoed},
                {"hwid", r.hwid}};
  }
  json activation{
      {"outcome", to_string(k.outcome)},
      {"protocol", k.protocol_major},
      {"hresult", k.outcome == ActivationOutcome::hresult ? hresult_json(k.hresult) : json(nullptr)},
      {"failed_check", to_string(k.failed_check)},
      {"response", response},
      {"fault_status", fmt::format("0x{:08X}", k.fault_status)},
      {"detail", k.detail},
      {"bytes_sent", k.bytes_sent},
      {"bytes_received", k.bytes_received},
      {"deadline_us", k.deadline.count()}};
  put_timing(activation, k.timing);
  return {{"host", a.host},     {"port", a.port},
          {"label", a.label()}, {"source", to_string(a.source)},
          {"domain", a.domain}, {"srv", a.srv ? srv_json(*a.srv) : json(nullptr)},
          {"address", address}, {"connect", connect},
          {"bind", bind},       {"activation", activation}};
}

json sntp_json(const SntpObservation& s) {
  json j{{"server", s.server},       {"outcome", to_string(s.outcome)},
         {"offset_ns", s.offset_ns}, {"delay_ns", s.delay_ns},
         {"stratum", s.stratum},     {"kiss_code", s.kiss_code},
         {"detail", s.detail}};
  put_timing(j, s.timing);
  return j;
}

json options_json(const ProbeOptions& o) {
  json budgets = json::object();
  for (const auto& [phase, budget] : o.budgets) budgets[std::string(to_string(phase))] = budget.count();
  return {{"domains", o.domains},
          {"product", o.product},
          {"n_policy", o.n_policy},
          {"protocol", o.protocol},
          {"budgets_us", budgets},
          {"discovery_model", o.discovery_model},
          {"seed", o.seed},
          {"dns_servers", o.dns_servers},
          {"kms_host", o.kms_host},
          {"cached_host", o.cached_host},
          {"time_source", o.time_source},
          {"strict", o.strict}};
}

json timeline_json(const std::vector<PhaseRecord>& rows) {
  json out = json::array();
  for (const auto& r : rows) {
    json evidence = json::array();
    for (const auto& e : r.evidence) evidence.push_back({{"key", e.key}, {"value", e.value}});
    out.push_back({{"phase", to_string(r.phase)},
                   {"target", r.target},
                   {"start_us", r.start.count()},
                   {"duration_us", r.duration.count()},
                   {"outcome", to_string(r.outcome)},
                   {"evidence", evidence}});
  }
  return out;
}

std::string iso_utc(std::chrono::system_clock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  const auto secs = std::chrono::floor<std::chrono::seconds>(us);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", std::chrono::sys_seconds(secs), (us - secs).count());
}

// Typed field access for finding_from_json: every failure names the field.
template <class T>
protocol::Result<T> field(const json& j, const char* name) {
  if (!j.is_object() || !j.contains(name))
    return make_error(Errc::bad_value, 0, fmt::format("missing field '{}'", name));
  try {
    // in_place_value: a json value would otherwise convert to either alternative.
    return protocol::Result<T>(boost::system::in_place_value, j.at(name).get<T>());
  } catch (const json::exception&) {
    return make_error(Errc::bad_type, 0, fmt::format("field '{}' has the wrong type", name));
  }
}

template <class E>
protocol::Result<E> enum_field(const json& j, const char* name,
                               std::optional<E> (*parse)(std::string_view) noexcept) {
  auto text = field<std::string>(j, name);
  if (!text) return text.error();
  if (auto v = parse(*text)) return *v;
  return make_error(Errc::bad_value, 0, fmt::format("field '{}': unknown value '{}'", name, *text));
}

}  // namespace

json finding_to_json(const Finding& f) {
  json checks = json::array();
  for (const auto& c : f.next_checks) checks.push_back({{"command", c.command}, {"why", c.why}});
  const auto& e = f.entry();
  return {{"code", to_string(f.code)},
          {"severity", to_string(f.severity)},
          {"title", e.title},
          {"cause", to_string(e.cause)},
          {"cause_text", describe(e.cause)},
          {"phase", to_string(f.phase)},
          {"target", f.target},
          {"hresult", hresult_json(f.hresult)},
          {"hresult_basis", to_string(f.hresult_basis)},
          {"evidence", f.evidence},
          {"next_checks", checks}};
}

protocol::Result<Finding> finding_from_json(const json& j) {
  Finding f;
  auto code = enum_field<FindingCode>(j, "code", parse_finding_code);
  if (!code) return code.error();
  f.code = *code;
  auto severity = enum_field<Severity>(j, "severity", parse_severity);
  if (!severity) return severity.error();
  f.severity = *severity;
  auto phase = enum_field<Phase>(j, "phase", parse_phase);
  if (!phase) return phase.error();
  f.phase = *phase;
  auto basis = enum_field<HresultBasis>(j, "hresult_basis", parse_hresult_basis);
  if (!basis) return basis.error();
  f.hresult_basis = *basis;
  auto target = field<std::string>(j, "target");
  if (!target) return target.error();
  f.target = std::move(*target);
  if (!j.contains("hresult")) return make_error(Errc::bad_value, 0, "missing field 'hresult'");
  if (!j["hresult"].is_null()) {
    auto text = field<std::string>(j, "hresult");
    if (!text) return text.error();
    f.hresult = parse_hresult(*text);
    if (!f.hresult)
      return make_error(Errc::bad_value, 0, fmt::format("field 'hresult': not a code: '{}'", *text));
  }
  auto evidence = field<std::vector<std::string>>(j, "evidence");
  if (!evidence) return evidence.error();
  f.evidence = std::move(*evidence);
  auto checks = field<json>(j, "next_checks");
  if (!checks) return checks.error();
  if (!checks->is_array()) return make_error(Errc::bad_type, 0, "field 'next_checks' has the wrong type");
  for (const auto& c : *checks) {
    auto command = field<std::string>(c, "command");
    if (!command) return command.error();
    auto why = field<std::string>(c, "why");
    if (!why) return why.error();
    f.next_checks.push_back(NextCheck{std::move(*command), std::move(*why)});
  }
  return f;
}

protocol::Result<std::vector<Finding>> findings_from_report(const json& report) {
  auto version = field<int>(report, "schema_version");
  if (!version) return version.error();
  if (*version != kReportSchemaVersion)
    return make_error(Errc::bad_version, 0,
                      fmt::format("schema_version {} (this build reads {})", *version, kReportSchemaVersion));
  auto list = field<json>(report, "findings");
  if (!list) return list.error();
  if (!list->is_array()) return make_error(Errc::bad_type, 0, "field 'findings' has the wrong type");
  std::vector<Finding> out;
  for (const auto& item : *list) {
    auto f = finding_from_json(item);
    if (!f) {
      auto e = f.error();
      e.detail = fmt::format("findings[{}]: {}", out.size(), e.detail);
      return e;
    }
    out.push_back(std::move(*f));
  }
  return out;
}

json to_json(const Diagnosis& d, const ProbeObservations& obs) {
  json findings = json::array();
  for (const auto& f : d.findings) findings.push_back(finding_to_json(f));
  json local = json::array();
  for (const auto& c : windows_local_checks())
    local.push_back(
        {{"runbook", c.runbook}, {"title", c.title}, {"why", c.why}, {"commands", checks_json(c.commands)}});
  json dns = json::array();
  for (const auto& x : obs.dns) dns.push_back(dns_json(x));
  json attempts = json::array();
  for (const auto& x : obs.attempts) attempts.push_back(attempt_json(x));
  json sntp = json::array();
  for (const auto& x : obs.sntp) sntp.push_back(sntp_json(x));
  const auto& l = obs.ladder;
  json out = {
      {"schema_version", kReportSchemaVersion},
      {"tool", "kmslab probe"},
      {"started_at", iso_utc(obs.started_at)},
      {"duration_us", obs.total.count()},
      {"verdict", to_string(d.verdict)},
      {"exit_code", d.exit_code},
      {"windows_code", format_hresult(d.windows_code)},
      {"underlying_code", hresult_json(d.underlying_code)},
      {"windows_code_text", d.windows_code_text},
      {"summary", d.summary},
      {"activated_attempt", d.activated_attempt ? json(*d.activated_attempt) : json(nullptr)},
      {"primary_finding", d.primary_finding ? json(*d.primary_finding) : json(nullptr)},
      {"options", options_json(obs.options)},
      {"timeline", timeline_json(d.timeline)},
      {"findings", findings},
      {"ladder",
       {{"verdict", to_string(d.ladder.verdict)}, {"text", d.ladder.text}, {"evidence", d.ladder.evidence}}},
      {"not_checked", local},
      {"observations",
       {{"dns", dns},
        {"attempts", attempts},
        {"sntp", sntp},
        {"ladder",
         {{"ran", l.ran},
          {"trigger", l.trigger},
          {"host", l.host},
          {"port", l.port},
          {"address", l.address}}}}}};
  // Only an interrupted report carries the mark, so a finished report is byte-for-byte as before.
  if (d.verdict == Verdict::interrupted) {
    out["windows_code"] = nullptr;  // not determined: no partial run says what Windows would show
    out["interrupted"] = true;
    out["interrupted_during"] = d.interrupted_during;
  }
  return out;
}

}  // namespace kmslab::client
