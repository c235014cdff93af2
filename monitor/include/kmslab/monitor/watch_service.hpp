// `kmslab watch` as a component: the scheduler, the metric state and the HTTP endpoint together.
//
// Routes (GET only; anything else 404 or 405):
//   /metrics                         every target's metrics (watch_metrics.hpp), text format 0.0.4
//   /probe?module=M&target=T         one probe now, answered when it ends, with the metrics of that
//                                    run alone (as blackbox_exporter's /probe); 400 naming the
//                                    problem for a missing or unknown module or a bad target
//   /healthz                         "ok"
//   /                                a short page with links
// reload() re-reads the config file: a valid one replaces the running config (targets restart on
// their new schedule, removed targets' series are dropped); an invalid one keeps the old config,
// sets kmslab_watch_config_last_reload_successful to 0 and returns the located error.
// The listen address is fixed at start (a reload that changes it is applied on the next start).
//
// Thread-safety: all calls on the executor's thread; the executor must not run handlers
// concurrently (see Scheduler).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/system/result.hpp>

#include "kmslab/config/yaml_node.hpp"
#include "kmslab/monitor/scheduler.hpp"
#include "kmslab/monitor/watch_config.hpp"
#include "kmslab/monitor/watch_metrics.hpp"
#include "kmslab/net/http_server.hpp"

namespace kmslab::monitor {

struct WatchServiceOptions {
  std::string config_file;  // read again by reload()
  std::string listen;       // overrides the config's `listen` when not empty
  std::string token;        // bearer token for every request; required beyond loopback (net::check_listener_token)
  std::string version = "unknown";
  ProbeFunction probe;      // empty: client::run_probe
  WallClockNow now;         // empty: system_clock
};

class WatchService {
 public:
  WatchService(net::asio::any_io_executor executor, WatchConfig config, WatchServiceOptions options);
  ~WatchService();
  WatchService(const WatchService&) = delete;
  WatchService& operator=(const WatchService&) = delete;

  // Binds the HTTP endpoint and starts the schedule. Errors: see net::HttpServer::start().
  boost::system::result<net::tcp::endpoint, std::string> start();
  void stop();
  net::tcp::endpoint endpoint() const;

  // Errors: the config file's located error; the running config is unchanged then.
  config::ConfigResult<void> reload();

  net::asio::awaitable<net::HttpResponse> handle(net::HttpRequest request);

  const WatchConfig& config() const noexcept { return config_; }
  WatchMetrics& metrics() noexcept { return metrics_; }
  const Scheduler& scheduler() const noexcept { return scheduler_; }

 private:
  net::asio::awaitable<net::HttpResponse> probe_once(const net::HttpRequest& request);

  net::asio::any_io_executor executor_;
  WatchConfig config_;
  WatchServiceOptions options_;
  WatchMetrics metrics_;
  Scheduler scheduler_;
  std::unique_ptr<net::HttpServer> server_;
  std::uint64_t probe_requests_ = 0;
};

// The query parameter `key` of a request target ("/probe?module=a&target=b"), percent-decoded
// ('+' is a space); nullopt when absent or badly encoded.
std::optional<std::string> query_parameter(std::string_view request_target, std::string_view key);

}  // namespace kmslab::monitor
