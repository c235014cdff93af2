// A small HTTP/1.1 server (Boost.Beast) for kmslab's control API and, later, /metrics.
//
// The handler is a pure function request -> response, run on the server's executor; the server
// does everything else: keep-alive (up to max_requests_per_connection per connection), a deadline
// on reading each request (headers and body; also the idle wait between keep-alive requests) and
// on writing each response, a header and body size limit (413 / 431, then close), 400 for a
// request that does not parse, 500 when the handler throws, and at most max_connections at once.
//
// Exposure: the server binds loopback by default. Binding any other address requires a bearer
// token (check_listener_token: the rule for every listener that takes one); with a token set,
// every request must carry `Authorization: Bearer <token>` (scheme in any case, token compared in
// constant time) or gets 401. Port 0 picks a free port: endpoint() tells which.
// Thread-safety: start/stop/endpoint/requests from any thread; the handler runs on the executor.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/net/tcp_server.hpp"

#include <boost/beast/http.hpp>
#include <boost/system/result.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace kmslab::net {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// For handlers that must wait for I/O of their own (e.g. /probe runs a probe): awaited on the
// server's executor, so other connections keep being served meanwhile.
using AsyncHttpHandler = std::function<asio::awaitable<HttpResponse>(HttpRequest)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 8 * 1024;
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  std::size_t max_connections = 64;
  std::size_t max_requests_per_connection = 1000;
  std::string bearer_token;  // empty: no authentication (allowed on loopback only)
};

// What arrived, readable from any thread. Every request that parses is in `requests` (and then
// in `unauthorized` when its token was missing or wrong); input that never became a request is
// in exactly one of `parse_errors` (400), `too_large` (413 body / 431 headers) or `timeouts`
// (read deadline; also an idle keep-alive connection); `handler_errors` counts 500s.
struct HttpCounters {
  std::atomic<std::uint64_t> requests{0}, unauthorized{0}, parse_errors{0}, too_large{0}, timeouts{0},
      handler_errors{0};
};

class HttpServer {
 public:
  HttpServer(asio::any_io_executor executor, HttpServerOptions options, HttpHandler handler);
  HttpServer(asio::any_io_executor executor, HttpServerOptions options, AsyncHttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Errors (one sentence): a listen text that is not ADDRESS:PORT, a token that breaks
  // check_listener_token (none beyond loopback, or a weak one), or the bind error.
  boost::system::result<tcp::endpoint, std::string> start();
  void stop();
  tcp::endpoint endpoint() const;
  std::uint64_t requests() const noexcept { return counters_->requests.load(); }
  const HttpCounters& counters() const noexcept { return *counters_; }
  std::size_t open_connections() const noexcept { return server_ ? server_->open_connections() : 0; }
  std::uint64_t rejected_connections() const noexcept { return server_ ? server_->rejected() : 0; }

 private:
  asio::any_io_executor executor_;
  HttpServerOptions options_;
  HttpHandler handler_;
  AsyncHttpHandler async_handler_;
  std::shared_ptr<TcpServer> server_;
  std::shared_ptr<HttpCounters> counters_ = std::make_shared<HttpCounters>();
};

// A response to `request` (same HTTP version) with `body` and its Content-Type.
HttpResponse make_http_response(const HttpRequest& request, http::status status, std::string body,
                                std::string_view content_type = "application/json");

// The rule for every listener that takes a bearer token (the control API, `watch`): beyond
// loopback a token is required, and a token, wherever it is given, has at least
// kMinTokenLength characters and no whitespace (a short or blank one is guessed or mistyped).
// Returns "" when `token` may serve on `address`, else the reason in one sentence.
inline constexpr std::size_t kMinTokenLength = 16;
std::string check_listener_token(const asio::ip::address& address, std::string_view token);

// True when both strings are equal; the time taken depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace kmslab::net
