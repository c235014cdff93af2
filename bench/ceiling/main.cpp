// kmslab_ceiling: the loopback ceiling pair (see exchange.hpp).
//   kmslab_ceiling run    --server epoll --mode keepalive -c 16 --duration 2   # both, in-process
//   kmslab_ceiling server --server blocking [--port 0]                          # until SIGINT
//   kmslab_ceiling client --port P --mode new -c 16 --count 100000
// run and client print one JSON object (exchanges_per_s, latency percentiles, errors); exit 0
// when exchanges completed without errors, 1 otherwise, 2 for a usage error.
#include "client.hpp"
#include "servers.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace kmslab::bench::ceiling;
using nlohmann::json;

struct Settings {
  std::string server = "epoll";
  std::string mode = "keepalive";
  unsigned connections = 16;
  unsigned threads = 1;
  double duration_s = 2;
  std::uint64_t count = 0;
  bool ipv6 = false;
  std::uint16_t port = 0;
  std::vector<std::size_t> sizes{116, 60, 260, 300};
};

ExchangeShape shape_of(const Settings& s) { return ExchangeShape{s.sizes[0], s.sizes[1], s.sizes[2], s.sizes[3]}; }

std::unique_ptr<Server> make_server(const Settings& s, LoopbackEndpoint& endpoint, std::string& error) {
  const int fd = open_listener(endpoint, s.server == "epoll", error);
  if (fd < 0) return nullptr;
  endpoint.port = local_port(fd);
  auto server = s.server == "epoll" ? make_epoll_server(fd, shape_of(s)) : make_blocking_server(fd, shape_of(s));
  server->start();
  return server;
}

json result_json(const Settings& s, const LoopbackEndpoint& endpoint, const ClientResult& r) {
  json latency = json::object();
  for (double p : {50.0, 90.0, 99.0, 99.9}) latency[fmt::format("p{:g}", p)] = r.latency.percentile(p);
  latency["max"] = r.latency.max();
  return {{"tool", "kmslab_ceiling"},
          {"endpoint", describe(endpoint)},
          {"mode", s.mode},
          {"connections", s.connections},
          {"threads", s.threads},
          {"duration_s", s.duration_s},
          {"count", s.count},
          {"sizes",
           {{"bind_request", s.sizes[0]}, {"bind_reply", s.sizes[1]}, {"request", s.sizes[2]}, {"reply", s.sizes[3]}}},
          {"exchanges", r.exchanges},
          {"elapsed_s", r.elapsed_s},
          {"exchanges_per_s", r.elapsed_s > 0 ? static_cast<double>(r.exchanges) / r.elapsed_s : 0.0},
          {"connects", r.connects},
          {"unfinished", r.unfinished},
          {"errors", r.errors},
          {"latency_ns", latency},
          {"loop", "closed: each connection starts its next exchange when the previous one ends"}};
}

ClientOptions client_options(const Settings& s, const LoopbackEndpoint& endpoint) {
  ClientOptions o;
  o.endpoint = endpoint;
  o.shape = shape_of(s);
  o.mode = s.mode == "new" ? ConnectionMode::per_exchange : ConnectionMode::keep_alive;
  o.connections = s.connections;
  o.threads = s.threads;
  o.duration = std::chrono::nanoseconds(static_cast<std::int64_t>(s.duration_s * 1e9));
  o.count = s.count;
  return o;
}

int exit_code(const ClientResult& r) { return r.exchanges > 0 && r.errors.empty() && r.unfinished == 0 ? 0 : 1; }

int run_both(const Settings& s) {
  LoopbackEndpoint endpoint{s.ipv6, 0};
  std::string error;
  auto server = make_server(s, endpoint, error);
  if (!server) {
    fmt::print(stderr, "kmslab_ceiling: {}\n", error);
    return 2;
  }
  const ClientResult r = run_client(client_options(s, endpoint));
  server->stop();
  json out = result_json(s, endpoint, r);
  out["server"] = s.server;
  out["server_exchanges"] = server->exchanges();
  out["server_connections"] = server->connections();
  fmt::print("{}\n", out.dump(2));
  return exit_code(r);
}

int run_client_only(const Settings& s) {
  const LoopbackEndpoint endpoint{s.ipv6, s.port};
  const ClientResult r = run_client(client_options(s, endpoint));
  json out = result_json(s, endpoint, r);
  out["server"] = "external";
  fmt::print("{}\n", out.dump(2));
  return exit_code(r);
}

int run_server_only(const Settings& s) {
  // Block the stop signals before any thread starts, so only sigtimedwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  LoopbackEndpoint endpoint{s.ipv6, s.port};
  std::string error;
  auto server = make_server(s, endpoint, error);
  if (!server) {
    fmt::print(stderr, "kmslab_ceiling: {}\n", error);
    return 2;
  }
  fmt::print("{}\n", json{{"listening", describe(endpoint)}, {"server", s.server}}.dump());
  std::fflush(stdout);
  if (s.duration_s > 0) {
    timespec limit{};
    limit.tv_sec = static_cast<time_t>(s.duration_s);
    limit.tv_nsec = static_cast<long>((s.duration_s - static_cast<double>(limit.tv_sec)) * 1e9);
    sigtimedwait(&stop_signals, nullptr, &limit);
  } else {
    int signal = 0;
    sigwait(&stop_signals, &signal);
  }
  server->stop();
  fmt::print("{}\n", json{{"exchanges", server->exchanges()}, {"connections", server->connections()}}.dump());
  return 0;
}

void add_common(CLI::App* cmd, Settings& s, bool client_side, bool server_side) {
  cmd->add_flag("--ipv6", s.ipv6, "use ::1 instead of 127.0.0.1");
  cmd->add_option("--sizes", s.sizes, "bind request, bind reply, request, reply sizes in bytes")
      ->delimiter(',')
      ->expected(4)
      ->check(CLI::Range(std::size_t{1}, kMaxMessage));
  if (server_side)
    cmd->add_option("--server", s.server, "server variant")->check(CLI::IsMember({"blocking", "epoll"}));
  if (client_side) {
    cmd->add_option("--mode", s.mode, "new: a TCP connection per exchange; keepalive: connect once")
        ->check(CLI::IsMember({"new", "keepalive"}));
    cmd->add_option("-c,--connections", s.connections, "concurrent connections")->check(CLI::Range(1u, 10'000u));
    cmd->add_option("--threads", s.threads, "client threads (each with its own epoll loop)")->check(CLI::Range(1u, 64u));
    cmd->add_option("--count", s.count, "stop after this many exchanges (0: duration only)");
  }
  cmd->add_option("--duration", s.duration_s, "seconds (client: 0 = count only; server: 0 = until SIGINT)")
      ->check(CLI::Range(0.0, 3600.0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kmslab_ceiling: the loopback ceiling for a KMS v6 exchange's bytes, with no protocol work"};
  app.require_subcommand(1);
  Settings s;
  auto* run = app.add_subcommand("run", "start a server in-process and load it with the client");
  add_common(run, s, true, true);
  auto* server = app.add_subcommand("server", "serve until SIGINT/SIGTERM (or --duration), print the port first");
  add_common(server, s, false, true);
  server->add_option("--port", s.port, "port (0: ephemeral)");
  auto* client = app.add_subcommand("client", "load a running ceiling server");
  add_common(client, s, true, false);
  client->add_option("--port", s.port, "the server's port")->required()->check(CLI::Range(1, 65535));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if ((run->parsed() || client->parsed()) && s.duration_s <= 0 && s.count == 0) {
    fmt::print(stderr, "kmslab_ceiling: give --duration or --count (every run is bounded)\n");
    return 2;
  }
  if (run->parsed()) return run_both(s);
  if (server->parsed()) return run_server_only(s);
  return run_client_only(s);
}
