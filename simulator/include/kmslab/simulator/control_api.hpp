// The simulator's control API: HTTP/JSON on a Site, so a test, a scenario step or a person with
// curl can add and remove faults, switch listeners and read counters while the site runs.
//
// Routes (docs/control-api.md has curl examples):
//   GET    /healthz              {"status":"ok"}
//   GET    /faults               {"faults":[fault + matched/applied/active, ...]}
//   POST   /faults               body: one fault (docs/faults.md)  -> 201 the stored fault
//                                400 {"error","field"} when it does not validate, 409 for a name in use
//   GET    /faults/{name}        the fault, or 404
//   DELETE /faults/{name}        200 {"removed":"name"}, or 404
//   DELETE /faults               200 {"removed":N}
//   GET    /listeners            {"kms1":"open",...}
//   PUT    /listeners/{host}     body {"state":"open|refused|filtered|filtered_nftables"} -> 200; 404 unknown host
//   GET    /counters             Site::counters() plus "faults" (hit counts) and "listeners"
//   POST   /reset                counters restart from zero; every fault removed; listeners open
//   GET    /actions              the registered fault actions with their stages and params
//   GET    /metrics              when ControlApiOptions::metrics is set: its response (kmslab serve
//                                renders the counters in the Prometheus text format there)
// Anything else: 404, or 405 with an Allow header for a known path and a wrong method. Request
// bodies are limited (64 KiB by default) and must be JSON objects.
//
// Exposure: loopback by default; another address needs a token (see net/http_server.hpp).
// handle() is the whole API as a pure function of the request and the site's state, so tests
// can call it without sockets. Thread-safety: as the Site's (the handler runs on the executor).
#pragma once

#include "kmslab/net/http_server.hpp"
#include "kmslab/simulator/site.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace kmslab::simulator {

struct ControlApiOptions {
  std::string listen = "127.0.0.1:0";
  std::string token;  // required for a non-loopback address; then every request needs it
  std::size_t body_limit = 64 * 1024;
  std::size_t max_connections = 64;
  std::chrono::milliseconds read_timeout{5000};  // per request, and the idle wait between requests
  // Answers GET /metrics. A hook rather than a dependency: the exposition format lives in
  // kmslab::monitor, which the simulator does not link.
  net::HttpHandler metrics;
};

class ControlApi {
 public:
  // REQUIRES: `site` outlives the ControlApi.
  explicit ControlApi(Site& site, ControlApiOptions options = {});
  ~ControlApi();
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;

  // Errors: see HttpServer::start().
  boost::system::result<net::tcp::endpoint, std::string> start(net::asio::any_io_executor executor);
  void stop();
  net::tcp::endpoint endpoint() const;
  // The HTTP server's input accounting and open connections. REQUIRES: start() succeeded.
  const net::HttpServer& http() const { return *server_; }

  net::HttpResponse handle(const net::HttpRequest& request);

 private:
  Site& site_;
  ControlApiOptions options_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace kmslab::simulator
