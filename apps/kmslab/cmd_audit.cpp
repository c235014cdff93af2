// `kmslab audit`: every SRV target of every domain, every address x product x protocol, against
// an intended site (--expect) and an earlier audit (--baseline). The work is kmslab::audit's;
// this file turns options into an AuditConfig and the report into a table, JSON and JUnit.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "stop_signals.hpp"
#include "kmslab/audit/baseline.hpp"
#include "kmslab/audit/expect.hpp"
#include "kmslab/audit/report.hpp"
#include "kmslab/audit/run.hpp"
#include "kmslab/config/yaml_node.hpp"

namespace kmslab::cli {

namespace {

struct AuditArgs {
  audit::AuditConfig config;
  std::string dns_timeout = "2s";
  std::string connect_timeout = "2s";
  std::string bind_timeout = "5s";
  std::string request_timeout = "5s";
  std::string check_timeout = "15s";
  std::string tolerance_range = "48h";
  std::string tolerance_resolution = "1m";
  std::string clock_threshold = "5m";
  int standard_port = 1688;
  bool strict = false;
  std::string expect;
  std::string baseline;
  std::string json;
  std::string junit;
};

std::string finish(AuditArgs& a) {
  auto ms = [](std::string_view option, const std::string& text, std::chrono::milliseconds& out) -> std::string {
    const auto d = config::parse_duration(text, "s");
    if (!d || d->count() <= 0) return fmt::format("{} '{}' is not a positive duration (e.g. 500ms, 2s, 1m)", option, text);
    out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    return {};
  };
  auto& c = a.config;
  std::chrono::milliseconds tmp{0};
  if (auto e = ms("--dns-timeout", a.dns_timeout, c.dns_timeout); !e.empty()) return e;
  if (auto e = ms("--connect-timeout", a.connect_timeout, c.kms_client.connect_timeout); !e.empty()) return e;
  if (auto e = ms("--bind-timeout", a.bind_timeout, c.kms_client.bind_timeout); !e.empty()) return e;
  if (auto e = ms("--request-timeout", a.request_timeout, c.kms_client.request_timeout); !e.empty()) return e;
  if (auto e = ms("--check-timeout", a.check_timeout, c.check_timeout); !e.empty()) return e;
  if (auto e = ms("--tolerance-range", a.tolerance_range, tmp); !e.empty()) return e;
  c.tolerance.max_offset = std::chrono::duration_cast<std::chrono::seconds>(tmp);
  if (auto e = ms("--tolerance-resolution", a.tolerance_resolution, tmp); !e.empty()) return e;
  c.tolerance.resolution = std::chrono::duration_cast<std::chrono::seconds>(tmp);
  if (auto e = ms("--clock-threshold", a.clock_threshold, tmp); !e.empty()) return e;
  if (a.standard_port < 0 || a.standard_port > 65535) return fmt::format("--kms-port {} is not 0..65535", a.standard_port);
  return {};
}

int run(AuditArgs& a) {
  if (auto e = finish(a); !e.empty()) return usage_error("audit", e);
  std::optional<audit::ExpectedSite> expected;
  if (!a.expect.empty()) {
    auto loaded = audit::load_expected_site(a.expect);
    if (!loaded) return usage_error("audit", loaded.error().format());
    expected = std::move(*loaded);
    // An intended product is checked even when --product did not name it.
    if (a.config.products.empty()) a.config.products = audit::default_products();
    for (const auto& p : audit::expected_products(*expected))
      if (std::find(a.config.products.begin(), a.config.products.end(), p) == a.config.products.end())
        a.config.products.push_back(p);
  }
  std::optional<audit::Baseline> baseline;
  if (!a.baseline.empty()) {
    auto loaded = audit::load_baseline(a.baseline);
    if (!loaded) return usage_error("audit", loaded.error());
    baseline = std::move(*loaded);
  }
  static_assert(audit::kExitInterrupted == kExitInterrupted, "one exit code for an interrupted batch command");
  // Before any I/O: a signal from here on stops the audit, which reports the checks that finished.
  StopSignals signals("audit");
  auto observed = audit::run_audit_blocking(a.config, signals.flag());
  if (!observed) return usage_error("audit", observed.error().detail.empty() ? observed.error().message() : observed.error().detail);
  audit::AuditPolicy policy;
  policy.standard_port = a.standard_port == 0 ? std::nullopt : std::optional<std::uint16_t>(static_cast<std::uint16_t>(a.standard_port));
  policy.strict = a.strict;
  policy.clock_offset_threshold = std::chrono::duration_cast<std::chrono::seconds>(*config::parse_duration(a.clock_threshold, "s"));
  auto report = audit::analyse(*observed, policy);
  // --expect and --baseline compare the whole site: against a partial audit every host not yet
  // checked would read as missing or changed, so an interrupted audit skips them.
  if (!report.interrupted) {
    if (expected) audit::add_findings(report, audit::diff_expected(*expected, report), a.strict);
    if (baseline) audit::add_findings(report, audit::compare_baseline(*baseline, report), a.strict);
  }

  if (a.json != "-") fmt::print("{}", report_text(audit::render_text(report)));
  std::fflush(stdout);
  if (!a.json.empty()) {
    const auto text = dump_report(audit::to_json(report), 2) + "\n";
    if (a.json == "-") fmt::print("{}", text);
    else if (auto w = audit::write_file_atomically(a.json, text); !w) return usage_error("audit", w.error());
  }
  if (!a.junit.empty())
    if (auto w = audit::write_file_atomically(a.junit, report_text(audit::render_junit(report))); !w) return usage_error("audit", w.error());
  return report.exit_code;
}

}  // namespace

void add_audit_command(CLI::App& app, Action& action) {
  auto a = std::make_shared<AuditArgs>();
  auto* cmd = app.add_subcommand(
      "audit",
      "Audit a KMS site for a migration: every _vlmcs._tcp SRV target, every address x product x protocol;\n"
      "stale records, inconsistent hosts, ports, duplicates, counts, client shares; --expect and --baseline.\n"
      "Exit codes: 0 no error finding, 1 a finding (or a difference from --expect), 2 usage error, 130 interrupted\n"
      "(SIGINT/SIGTERM: the report of the checks that finished is still written, the others marked not run and\n"
      "never findings; --expect and --baseline are skipped; verdict INTERRUPTED, JSON \"interrupted\": true).");
  auto& c = a->config;
  cmd->add_option("--domain", c.domains, "Domain whose _vlmcs._tcp SRV records to audit; repeat for the suffix list")->required();
  cmd->add_option("--dns", c.dns_servers, "DNS server ip[:port]; repeatable. Default: the nameservers of --resolv-conf");
  cmd->add_option("--resolv-conf", c.resolv_conf, "Where the default DNS servers come from")->capture_default_str();
  cmd->add_option("--dns-timeout", a->dns_timeout, "Per-try DNS timeout")->capture_default_str();
  cmd->add_flag("--dns-tcp", c.dns_tcp, "Send every DNS query over TCP");
  cmd->add_option("--product", c.products,
                  "Product group (windows-client, windows-server, office) or product name; repeatable. Default: the "
                  "three groups");
  cmd->add_option("--parallel", c.parallel, "Checks in flight at once")->capture_default_str();
  cmd->add_option("--repeat", c.repeat, "Activations per check, for p50/max response times")->capture_default_str();
  cmd->add_option("--connect-timeout", a->connect_timeout, "TCP connect deadline per address")->capture_default_str();
  cmd->add_option("--bind-timeout", a->bind_timeout, "RPC bind deadline")->capture_default_str();
  cmd->add_option("--request-timeout", a->request_timeout, "Activation request deadline")->capture_default_str();
  cmd->add_option("--check-timeout", a->check_timeout, "Deadline of one whole check (connect to response)")
      ->capture_default_str();
  cmd->add_flag("--find-tolerance", c.find_tolerance,
                "Bisect each answering host's client-time tolerance (its clock offset); a few dozen requests per host");
  cmd->add_option("--tolerance-range", a->tolerance_range, "--find-tolerance searches offsets within +-this")
      ->capture_default_str();
  cmd->add_option("--tolerance-resolution", a->tolerance_resolution, "--find-tolerance stops bisecting below this")
      ->capture_default_str();
  cmd->add_option("--clock-threshold", a->clock_threshold, "A host clock offset beyond this is audit.host_clock_offset")
      ->capture_default_str();
  cmd->add_option("--kms-port", a->standard_port, "The port SRV records should name (0: do not check)")->capture_default_str();
  cmd->add_option("--workstation", c.workstation, "Workstation name sent in the requests")->capture_default_str();
  cmd->add_option("--seed", c.seed, "Seed for every random choice (CMIDs, IVs, DNS ids)")->capture_default_str();
  cmd->add_option("--expect", a->expect, "Intended site (YAML): differences are findings (docs/migration.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--baseline", a->baseline, "An earlier audit's --json report: show what changed")->check(CLI::ExistingFile);
  cmd->add_option("--json", a->json, "Write the report as JSON to this file ('-' = stdout), atomically");
  cmd->add_option("--junit", a->junit, "Write JUnit XML (one testcase per target x product) to this file");
  cmd->add_flag("--strict", a->strict, "Warnings fail too (exit 1)");
  cmd->callback([a, &action] { action = [a] { return run(*a); }; });
}

}  // namespace kmslab::cli
