// kmslab serve: run a simulated KMS site (KMS hosts, DNS, SNTP) until SIGINT/SIGTERM.
#include "commands.hpp"

#include "kmslab/monitor/exposition.hpp"
#include "kmslab/monitor/simulator_metrics.hpp"
#include "kmslab/net/asio.hpp"
#include "kmslab/net/endpoint.hpp"
#include "kmslab/simulator/control_api.hpp"
#include "kmslab/simulator/site.hpp"
#include "kmslab/simulator/zone_file.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace kmslab::cli {

namespace {

constexpr std::string_view kControlTokenVariable = "KMSLAB_CONTROL_TOKEN";

struct ServeOptions {
  std::string config;
  std::vector<std::string> zones;  // BIND zone files
  std::string dns_listen;          // overrides dns.listen
  std::string log_level = "info";
  std::string activation_log;
  unsigned threads = 1;
  unsigned drain_ms = 2000;
  std::string control;        // ADDRESS:PORT of the control API; empty = none
  std::string control_token;       // required when `control` is not loopback; or from:
  std::string control_token_file;  // ... this file, or KMSLAB_CONTROL_TOKEN
  std::size_t control_body_limit = 64 * 1024;
  std::size_t control_max_connections = 64;
};

int log_rank(const std::string& level) {
  if (level == "error") return 0;
  if (level == "warn") return 1;
  if (level == "info") return 2;
  return 3;  // debug
}

// Adds each --zone file to the config's zones. A config zone with the same origin (declared so
// that hosts can `publish:` into it) is merged: the file's SOA and records go into it. The zone
// files' unsupported records are listed.
bool add_zone_files(const ServeOptions& options, simulator::SimulatorConfig& config) {
  for (const auto& path : options.zones) {
    auto zone = simulator::load_zone_file(path);
    if (!zone) {
      fmt::print(stderr, "kmslab serve: {}\n", zone.error().format());
      return false;
    }
    for (const auto& u : zone->unsupported)
      fmt::print(stderr, "kmslab serve: {}:{}: {} record for {} not loaded (unsupported type)\n", path, u.line, u.type, u.owner);
    fmt::print(stderr, "kmslab serve: {}: zone {}, {} record(s) loaded\n", path, zone->zone.origin,
               zone->zone.records.size() + (zone->has_soa ? 1 : 0));
    auto same = std::find_if(config.dns.zones.begin(), config.dns.zones.end(),
                             [&](const simulator::ZoneSpec& z) { return z.origin == zone->zone.origin; });
    if (same == config.dns.zones.end()) {
      config.dns.zones.push_back(std::move(zone->zone));
      continue;
    }
    if (zone->has_soa) {
      same->soa_mname = zone->zone.soa_mname;
      same->soa_rname = zone->zone.soa_rname;
      same->soa_serial = zone->zone.soa_serial;
      same->soa_minimum = zone->zone.soa_minimum;
      same->ttl = zone->zone.ttl;
    }
    for (auto& r : zone->zone.records) same->records.push_back(std::move(r));
  }
  return true;
}

// How often a drain looks whether anything is still in flight: short next to any drain worth
// giving, and a handful of wake-ups in all.
constexpr std::chrono::milliseconds kDrainPoll{10};

// Stops `io` as soon as the site holds no KMS connection (an idle site exits at once), else at
// `deadline`. The listeners are closed already, so the count only falls.
void drain_then_stop(net::asio::io_context& io, const simulator::Site& site,
                     std::chrono::steady_clock::time_point deadline) {
  if (site.open_kms_connections() == 0 || std::chrono::steady_clock::now() >= deadline) {
    io.stop();
    return;
  }
  auto timer = std::make_shared<net::asio::steady_timer>(io, std::min(deadline, std::chrono::steady_clock::now() + kDrainPoll));
  timer->async_wait([&io, &site, deadline, timer](const boost::system::error_code&) { drain_then_stop(io, site, deadline); });
}

int run_serve(const ServeOptions& options) {
  if (options.config.empty() && options.zones.empty()) {
    fmt::print(stderr, "kmslab serve: give --config, --zone or both\n");
    return kExitUsage;
  }
  // An option that would silently do nothing is a mistake worth hearing about.
  for (const auto& [given, name] : {std::pair{!options.control_token.empty(), "--control-token"},
                                    std::pair{!options.control_token_file.empty(), "--control-token-file"}})
    if (given && options.control.empty())
      return usage_error("serve", fmt::format("{} has no effect without --control", name));
  auto control_token = resolve_listener_token({.value_option = "--control-token",
                                               .value = options.control_token,
                                               .file_option = "--control-token-file",
                                               .file = options.control_token_file,
                                               .env_variable = std::string(kControlTokenVariable)});
  if (!control_token) return usage_error("serve", control_token.error());
  config::ConfigResult<simulator::SimulatorConfig> config = simulator::SimulatorConfig{};
  if (!options.config.empty()) config = simulator::load_simulator_config(options.config);
  if (!config) {
    fmt::print(stderr, "kmslab serve: {}\n", config.error().format());
    return kExitUsage;
  }
  if (!add_zone_files(options, *config)) return kExitUsage;
  if (!options.dns_listen.empty()) config->dns.listen = options.dns_listen;
  if (!options.activation_log.empty()) config->activation_log = options.activation_log;
  const int verbosity = log_rank(options.log_level);

  net::asio::io_context io(static_cast<int>(options.threads));
  // Signals are caught from before the ready line, so a script that reads it and signals at once
  // still gets a clean stop.
  net::asio::signal_set signals(io, SIGINT, SIGTERM);
  simulator::Site site(io, std::move(*config));  // a zone file's records are held once
  if (auto started = site.start(); !started) {
    fmt::print(stderr, "kmslab serve: {}\n", started.error());
    return kExitUsage;
  }
  std::unique_ptr<simulator::ControlApi> control;
  if (!options.control.empty()) {
    control = std::make_unique<simulator::ControlApi>(
        site, simulator::ControlApiOptions{
                  .listen = options.control,
                  .token = *control_token,
                  .body_limit = options.control_body_limit,
                  .max_connections = options.control_max_connections,
                  .read_timeout = std::chrono::milliseconds{5000},
                  .metrics = [&site](const net::HttpRequest& req) {
                    nlohmann::json counters = site.counters();
                    counters["faults"] = site.faults().counters_json()["faults"];
                    return net::make_http_response(req, net::http::status::ok,
                                                   monitor::render_simulator_metrics(counters, KMSLAB_VERSION),
                                                   monitor::kExpositionContentType);
                  }});
    auto started = control->start(io.get_executor());
    if (!started) {
      fmt::print(stderr, "kmslab serve: {}\n", started.error());
      return kExitUsage;
    }
  }
  // One machine-readable line with every bound endpoint, so scripts can use port 0.
  nlohmann::json ready = site.endpoints();
  if (control) ready["control"] = net::format_endpoint(control->endpoint());
  ready["event"] = "ready";
  fmt::print("{}\n", ready.dump());
  std::fflush(stdout);
  if (verbosity >= 2)
    fmt::print(stderr, "kmslab serve: {} KMS host(s) up; a lab simulator for test clients only. Ctrl-C stops.\n",
               site.kms_hosts().size());

  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (verbosity >= 2) fmt::print(stderr, "kmslab serve: signal {}, draining for up to {} ms\n", signal, options.drain_ms);
    if (control) control->stop();
    site.stop(std::chrono::milliseconds(options.drain_ms));
    // Stop the loop once in-flight exchanges finished, or had their chance to (the drain, plus a
    // moment for the sessions cut at its end to close).
    drain_then_stop(io, site, std::chrono::steady_clock::now() + std::chrono::milliseconds(options.drain_ms + 100));
  });

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < options.threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : workers) t.join();
  if (verbosity >= 2) {
    nlohmann::json done = site.counters();
    done["event"] = "stopped";
    fmt::print(stderr, "{}\n", done.dump());
  }
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, Action& action) {
  auto options = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Run a simulated KMS site: KMS hosts, DNS (SRV) and SNTP, for lab clients");
  cmd->footer(
      "On start, one JSON line lists every bound endpoint (ports may be ephemeral):\n"
      "  {\"event\":\"ready\",\"dns\":\"127.0.0.1:40123\",\"sntp\":\"127.0.0.1:40124\",\"kms\":{\"kms1\":[\"127.0.0.1:40125\"]}}\n"
      "Everything binds loopback unless the config names other addresses: kmslab is a test tool,\n"
      "not a licensing service. See docs/simulator.md for every configuration key.\n"
      "With --control, the ready line has \"control\": \"127.0.0.1:PORT\" (docs/control-api.md), and\n"
      "GET /metrics there serves the simulator's counters for Prometheus (docs/monitoring.md).\n"
      "Example: kmslab serve --config examples/corp.yaml\n"
      "         kmslab serve --zone db.corp.example --config hosts.yaml --dns-listen 127.0.0.1:5353");
  cmd->add_option("-c,--config", options->config, "Simulator configuration (YAML)")->check(CLI::ExistingFile);
  cmd->add_option("--zone", options->zones,
                  "BIND zone file to serve (SRV, A, AAAA, SOA, NS, TXT, CNAME; other types are listed and skipped); "
                  "repeatable; with or without --config")
      ->check(CLI::ExistingFile);
  cmd->add_option("--dns-listen", options->dns_listen, "Address:port of the DNS server (UDP and TCP), e.g. 127.0.0.1:5353")
      ->type_name("ADDR:PORT");
  cmd->add_option("--log-level", options->log_level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->capture_default_str();
  cmd->add_option("--activation-log", options->activation_log,
                  "Append one JSON line per activation to this file ('-' = stdout); overrides the config");
  cmd->add_option("--threads", options->threads, "Threads running the event loop (for load tests)")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  cmd->add_option("--drain-ms", options->drain_ms,
                  "On SIGINT/SIGTERM, time given to in-flight exchanges (exits as soon as none is left)")
      ->check(CLI::Range(0u, 60000u))
      ->capture_default_str();
  cmd->add_option("--control", options->control,
                  "Serve the HTTP/JSON control API (faults, listeners, counters) on ADDRESS:PORT, e.g. 127.0.0.1:0")
      ->type_name("ADDR:PORT");
  cmd->add_option("--control-token", options->control_token,
                  "Bearer token every control request must carry: at least 16 characters, no whitespace; required "
                  "to listen beyond loopback. Visible in ps: prefer --control-token-file or $KMSLAB_CONTROL_TOKEN")
      ->type_name("TOKEN");
  cmd->add_option("--control-token-file", options->control_token_file,
                  "Read the control token from this file (one line); the environment variable KMSLAB_CONTROL_TOKEN "
                  "is read when neither token option is given")
      ->type_name("FILE");
  cmd->add_option("--control-body-limit", options->control_body_limit,
                  "Largest control request body in bytes (larger gets 413 and the connection closes)")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{16} << 20))
      ->capture_default_str();
  cmd->add_option("--control-max-connections", options->control_max_connections,
                  "Control API connections open at once (more are closed at once)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
      ->capture_default_str();
  cmd->callback([&action, options] { action = [options] { return run_serve(*options); }; });
}

}  // namespace kmslab::cli
