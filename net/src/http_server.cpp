#include "kmslab/net/http_server.hpp"

#include "kmslab/net/deadline.hpp"
#include "kmslab/net/endpoint.hpp"
#include "kmslab/protocol/utf16.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace kmslab::net {

namespace beast = boost::beast;

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  return diff == 0;
}

std::string check_listener_token(const asio::ip::address& address, std::string_view token) {
  if (token.empty()) {
    if (is_loopback(address)) return {};
    return "a token is required: it is not a loopback address (set a token, or listen on 127.0.0.1 / [::1])";
  }
  const bool blank = std::any_of(token.begin(), token.end(),
                                 [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
  if (token.size() < kMinTokenLength || blank)
    return fmt::format("the token must have at least {} characters with no whitespace (it has {}{})", kMinTokenLength,
                       token.size(), blank ? ", with whitespace" : "");
  return {};
}

HttpResponse make_http_response(const HttpRequest& request, http::status status, std::string body,
                                std::string_view content_type) {
  HttpResponse res{status, request.version()};
  res.set(http::field::server, "kmslab");
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.keep_alive(request.keep_alive());
  res.prepare_payload();
  return res;
}

namespace {

HttpResponse error_response(unsigned version, http::status status, std::string_view message) {
  HttpResponse res{status, version};
  res.set(http::field::server, "kmslab");
  res.set(http::field::content_type, "application/json");
  res.body() = fmt::format("{{\"error\":\"{}\"}}\n", message);
  res.keep_alive(false);
  res.prepare_payload();
  return res;
}

bool authorized(const HttpRequest& request, const std::string& token) {
  if (token.empty()) return true;
  auto it = request.find(http::field::authorization);
  if (it == request.end()) return false;
  const std::string_view value(it->value().data(), it->value().size());
  // RFC 9110 section 11.1: the scheme name is case-insensitive ("bearer" is Bearer).
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || !beast::iequals(value.substr(0, kScheme.size()), kScheme)) return false;
  return constant_time_equal(value.substr(kScheme.size()), token);
}

struct Shared {
  HttpServerOptions options;
  HttpHandler handler;
  AsyncHttpHandler async_handler;
  std::shared_ptr<HttpCounters> counters;
};

asio::awaitable<bool> write_response(tcp::socket& socket, HttpResponse& res, std::chrono::milliseconds timeout) {
  auto wrote = co_await with_timeout(http::async_write(socket, res, asio::as_tuple(asio::use_awaitable)), timeout);
  const bool ok = wrote && !std::get<0>(*wrote);
  co_return ok;
}

// Each co_await in its own statement (GCC 12 miscompiles co_await inside compound conditions).
asio::awaitable<void> session(std::shared_ptr<Shared> s, tcp::socket& socket) {
  beast::flat_buffer buffer;
  for (std::size_t served = 0; served < s->options.max_requests_per_connection; ++served) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(s->options.body_limit);
    parser.header_limit(static_cast<std::uint32_t>(s->options.header_limit));
    auto got = co_await with_timeout(http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable)),
                                     s->options.read_timeout);
    if (!got) {  // idle or slow client: close
      ++s->counters->timeouts;
      co_return;
    }
    const auto ec = std::get<0>(*got);
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset) co_return;
    if (ec) {
      http::status status = http::status::bad_request;
      std::string_view why = "the request is not valid HTTP/1.1";
      if (ec == http::error::body_limit) {
        status = http::status::payload_too_large;
        why = "request body too large";
        ++s->counters->too_large;
      } else if (ec == http::error::header_limit) {
        status = http::status::request_header_fields_too_large;
        why = "request headers too large";
        ++s->counters->too_large;
      } else {
        ++s->counters->parse_errors;
      }
      auto res = error_response(11, status, why);
      co_await write_response(socket, res, s->options.write_timeout);
      co_return;
    }
    HttpRequest request = parser.release();
    ++s->counters->requests;
    HttpResponse res;
    if (!authorized(request, s->options.bearer_token)) {
      res = make_http_response(request, http::status::unauthorized,
                               "{\"error\":\"missing or wrong bearer token (Authorization: Bearer <token>)\"}\n");
      res.set(http::field::www_authenticate, "Bearer");
      ++s->counters->unauthorized;
    } else {
      try {
        if (s->async_handler) res = co_await s->async_handler(request);
        else res = s->handler(request);
      } catch (const std::exception& e) {
        ++s->counters->handler_errors;
        res = make_http_response(request, http::status::internal_server_error,
                                 fmt::format("{{\"error\":\"internal error\"}}\n"));
        // The method and the target are the peer's bytes, and the exception's text may quote them.
        fmt::print(stderr, "kmslab http: handler failed on {} {}: {}\n",
                   protocol::escape_text(request.method_string(), protocol::TextEscape::for_log),
                   protocol::escape_text(request.target(), protocol::TextEscape::for_log),
                   protocol::escape_text(e.what(), protocol::TextEscape::for_log));
      }
    }
    res.keep_alive(request.keep_alive() && res.keep_alive());
    res.prepare_payload();
    const bool wrote = co_await write_response(socket, res, s->options.write_timeout);
    if (!wrote || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

HttpServer::HttpServer(asio::any_io_executor executor, HttpServerOptions options, HttpHandler handler)
    : executor_(std::move(executor)), options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::HttpServer(asio::any_io_executor executor, HttpServerOptions options, AsyncHttpHandler handler)
    : executor_(std::move(executor)), options_(std::move(options)), async_handler_(std::move(handler)) {}

HttpServer::~HttpServer() { stop(); }

boost::system::result<tcp::endpoint, std::string> HttpServer::start() {
  auto where = parse_endpoint(options_.listen, 0);
  if (!where) return fmt::format("HTTP listen {}", where.error());
  if (auto why = check_listener_token(where->address(), options_.bearer_token); !why.empty())
    return fmt::format("refusing to serve HTTP on {}: {}", options_.listen, why);
  auto shared = std::make_shared<Shared>(Shared{options_, handler_, async_handler_, counters_});
  server_ = TcpServer::create(executor_, {.max_connections = options_.max_connections},
                              [shared](tcp::socket& socket) { return session(shared, socket); });
  auto bound = server_->listen(*where);
  if (!bound) return fmt::format("HTTP: cannot listen on {}: {}", options_.listen, bound.error().message());
  server_->start();
  return *bound;
}

void HttpServer::stop() {
  if (server_) server_->stop();
}

tcp::endpoint HttpServer::endpoint() const {
  if (!server_) return {};
  auto endpoints = server_->endpoints();
  return endpoints.empty() ? tcp::endpoint{} : endpoints.front();
}

}  // namespace kmslab::net
