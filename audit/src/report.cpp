#include "kmslab/audit/report.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace kmslab::audit {

namespace {

using nlohmann::json;

json evidence_json(const std::vector<client::EvidenceItem>& items) {
  json out = json::object();
  for (const auto& e : items) out[e.key] = e.value;
  return out;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') out += '?';
        else out += c;
    }
  }
  return out;
}

std::string ms(Micros us) { return fmt::format("{:.1f} ms", static_cast<double>(us.count()) / 1000.0); }

std::string pct(double share) { return fmt::format("{:.0f}%", share * 100.0); }

// A share an interrupted audit could not know (shares_known) is "-" in the table, null in JSON.
std::string share_text(const TargetSummary& t, double share) { return t.shares_known ? pct(share) : "-"; }
json share_json(const TargetSummary& t, double share) { return t.shares_known ? json(share) : json(nullptr); }

std::string product_cell(const ProductResult& r) {
  switch (r.verdict) {
    case Verdict::activated:
      return fmt::format("{} v{}: ok", r.label, r.protocol);
    case Verdict::refused:
      return fmt::format("{} v{}: 0x{:08X}", r.label, r.protocol, r.hresult);
    case Verdict::bad_response:
      return fmt::format("{} v{}: bad response", r.label, r.protocol);
    case Verdict::unreachable:
      return fmt::format("{} v{}: no answer", r.label, r.protocol);
    case Verdict::not_run:
      return fmt::format("{} v{}: not run (interrupted)", r.label, r.protocol);
  }
  return {};
}

// Findings about this target as a whole ("host:port") or about this product on it ("host:port / label ...").
bool names_case(const Finding& f, const TargetSummary& t, const std::string& label) {
  return f.subject == t.label() || f.subject.rfind(t.label() + " / " + label, 0) == 0;
}

}  // namespace

json to_json(const AuditReport& report) {
  json j;
  j["schema"] = "kmslab.audit";
  j["version"] = kReportSchemaVersion;
  j["started_at"] = report.started_at;
  j["domains"] = report.domains;
  j["products"] = report.products;
  j["repeat"] = report.repeat;
  j["seed"] = report.seed;
  j["total_us"] = report.total.count();
  j["exit_code"] = report.exit_code;
  if (report.interrupted) j["interrupted"] = true;  // a finished report is unchanged
  j["dns"] = json::array();
  for (const auto& d : report.dns) {
    json r = json::array();
    for (const auto& rec : d.records)
      r.push_back({{"priority", rec.priority}, {"weight", rec.weight}, {"port", rec.port}, {"target", rec.target}, {"ttl", rec.ttl}});
    j["dns"].push_back({{"domain", d.domain},
                        {"query", d.query_name},
                        {"outcome", client::to_string(d.outcome)},
                        {"server", d.server},
                        {"records", r},
                        {"detail", d.detail},
                        {"elapsed_us", d.timing.duration.count()}});
  }
  j["targets"] = json::array();
  for (const auto& t : report.targets) {
    json tj{{"domain", t.domain},     {"host", t.host},         {"port", t.port},
            {"priority", t.priority}, {"weight", t.weight},     {"addresses", t.addresses},
            {"answered", t.answered}, {"complete", t.complete}, {"epid", t.epid},         {"epid_description", t.epid_description},
            {"share_rfc2782", share_json(t, t.share_rfc2782)}, {"share_random", share_json(t, t.share_random)}};
    if (!t.address_problem.empty()) tj["address_problem"] = t.address_problem;
    tj["reachability"] = json::object();
    for (const auto& r : t.reachability) tj["reachability"][r.address] = r.state;
    if (t.current_count) tj["current_count"] = *t.current_count;
    if (t.activation_interval_min != 0) {
      tj["activation_interval_min"] = t.activation_interval_min;
      tj["renewal_interval_min"] = t.renewal_interval_min;
    }
    if (t.latency) tj["latency"] = {{"p50_us", t.latency->p50.count()}, {"max_us", t.latency->max.count()}, {"samples", t.latency->samples}};
    tj["products"] = json::array();
    for (const auto& r : t.products) {
      json pj{{"product", r.label}, {"protocol", r.protocol}, {"verdict", to_string(r.verdict)}, {"samples", r.samples}};
      if (r.verdict == Verdict::refused) pj["hresult"] = fmt::format("0x{:08X}", r.hresult);
      if (!r.detail.empty()) pj["detail"] = r.detail;
      if (r.current_count) pj["current_count"] = *r.current_count;
      tj["products"].push_back(std::move(pj));
    }
    if (t.tolerance) tj["clock_tolerance"] = client::to_json(*t.tolerance);
    j["targets"].push_back(std::move(tj));
  }
  j["findings"] = json::array();
  for (const auto& f : report.findings)
    j["findings"].push_back({{"code", f.code},
                             {"severity", client::to_string(f.severity)},
                             {"subject", f.subject},
                             {"summary", f.summary},
                             {"evidence", evidence_json(f.evidence)},
                             {"next_check", f.next_check}});
  return j;
}

std::string render_text(const AuditReport& report) {
  std::string out;
  std::string domains;
  for (const auto& d : report.domains) domains += (domains.empty() ? "" : ", ") + d;
  out += fmt::format("kmslab audit: {} | {} target(s) | repeat {} | seed {} | {}\n\n", domains, report.targets.size(),
                     report.repeat, report.seed, ms(report.total));
  for (const auto& d : report.dns)
    out += fmt::format("  {:<40} {:<8} {} record(s){}\n", d.query_name, client::to_string(d.outcome), d.records.size(),
                       d.detail.empty() ? "" : "  (" + d.detail + ")");
  if (!report.targets.empty()) {
    out += fmt::format("\n  {:<30} {:>4} {:>6} {:>7} {:>7}  {:<22} {:>9} {:>9} {:>5}\n", "TARGET", "PRI", "WEIGHT", "RFC2782",
                       "RANDOM", "REACHABILITY", "P50", "MAX", "COUNT");
    for (const auto& t : report.targets) {
      std::string reach;
      if (t.addresses.empty()) reach = "no address";
      for (const auto& r : t.reachability) reach += (reach.empty() ? "" : ",") + (r.state == "answers" ? std::string("ok") : r.state);
      out += fmt::format("  {:<30} {:>4} {:>6} {:>7} {:>7}  {:<22} {:>9} {:>9} {:>5}\n", t.label(), t.priority, t.weight,
                         share_text(t, t.share_rfc2782), share_text(t, t.share_random), reach, t.latency ? ms(t.latency->p50) : "-",
                         t.latency ? ms(t.latency->max) : "-", t.current_count ? std::to_string(*t.current_count) : "-");
      if (!t.addresses.empty()) {
        std::string addresses;
        for (const auto& a : t.addresses) addresses += (addresses.empty() ? "" : ", ") + a;
        out += fmt::format("      addresses: {}\n", addresses);
      }
      if (!t.epid.empty()) out += fmt::format("      ePID {}\n        {}\n", t.epid, t.epid_description);
      if (t.activation_interval_min != 0)
        out += fmt::format("      intervals: activation {} min, renewal {} min\n", t.activation_interval_min, t.renewal_interval_min);
      std::string products;
      for (const auto& r : t.products) products += (products.empty() ? "" : "; ") + product_cell(r);
      if (!products.empty()) out += fmt::format("      products: {}\n", products);
      if (t.tolerance) {
        const auto tol = t.tolerance->tolerance();
        const auto off = t.tolerance->host_offset();
        out += fmt::format("      clock: host offset {} s, tolerance +-{} s\n", off ? std::to_string(off->count()) : "?",
                           tol ? std::to_string(tol->count()) : "?");
      }
    }
  }
  out += "\n";
  if (report.findings.empty()) out += "No findings.\n";
  for (const auto& f : report.findings) {
    out += fmt::format("  [{}] {}  {}\n      {}\n", client::to_string(f.severity), f.code, f.subject, f.summary);
    if (!f.next_check.empty()) out += fmt::format("      next: {}\n", f.next_check);
  }
  int errors = 0, warnings = 0;
  for (const auto& f : report.findings) {
    errors += f.severity == Severity::error ? 1 : 0;
    warnings += f.severity == Severity::warning ? 1 : 0;
  }
  const auto verdict = report.interrupted ? "INTERRUPTED" : report.exit_code == 0 ? "PASS" : "FAIL";
  out += fmt::format("\nverdict: {} ({} error(s), {} warning(s))\n", verdict, errors, warnings);
  return out;
}

std::string render_junit(const AuditReport& report) {
  std::string cases;
  int tests = 0, failures = 0, skipped = 0;
  for (const auto& t : report.targets) {
    std::vector<std::string> labels;
    for (const auto& r : t.products)
      if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
    if (labels.empty()) labels = report.products;  // no address: every product fails
    for (const auto& label : labels) {
      ++tests;
      std::string problems;
      bool checked = false, cut = false;
      for (const auto& r : t.products) {
        if (r.label != label) continue;
        checked = true;
        cut = cut || r.verdict == Verdict::not_run;
        if (r.verdict != Verdict::activated && r.verdict != Verdict::not_run) problems += product_cell(r) + (r.detail.empty() ? "" : " (" + r.detail + ")") + "\n";
      }
      if (!checked) problems += "not checked: " + (t.address_problem.empty() ? std::string("no address") : t.address_problem) + "\n";
      for (const auto& f : report.findings)
        if (f.severity == Severity::error && names_case(f, t, label)) problems += f.code + ": " + f.summary + "\n";
      cases += fmt::format("    <testcase classname=\"audit.{}\" name=\"{}\">\n", xml_escape(t.label()), xml_escape(label));
      if (!problems.empty()) {
        ++failures;
        cases += fmt::format("      <failure message=\"{}\">{}</failure>\n", xml_escape(problems.substr(0, problems.find('\n'))),
                             xml_escape(problems));
      } else if (cut) {
        ++skipped;
        cases += "      <skipped message=\"not run (interrupted)\"/>\n";
      }
      cases += "    </testcase>\n";
    }
  }
  // Domain-level findings have no target: one testcase per domain carries them.
  for (const auto& d : report.domains) {
    ++tests;
    std::string problems;
    for (const auto& f : report.findings)
      if (f.severity == Severity::error && f.subject.rfind(d, 0) == 0) problems += f.code + ": " + f.summary + "\n";
    cases += fmt::format("    <testcase classname=\"audit.domain\" name=\"{}\">\n", xml_escape(d));
    if (!problems.empty()) {
      ++failures;
      cases += fmt::format("      <failure message=\"{}\">{}</failure>\n", xml_escape(problems.substr(0, problems.find('\n'))),
                           xml_escape(problems));
    }
    cases += "    </testcase>\n";
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{0}\" failures=\"{1}\">\n"
      "  <testsuite name=\"kmslab.audit\" tests=\"{0}\" failures=\"{1}\" errors=\"0\"{4} time=\"{2:.3f}\">\n{3}"
      "  </testsuite>\n</testsuites>\n",
      tests, failures, static_cast<double>(report.total.count()) / 1e6, cases,
      skipped == 0 ? std::string() : fmt::format(" skipped=\"{}\"", skipped));
}

boost::system::result<void, std::string> write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path tmp = target.parent_path() / (target.filename().string() + fmt::format(".tmp.{}", ::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return fmt::format("cannot write {}: cannot create {}", path, tmp.string());
    out << text;
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      return fmt::format("cannot write {}: write failed", path);
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return fmt::format("cannot write {}: {}", path, ec.message());
  }
  return {};
}

}  // namespace kmslab::audit
