// kmslab watch: probe targets on a schedule and serve the results to Prometheus (/metrics), plus
// one-shot probes (/probe?module=M&target=T). SIGHUP reloads the config; SIGINT/SIGTERM stop.
#include "commands.hpp"

#include "kmslab/monitor/watch_service.hpp"
#include "kmslab/net/asio.hpp"
#include "kmslab/net/endpoint.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>

namespace kmslab::cli {

namespace {

struct WatchArgs {
  std::string config;
  std::string listen;
  std::string token_file;  // or KMSLAB_WATCH_TOKEN
  unsigned drain_ms = 1000;
};

int run_watch(const WatchArgs& args) {
  auto config = monitor::load_watch_config(args.config);
  if (!config) {
    fmt::print(stderr, "kmslab watch: {}\n", config.error().format());
    return kExitUsage;
  }
  // No token option on the command line (it would show in `ps`): a file or the environment.
  auto token = resolve_listener_token({.value_option = {},
                                       .value = {},
                                       .file_option = "--token-file",
                                       .file = args.token_file,
                                       .env_variable = "KMSLAB_WATCH_TOKEN"});
  if (!token) return usage_error("watch", token.error());
  net::asio::io_context io(1);
  // Caught from before the ready line, so a script that reads it and signals at once is served.
  net::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  net::asio::signal_set reload_signal(io, SIGHUP);
  monitor::WatchServiceOptions service_options;
  service_options.config_file = args.config;
  service_options.listen = args.listen;
  service_options.token = *token;
  service_options.version = KMSLAB_VERSION;
  monitor::WatchService service(io.get_executor(), *config, service_options);
  auto started = service.start();
  if (!started) {
    fmt::print(stderr, "kmslab watch: {}\n", started.error());
    return kExitUsage;
  }
  nlohmann::json ready = {{"event", "ready"},
                          {"listen", net::format_endpoint(*started)},
                          {"targets", config->targets.size()},
                          {"modules", config->modules.size()}};
  fmt::print("{}\n", ready.dump());
  std::fflush(stdout);
  fmt::print(stderr, "kmslab watch: {} target(s); metrics on http://{}/metrics\n", config->targets.size(),
             net::format_endpoint(*started));

  std::function<void()> wait_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      auto reloaded = service.reload();
      if (reloaded)
        fmt::print(stderr, "kmslab watch: reloaded {}: {} target(s)\n", args.config, service.config().targets.size());
      else
        fmt::print(stderr, "kmslab watch: reload failed, keeping the previous config: {}\n", reloaded.error().format());
      wait_reload();
    });
  };
  wait_reload();
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    fmt::print(stderr, "kmslab watch: signal {}, stopping\n", signal);
    service.stop();
    reload_signal.cancel();
    // In-flight probes and responses get a moment; then the loop ends whatever is left.
    auto timer = std::make_shared<net::asio::steady_timer>(io, std::chrono::milliseconds(args.drain_ms));
    timer->async_wait([&io, timer](const boost::system::error_code&) { io.stop(); });
  });
  io.run();
  return kExitOk;
}

}  // namespace

void add_watch_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<WatchArgs>();
  auto* cmd = app.add_subcommand("watch", "Probe targets on a schedule; serve Prometheus /metrics and /probe");
  cmd->footer(
      "On start, one JSON line tells where it listens: {\"event\":\"ready\",\"listen\":\"127.0.0.1:9688\",...}\n"
      "Routes: /metrics (every target), /probe?module=M&target=T (one probe now), /healthz.\n"
      "SIGHUP re-reads the config (a bad one is logged and the old one kept); SIGINT/SIGTERM exit 0.\n"
      "See docs/monitoring.md for the config, the metrics and the alert rules.\n"
      "Example: kmslab watch --config examples/watch.yaml --listen 127.0.0.1:9688");
  cmd->add_option("-c,--config", args->config, "Watch configuration (YAML): modules and targets")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", args->listen, "HTTP ADDRESS:PORT for /metrics and /probe (default: the config's, "
                                            "else 127.0.0.1:9688; port 0 picks a free one)")
      ->type_name("ADDR:PORT");
  cmd->add_option("--token-file", args->token_file,
                  "Read a bearer token (one line: at least 16 characters, no whitespace) that every request must "
                  "carry; required to listen beyond loopback. Without it, the environment variable "
                  "KMSLAB_WATCH_TOKEN is read")
      ->type_name("FILE");
  cmd->add_option("--drain-ms", args->drain_ms, "On SIGINT/SIGTERM, time given to in-flight requests")
      ->check(CLI::Range(0u, 60000u))
      ->capture_default_str();
  cmd->callback([&action, args] { action = [args] { return run_watch(*args); }; });
}

}  // namespace kmslab::cli
