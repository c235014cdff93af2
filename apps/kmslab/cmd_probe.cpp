// `kmslab probe`: do what a Windows KMS client does when it activates (SRV discovery, connect,
// RPC bind, activation, optionally SNTP), time every phase, and say which runbook cause is behind
// a failure, with the Windows error code and the next check. The work is kmslab::client's
// run_probe(); this file only turns options into a ProbeConfig and the result into a report.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "stop_signals.hpp"
#include "kmslab/client/probe.hpp"
#include "kmslab/client/report.hpp"

namespace kmslab::cli {

namespace {

namespace client = kmslab::client;

struct ProbeArgs {
  client::ProbeConfig config;
  std::string discovery = "rfc2782";
  std::optional<int> protocol;
  std::string cmid;
  std::string dns_timeout = "2s";
  std::string connect_timeout = "2s";
  std::string bind_timeout = "5s";
  std::string request_timeout = "5s";
  std::string ntp_timeout = "2s";
  std::string clock_offset = "0";
  std::string tolerance_range = "48h";
  std::string tolerance_resolution = "1m";
  std::string skew_threshold = "5m";
  std::vector<std::string> budgets;
  bool ndr32_only = false;
  bool no_btfn = false;
  bool no_multiplex = false;
  bool no_ladder = false;
  bool json = false;
  std::string colour = "auto";
};

// "250ms", "2s", "5m", "4h", "1d", or a bare number in `bare_unit`; a leading sign is allowed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds bare_unit) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  if (text.front() == '+' || text.front() == '-') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  const auto value = std::stoll(std::string(text.substr(0, digits)));
  const auto unit = text.substr(digits);
  std::chrono::milliseconds scale{0};
  if (unit.empty()) scale = bare_unit;
  else if (unit == "ms") scale = std::chrono::milliseconds{1};
  else if (unit == "s") scale = std::chrono::seconds{1};
  else if (unit == "m" || unit == "min") scale = std::chrono::minutes{1};
  else if (unit == "h") scale = std::chrono::hours{1};
  else if (unit == "d") scale = std::chrono::hours{24};
  else return std::nullopt;
  const auto ms = std::chrono::milliseconds(value * scale.count());
  return negative ? -ms : ms;
}

// Fills the parts of the config CLI11 cannot bind directly; returns an error message or "".
std::string finish_config(ProbeArgs& a) {
  auto& c = a.config;
  auto duration = [](std::string_view option, const std::string& text, std::chrono::milliseconds unit,
                     std::chrono::milliseconds& out) -> std::string {
    const auto d = parse_duration(text, unit);
    if (!d) return fmt::format("{} '{}' is not a duration (e.g. 500ms, 2s, 5m, 4h)", option, text);
    out = *d;
    return {};
  };
  std::chrono::milliseconds ms{0};
  const std::chrono::milliseconds sec = std::chrono::seconds{1};
  for (const auto& [option, text, target] :
       {std::tuple<std::string_view, std::string&, std::chrono::milliseconds*>{"--dns-timeout", a.dns_timeout,
                                                                                &c.dns_timeout},
        {"--connect-timeout", a.connect_timeout, &c.kms_client.connect_timeout},
        {"--bind-timeout", a.bind_timeout, &c.kms_client.bind_timeout},
        {"--request-timeout", a.request_timeout, &c.kms_client.request_timeout},
        {"--ntp-timeout", a.ntp_timeout, &c.ntp_timeout}})
    if (auto e = duration(option, text, sec, *target); !e.empty()) return e;
  if (auto e = duration("--clock-offset", a.clock_offset, sec, ms); !e.empty()) return e;
  c.clock_offset = std::chrono::duration_cast<std::chrono::seconds>(ms);
  if (auto e = duration("--tolerance-range", a.tolerance_range, sec, ms); !e.empty()) return e;
  c.tolerance.max_offset = std::chrono::duration_cast<std::chrono::seconds>(ms);
  if (auto e = duration("--tolerance-resolution", a.tolerance_resolution, sec, ms); !e.empty()) return e;
  c.tolerance.resolution = std::chrono::duration_cast<std::chrono::seconds>(ms);
  if (auto e = duration("--skew-threshold", a.skew_threshold, sec, ms); !e.empty()) return e;
  c.time_skew_threshold = ms;
  for (const auto& b : a.budgets) {
    const auto eq = b.find('=');
    const auto phase = client::parse_phase(b.substr(0, eq == std::string::npos ? b.size() : eq));
    if (eq == std::string::npos || !phase)
      return fmt::format("--budget '{}' is not PHASE=DURATION with PHASE one of dns.srv, dns.address, "
                         "tcp.connect, rpc.bind, kms.activate, time.offset",
                         b);
    if (auto e = duration("--budget", b.substr(eq + 1), std::chrono::milliseconds{1}, ms); !e.empty()) return e;
    c.budgets[*phase] = std::chrono::duration_cast<client::Micros>(ms);
  }
  const auto model = client::parse_discovery_model(a.discovery);
  if (!model) return fmt::format("--discovery '{}' is not rfc2782 or random", a.discovery);
  c.discovery = *model;
  if (a.protocol) {
    if (*a.protocol < 4 || *a.protocol > 6) return fmt::format("--protocol {} is not 4, 5 or 6", *a.protocol);
    c.protocol = static_cast<std::uint16_t>(*a.protocol);
  }
  if (!a.cmid.empty()) {
    c.cmid = protocol::Guid::parse(a.cmid);
    if (!c.cmid) return fmt::format("--cmid '{}' is not a GUID", a.cmid);
  }
  if (a.ndr32_only) c.kms_client.ndr64 = c.kms_client.btfn = false;
  if (a.no_btfn) c.kms_client.btfn = false;
  if (a.no_multiplex) c.kms_client.multiplexed = false;
  c.ladder = !a.no_ladder;
  if (a.colour != "auto" && a.colour != "always" && a.colour != "never")
    return fmt::format("--colour '{}' is not auto, always or never", a.colour);
  return {};
}

std::string default_workstation() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "kmslab-probe";
  return name;
}

int run(ProbeArgs& a) {
  if (auto e = finish_config(a); !e.empty()) return usage_error("probe", e);
  static_assert(client::kExitInterrupted == kExitInterrupted, "one exit code for an interrupted batch command");
  // Before any I/O: a signal from here on stops the probe, which reports the steps that finished.
  StopSignals signals("probe");
  auto result = client::run_probe_blocking(a.config, signals.flag());
  if (!result) return usage_error("probe", result.error().detail.empty() ? result.error().message() : result.error().detail);
  const auto& run = *result;
  if (a.json) {
    auto report = client::to_json(run.diagnosis, run.observations);
    if (run.tolerance) report["clock_tolerance"] = client::to_json(*run.tolerance);
    fmt::print("{}\n", dump_report(std::move(report), 2));
  } else {
    const bool colour = a.colour == "always" || (a.colour == "auto" && ::isatty(STDOUT_FILENO) == 1);
    fmt::print("{}", report_text(client::render_text(run.diagnosis, run.observations, {.colour = colour})));
    if (run.tolerance) fmt::print("\n{}", report_text(client::render_text(*run.tolerance)));
  }
  std::fflush(stdout);
  return run.diagnosis.exit_code;
}

}  // namespace

void add_probe_command(CLI::App& app, Action& action) {
  auto a = std::make_shared<ProbeArgs>();
  a->config.workstation = default_workstation();
  auto* cmd = app.add_subcommand(
      "probe",
      "Activate like a Windows KMS client (SRV discovery, TCP 1688, RPC bind, KMS request), time each phase and\n"
      "diagnose failures: the runbook cause, the Windows error code, the next check.\n"
      "Exit codes: 0 healthy (or degraded without --strict), 1 a problem found, 2 usage error, 130 interrupted\n"
      "(SIGINT/SIGTERM: the report of the phases that finished is still written, verdict INTERRUPTED, with no\n"
      "findings: a partial run supports no diagnosis; JSON \"interrupted\": true).");
  auto& c = a->config;
  cmd->add_option("--domain", c.domains,
                  "Domain to discover KMS hosts in (_vlmcs._tcp.<domain> SRV); repeat for a suffix list, asked in order "
                  "until one has records");
  cmd->add_option("--dns", c.dns_servers,
                  "DNS server host[:port] (IP address); repeatable, asked in order. Default: the nameservers of "
                  "--resolv-conf");
  cmd->add_option("--resolv-conf", c.resolv_conf, "Where the default DNS servers come from")->capture_default_str();
  cmd->add_option("--dns-timeout", a->dns_timeout, "Per-try DNS timeout (c-ares doubles it each pass)")
      ->capture_default_str();
  cmd->add_option("--dns-tries", c.dns_tries, "Passes over the DNS server list")->capture_default_str();
  cmd->add_flag("--dns-tcp", c.dns_tcp, "Send every DNS query over TCP (UDP answers that are truncated switch to TCP anyway)");
  cmd->add_option("--discovery", a->discovery,
                  "How SRV targets are ordered: rfc2782 (priority, then weighted random) or random (uniform)")
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "Seed for every random choice (SRV order, CMID, IVs); same seed, same run")
      ->capture_default_str();
  cmd->add_option("--kms", c.kms, "KMS host[:port] to use without discovery, like slmgr /skms (port 1688 by default)");
  cmd->add_option("--cached-host", c.cached_host,
                  "The client's cached KMS host[:port]: tried first, falling back to discovery when it fails (the "
                  "report shows the time lost)");
  cmd->add_option("--kms-hint", c.kms_hint,
                  "KMS host[:port] for the triage ladder when no SRV answer names one (by name, then by IP)");
  cmd->add_flag("--no-ladder", a->no_ladder, "Do not walk the triage ladder after a failure");
  cmd->add_option("--product", c.product,
                  "Product to request, by name or SKU GUID (kmslab products lists them)")
      ->capture_default_str();
  cmd->add_option("--protocol", a->protocol, "KMS protocol version 4, 5 or 6 (default: the product's own)");
  cmd->add_option("--workstation", c.workstation, "Workstation name sent in the request (default: this host's name)");
  cmd->add_option("--cmid", a->cmid, "Client machine ID (GUID); default: a v4 GUID derived from --seed");
  cmd->add_option("--connect-timeout", a->connect_timeout,
                  "TCP connect deadline per address; no answer by then = filtered")
      ->capture_default_str();
  cmd->add_option("--bind-timeout", a->bind_timeout, "RPC bind deadline")->capture_default_str();
  cmd->add_option("--request-timeout", a->request_timeout, "Activation request deadline")->capture_default_str();
  cmd->add_flag("--ndr32-only", a->ndr32_only, "Offer only NDR32 in the bind (no NDR64, no BTFN), as old clients do");
  cmd->add_flag("--no-btfn", a->no_btfn, "Do not offer bind-time feature negotiation");
  cmd->add_flag("--no-multiplex", a->no_multiplex, "Bind without PFC_CONC_MPX (vlmcs -p)");
  cmd->add_option("--ntp", c.ntp, "Time source host[:port] to measure the local clock's offset against (SNTP)");
  cmd->add_option("--ntp-timeout", a->ntp_timeout, "SNTP deadline")->capture_default_str();
  cmd->add_option("--skew-threshold", a->skew_threshold, "Local offset to the time source that counts as time.skew")
      ->capture_default_str();
  cmd->add_option("--clock-offset", a->clock_offset,
                  "Shift the client time sent to the host (e.g. 5h, -3h): a host refuses beyond its tolerance "
                  "with 0xC004F06C");
  cmd->add_flag("--find-tolerance", c.find_tolerance,
                "Bisect the client-time offset at which the host that answered starts refusing (its tolerance and "
                "clock offset)");
  cmd->add_option("--tolerance-range", a->tolerance_range, "--find-tolerance searches offsets within +-this")
      ->capture_default_str();
  cmd->add_option("--tolerance-resolution", a->tolerance_resolution, "--find-tolerance stops bisecting below this")
      ->capture_default_str();
  cmd->add_option("--budget", a->budgets,
                  "PHASE=DURATION: a phase slower than this is a slow.<phase> finding, e.g. tcp.connect=200ms "
                  "(bare numbers are ms); repeatable");
  cmd->add_flag("--strict", c.strict, "Exit 1 when degraded (activated with warnings), not only when failed");
  cmd->add_flag("--json", a->json, "Print the report as JSON (docs/schemas/probe-report.v1.json)");
  cmd->add_option("--colour", a->colour, "Colour the text report: auto (on a terminal), always, never")
      ->capture_default_str();
  cmd->callback([a, &action] { action = [a] { return run(*a); }; });
}

}  // namespace kmslab::cli
