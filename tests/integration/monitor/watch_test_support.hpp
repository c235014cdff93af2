// Test helpers for the watch: canned probe runs (diagnosed fixtures), a fake probe with a delay
// and a call log, a one-request HTTP client with a deadline, and running a function on a loop.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <future>
#include <map>
#include <memory>
#include <string>

#include "../../unit/client/probe_fixtures.hpp"
#include "kmslab/client/diagnosis.hpp"
#include "kmslab/monitor/scheduler.hpp"
#include "kmslab/net/asio.hpp"

namespace kmslab::monitor::test {

namespace asio = net::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

inline client::ProbeRun canned_run(bool healthy) {
  namespace ct = client::test;
  client::ProbeRun run;
  run.product.n_policy = 25;
  if (healthy) {
    run.observations = ct::healthy_observations();
  } else {
    run.observations = ct::base_observations();
    run.observations.dns.push_back(ct::srv_failure(client::DnsOutcome::nxdomain));
  }
  run.diagnosis = client::diagnose(run.observations, {});
  return run;
}

// A probe that waits `delay[domain or kms]` (default 0) and answers healthy, recording each call
// and the most probes in flight at once. Use on one thread only.
struct FakeProbe {
  std::map<std::string, std::chrono::milliseconds> delay;
  std::map<std::string, int> calls;
  int in_flight = 0;
  int max_in_flight = 0;

  ProbeFunction function() {
    return [this](client::ProbeConfig c) -> asio::awaitable<client::ProbeRun> {
      const std::string key = c.domains.empty() ? c.kms : c.domains.front();
      ++calls[key];
      ++in_flight;
      max_in_flight = std::max(max_in_flight, in_flight);
      struct Leave {
        int& n;
        ~Leave() { --n; }
      } leave{in_flight};
      auto it = delay.find(key);
      if (it != delay.end()) {
        asio::steady_timer timer(co_await asio::this_coro::executor, it->second);
        co_await timer.async_wait(asio::use_awaitable);
      }
      co_return canned_run(key != "missing.example");
    };
  }
};

struct HttpReply {
  int status = 0;  // 0: no answer within the deadline
  std::string content_type;
  std::string body;
};

// One GET on its own io_context, bounded by `timeout`.
inline HttpReply http_get(const net::tcp::endpoint& server, const std::string& target,
                          std::chrono::milliseconds timeout = 5000ms) {
  asio::io_context io;
  net::tcp::socket socket(io);
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::response<http::string_body> res;
  boost::beast::flat_buffer buffer;
  HttpReply reply;
  socket.async_connect(server, [&](boost::system::error_code ec) {
    if (ec) return;
    http::async_write(socket, req, [&](boost::system::error_code wec, std::size_t) {
      if (wec) return;
      http::async_read(socket, buffer, res, [&](boost::system::error_code rec, std::size_t) {
        if (rec) return;
        reply.status = static_cast<int>(res.result_int());
        reply.content_type = std::string(res[http::field::content_type]);
        reply.body = res.body();
      });
    });
  });
  io.run_for(timeout);
  return reply;
}

// Runs `fn` on `io` (run by another thread) and returns its result.
template <class F>
auto on_loop(asio::io_context& io, F fn) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto result = task.get_future();
  asio::post(io, [&task] { task(); });
  return result.get();
}

}  // namespace kmslab::monitor::test
