// `kmslab load`: drive a KMS host, DNS responder, SNTP responder or the whole probe with an
// open-loop (or closed-loop) load and report latency percentiles without coordinated omission.
// The option logic is kmslab::bench::plan_load() (pure, unit-tested), the work LoadDriver with a
// target from make_target_factory(); this file binds options, prints and picks the exit code:
// 0 the run passed, 1 more requests failed than --max-error-rate allows, 2 usage or I/O error,
// 130 interrupted (the report of what was done is still written, marked interrupted).
#include "commands.hpp"
#include "stop_signals.hpp"

#include "kmslab/bench/load_driver.hpp"
#include "kmslab/bench/load_plan.hpp"
#include "kmslab/bench/load_report.hpp"
#include "kmslab/bench/targets.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>

namespace kmslab::cli {
namespace {

namespace bench = kmslab::bench;

struct LoadCliArgs {
  bench::LoadArgs load;
  std::string json;  // file or "-"
  std::string interval_log;
  bool quiet = false;
};

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int run_load(const LoadCliArgs& args) {
  auto plan = bench::plan_load(args.load);
  if (!plan) return usage_error("load", plan.error().message);
  auto factory = bench::make_target_factory(plan->url, plan->settings);
  if (!factory) return usage_error("load", factory.error().message);

  const auto& o = plan->options;
  bench::LoadDriver driver(o, std::move(*factory));
  // Taken before the notes are printed and the engine's threads start (they inherit the mask).
  StopSignals signals("load", [&driver] { driver.stop(); });
  if (!args.quiet)
    for (const auto& note : plan->notes) fmt::print(stderr, "kmslab load: {}\n", note);
  const bool tty = ::isatty(STDERR_FILENO) == 1 && !args.quiet;
  const std::string started_at = utc_now();
  std::function<void(const bench::Progress&)> progress;
  if (tty) progress = [](const bench::Progress& p) { fmt::print(stderr, "\r{}\x1b[K", bench::format_progress(p)); };
  auto report = driver.run(progress, std::chrono::milliseconds(500));
  const bool interrupted = signals.interrupted();
  if (tty) fmt::print(stderr, "\r\x1b[K");
  if (!report) return usage_error("load", report.error().message);
  for (auto& run : report->runs) run.started_at = started_at;
  report->interrupted = interrupted;
  if (interrupted) fmt::print(stderr, "kmslab load: interrupted, reporting what was done\n");

  const auto judgement = bench::judge(*report, plan->max_error_rate);
  if (!args.interval_log.empty() && !write_file(args.interval_log, bench::interval_log(*report)))
    return usage_error("load", fmt::format("cannot write the interval log '{}'", args.interval_log));
  const std::string json = args.json.empty() ? std::string() : bench::report_to_json(*report).dump();
  if (args.json == "-") {
    fmt::print("{}\n", json);
  } else {
    if (!args.json.empty() && !write_file(args.json, json + "\n"))
      return usage_error("load", fmt::format("cannot write the JSON report '{}'", args.json));
    fmt::print("{}", bench::render_text(*report));
  }
  if (!args.quiet) fmt::print(stderr, "kmslab load: {}\n", judgement.summary);
  if (interrupted) return kExitInterrupted;
  return judgement.passed ? kExitOk : kExitProblem;
}

}  // namespace

void add_load_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "load", "Load a KMS host, DNS or SNTP responder, or the whole probe, and report latency percentiles");
  auto a = std::make_shared<LoadCliArgs>();
  auto& l = a->load;
  cmd->add_option("--target,-t", l.target,
                  "kms://host[:1688], dns://host[:53], sntp://host[:123] or probe://DOMAIN[?dns=host:port]")
      ->required();
  cmd->add_option("--rate,-r", l.rate, "open loop: requests per second, latency from the intended send time");
  cmd->add_flag("--poisson", l.poisson, "open loop with Poisson (exponential) gaps instead of constant ones");
  cmd->add_option("--concurrency,-c", l.concurrency, "closed loop: C requests outstanding (measures service time)");
  cmd->add_option("--duration,-d", l.duration, "measured window (10s, 500ms, 2m); default 10s without --requests");
  cmd->add_option("--requests,-n", l.requests, "measured requests to send (with --duration: whichever comes first)");
  cmd->add_option("--warmup", l.warmup, "sent before the measured window, not counted")->capture_default_str();
  cmd->add_option("--threads", l.threads, "generator threads, each with its own io_context")->capture_default_str();
  cmd->add_option("--timeout", l.timeout, "per request")->capture_default_str();
  cmd->add_option("--protocol", l.protocol, "KMS protocol 4, 5 or 6 (default: the product's)");
  cmd->add_option("--product", l.product, "product name or SKU GUID (default: Windows 10 Enterprise)");
  cmd->add_flag("--keepalive", l.keepalive, "kms://: one connection per in-flight slot, bind once, then request after request");
  cmd->add_option("--domain", l.domain, "dns://: the zone whose _vlmcs._tcp SRV record is asked for");
  cmd->add_option("--seed", l.seed, "seed of every random choice (CMIDs, IVs, IDs, Poisson gaps)")->capture_default_str();
  cmd->add_option("--max-in-flight", l.max_in_flight, "open loop: cap on outstanding requests (late ones keep their intended time)")
      ->capture_default_str();
  cmd->add_option("--max-error-rate", l.max_error_rate,
                  "fraction 0..1 of failed (error or unsent) requests allowed before exit 1; default 0")
      ->capture_default_str();
  cmd->add_option("--json", a->json, "write the report as JSON to FILE, or to stdout with '-' (instead of the table)");
  cmd->add_option("--interval-log", a->interval_log, "write one JSON line per second of the run (histogram per interval)");
  cmd->add_flag("--quiet,-q", a->quiet, "no notes, progress or verdict on stderr");
  cmd->footer(
      "Open loop (--rate) charges each request from the time it was due, so a stalled target shows in\n"
      "every percentile it delayed (coordinated-omission correction). Exit: 0 passed, 1 failed requests\n"
      "above --max-error-rate (default: any), 2 usage, 130 interrupted (SIGINT/SIGTERM: the report of\n"
      "what was done is still printed and written, marked \"interrupted\": true). Use loopback or lab\n"
      "targets only.\n");
  cmd->callback([&action, a] {
    a->load.interval_log = !a->interval_log.empty();
    action = [a] { return run_load(*a); };
  });
}

}  // namespace kmslab::cli
