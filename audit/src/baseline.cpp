#include "kmslab/audit/baseline.hpp"

#include "kmslab/audit/report.hpp"
#include "kmslab/config/json_input.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>

namespace kmslab::audit {

namespace {

using nlohmann::json;

std::string key_of(std::string_view domain, std::string_view host, std::uint16_t port) {
  std::string h(host);
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!h.empty() && h.back() == '.') h.pop_back();
  return fmt::format("{}|{}:{}", domain, h, port);
}

std::string label(std::string_view host, std::uint16_t port) { return fmt::format("{}:{}", host, port); }

using BaselineResult = boost::system::result<Baseline, std::string>;
BaselineResult fail(std::string message) { return BaselineResult(boost::system::in_place_error, std::move(message)); }

}  // namespace

boost::system::result<Baseline, std::string> read_baseline(const json& report) {
  if (!report.is_object() || report.value("schema", "") != "kmslab.audit")
    return fail(std::string("not a kmslab audit report (no \"schema\": \"kmslab.audit\")"));
  if (!report.contains("version") || !report["version"].is_number_integer() || report["version"].get<int>() != kReportSchemaVersion)
    return fail(fmt::format("unsupported audit report version (this kmslab reads version {})", kReportSchemaVersion));
  if (!report.contains("targets") || !report["targets"].is_array()) return fail(std::string("\"targets\" is missing or not an array"));
  // Its hosts not yet checked read as not answering: every comparison with them would be wrong.
  if (report.value("interrupted", false))
    return fail(std::string("an interrupted audit (\"interrupted\": true) is no baseline; use a finished one"));
  Baseline b;
  if (report.contains("started_at") && report["started_at"].is_string()) b.started_at = report["started_at"].get<std::string>();
  std::size_t i = 0;
  for (const auto& t : report["targets"]) {
    const auto where = fmt::format("targets[{}]", i++);
    if (!t.is_object()) return fail(where + " is not an object");
    BaselineTarget bt;
    if (!t.contains("host") || !t["host"].is_string()) return fail(where + ".host is missing or not a string");
    if (!t.contains("port") || !t["port"].is_number_unsigned() || t["port"].get<std::uint64_t>() > 65535)
      return fail(where + ".port is missing or not a port number");
    bt.host = t["host"].get<std::string>();
    bt.port = static_cast<std::uint16_t>(t["port"].get<std::uint64_t>());
    if (t.contains("domain") && t["domain"].is_string()) bt.domain = t["domain"].get<std::string>();
    if (t.contains("answered") && t["answered"].is_boolean()) bt.answered = t["answered"].get<bool>();
    if (t.contains("epid") && t["epid"].is_string()) bt.epid = t["epid"].get<std::string>();
    if (t.contains("current_count") && t["current_count"].is_number_unsigned() &&
        t["current_count"].get<std::uint64_t>() <= 0xFFFFFFFFu)
      bt.current_count = static_cast<std::uint32_t>(t["current_count"].get<std::uint64_t>());
    if (t.contains("latency") && t["latency"].is_object() && t["latency"].contains("p50_us") &&
        t["latency"]["p50_us"].is_number_integer())
      bt.p50 = Micros(t["latency"]["p50_us"].get<std::int64_t>());
    b.targets.push_back(std::move(bt));
  }
  return b;
}

boost::system::result<Baseline, std::string> load_baseline(const std::string& path) {
  auto parsed = config::load_json_file(path, kMaxBaselineBytes);
  if (!parsed) return fail(parsed.error().format());
  auto b = read_baseline(*parsed);
  if (!b) return fail(fmt::format("{}: {}", path, b.error()));
  return b;
}

std::vector<Finding> compare_baseline(const Baseline& before, const AuditReport& now, const BaselinePolicy& policy) {
  std::vector<Finding> out;
  auto info = [&](std::string code, std::string subject, std::string summary, std::vector<client::EvidenceItem> ev) {
    out.push_back({std::move(code), Severity::info, std::move(subject), std::move(summary), std::move(ev), {}});
  };
  for (const auto& t : now.targets) {
    const auto key = key_of(t.domain, t.host, t.port);
    const BaselineTarget* old = nullptr;
    for (const auto& b : before.targets)
      if (key_of(b.domain, b.host, b.port) == key) old = &b;
    if (old == nullptr) {
      info("baseline.host_added", t.label(), fmt::format("{} is new under _vlmcs._tcp.{}", t.label(), t.domain),
           {{"domain", t.domain}});
      continue;
    }
    if (old->answered && !t.answered)
      info("baseline.host_stopped_answering", t.label(), fmt::format("{} answered before and does not now", t.label()), {});
    if (!old->answered && t.answered)
      info("baseline.host_answers", t.label(), fmt::format("{} did not answer before and does now", t.label()), {});
    if (!old->epid.empty() && !t.epid.empty() && old->epid != t.epid)
      info("baseline.epid_changed", t.label(), fmt::format("{} answers with another ePID (new KMS host key or host OS)", t.label()),
           {{"before", old->epid}, {"after", t.epid}});
    if (old->current_count && t.current_count && *old->current_count != *t.current_count)
      info("baseline.count_changed", t.label(),
           fmt::format("{}'s current count went from {} to {}", t.label(), *old->current_count, *t.current_count),
           {{"before", std::to_string(*old->current_count)}, {"after", std::to_string(*t.current_count)}});
    if (old->p50 && t.latency) {
      const auto a = static_cast<double>(old->p50->count()), b = static_cast<double>(t.latency->p50.count());
      const auto diff = std::abs(b - a);
      const auto lo = std::max(1.0, std::min(a, b));
      if (diff >= static_cast<double>(policy.latency_min_change.count()) && std::max(a, b) / lo >= policy.latency_factor)
        info("baseline.latency_changed", t.label(),
             fmt::format("{}'s p50 response time went from {:.1f} ms to {:.1f} ms", t.label(), a / 1000.0, b / 1000.0),
             {{"before_us", std::to_string(old->p50->count())}, {"after_us", std::to_string(t.latency->p50.count())}});
    }
  }
  for (const auto& b : before.targets) {
    const auto key = key_of(b.domain, b.host, b.port);
    bool present = false;
    for (const auto& t : now.targets) present = present || key_of(t.domain, t.host, t.port) == key;
    if (!present)
      info("baseline.host_removed", label(b.host, b.port),
           fmt::format("{} is no longer published under _vlmcs._tcp.{}", label(b.host, b.port), b.domain), {{"domain", b.domain}});
  }
  return out;
}

}  // namespace kmslab::audit
