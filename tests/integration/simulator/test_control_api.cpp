// The control API over real HTTP on loopback (a plain Beast client), driving a running site:
// faults added and removed, listeners switched, counters and reset, errors, limits and the token.
#include "dns_test_util.hpp"
#include "fault_test_util.hpp"

#include "kmslab/protocol/utf16.hpp"
#include "kmslab/simulator/control_api.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

namespace kmslab::test {
namespace {

namespace http = boost::beast::http;
namespace asio = net::asio;
using nlohmann::json;

struct HttpResult {
  int status = 0;  // 0: no response within the deadline
  json body;
  http::response<http::string_body> raw;
};

// One request per call unless `socket` is given (keep-alive); every wait bounded by `timeout`.
class HttpClient {
 public:
  explicit HttpClient(net::tcp::endpoint server) : server_(server), socket_(io_) {}

  HttpResult call(http::verb method, const std::string& target, const std::string& body = "",
                  const std::string& token = "", Millis timeout = 2000ms) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    HttpResult result;
    boost::beast::flat_buffer buffer;
    auto read = [&] {
      http::async_write(socket_, req, [&](boost::system::error_code ec, std::size_t) {
        if (ec) return;
        http::async_read(socket_, buffer_, result.raw, [&](boost::system::error_code rec, std::size_t) {
          if (!rec) result.status = static_cast<int>(result.raw.result_int());
        });
      });
    };
    if (!socket_.is_open()) {
      socket_.async_connect(server_, [&](boost::system::error_code ec) {
        if (!ec) read();
      });
    } else {
      read();
    }
    io_.restart();
    io_.run_for(timeout);
    if (result.status) result.body = json::parse(result.raw.body(), nullptr, false);
    return result;
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  net::tcp::endpoint server_;
  asio::io_context io_;
  net::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

class ControlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_unique<simulator::ControlApi>(*site_);
    auto started = api_->start(site_.io().get_executor());
    ASSERT_TRUE(started) << started.error();
    endpoint_ = *started;
  }
  void TearDown() override { api_->stop(); }
  HttpResult call(http::verb method, const std::string& target, const std::string& body = "") {
    HttpClient client(endpoint_);
    return client.call(method, target, body);
  }

  RunningSite site_{lab_site()};
  std::unique_ptr<simulator::ControlApi> api_;
  net::tcp::endpoint endpoint_;
};

TEST_F(ControlApiTest, HealthAndActions) {
  EXPECT_TRUE(endpoint_.address().is_loopback());
  auto health = call(http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body["status"], "ok");
  auto actions = call(http::verb::get, "/actions");
  EXPECT_EQ(actions.status, 200);
  EXPECT_EQ(actions.body["actions"].size(), simulator::registered_actions().size());
}

TEST_F(ControlApiTest, AddListGetDeleteFaultsWhileTheSiteServes) {
  auto added = call(http::verb::post, "/faults",
                    R"({"name": "deny", "target": "kms", "host": "kms1", "action": "hresult",
                        "params": {"hresult": "0xC004F042"}})");
  ASSERT_EQ(added.status, 201) << added.raw.body();
  EXPECT_EQ(added.body["name"], "deny");
  EXPECT_EQ(added.body["applied"], 0);
  auto x = kms_exchange(site_.kms_port(), make_test_request(protocol::kKmsV6));
  ASSERT_TRUE(x.stub) << x.describe();
  EXPECT_EQ(x.stub->hresult, 0xC004F042u) << "the fault acts on live traffic";

  auto list = call(http::verb::get, "/faults");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["faults"].size(), 1u);
  EXPECT_EQ(list.body["faults"][0]["applied"], 1);
  EXPECT_EQ(call(http::verb::get, "/faults/deny").body["action"], "hresult");

  auto unnamed = call(http::verb::post, "/faults", R"({"target": "sntp", "action": "drop"})");
  ASSERT_EQ(unnamed.status, 201);
  EXPECT_EQ(unnamed.body["name"], "drop-1");

  EXPECT_EQ(call(http::verb::delete_, "/faults/deny").status, 200);
  EXPECT_EQ(call(http::verb::delete_, "/faults/deny").status, 404);
  EXPECT_TRUE(kms_exchange(site_.kms_port(), make_test_request(protocol::kKmsV6)).activated());
  auto cleared = call(http::verb::delete_, "/faults");
  EXPECT_EQ(cleared.body["removed"], 1);
  EXPECT_TRUE(call(http::verb::get, "/faults").body["faults"].empty());
}

TEST_F(ControlApiTest, BadFaultsAreRejectedWithTheField) {
  auto typo = call(http::verb::post, "/faults", R"({"target": "dns", "action": "nxdomian"})");
  EXPECT_EQ(typo.status, 400);
  EXPECT_EQ(typo.body["field"], "action");
  EXPECT_NE(typo.body["error"].get<std::string>().find("did you mean 'nxdomain'"), std::string::npos);
  auto param = call(http::verb::post, "/faults", R"({"target": "kms", "action": "delay", "params": {"delay_ms": "x"}})");
  EXPECT_EQ(param.status, 400);
  EXPECT_EQ(param.body["field"], "params.delay_ms");
  auto host = call(http::verb::post, "/faults", R"({"target": "kms", "host": "kms9", "action": "silence"})");
  EXPECT_EQ(host.status, 400);
  EXPECT_EQ(host.body["field"], "host");
  EXPECT_EQ(call(http::verb::post, "/faults", "{not json").status, 400);
  EXPECT_EQ(call(http::verb::post, "/faults", "[1]").status, 400);
  ASSERT_EQ(call(http::verb::post, "/faults", R"({"name": "a", "target": "sntp", "action": "drop"})").status, 201);
  EXPECT_EQ(call(http::verb::post, "/faults", R"({"name": "a", "target": "sntp", "action": "drop"})").status, 409);
  EXPECT_EQ(call(http::verb::get, "/nowhere").status, 404);
  auto wrong = call(http::verb::put, "/faults");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(std::string(wrong.raw[http::field::allow]), "GET, POST, DELETE");
}

// The body goes through the same JSON door as every JSON file input: a syntax error names line and
// column, and nesting past config::kMaxJsonDepth is refused before the parser builds anything.
TEST_F(ControlApiTest, BadJsonBodiesAreLocatedAndNestingIsCapped) {
  auto broken = call(http::verb::post, "/faults", "{\"target\": \"dns\",\n \"action\": }");
  EXPECT_EQ(broken.status, 400);
  EXPECT_NE(broken.body["error"].get<std::string>().find("request body:2:12: not valid JSON"), std::string::npos)
      << broken.raw.body();
  const std::string deep = "{\"params\": " + std::string(5000, '[') + std::string(5000, ']') + "}";
  auto nested = call(http::verb::post, "/faults", deep);
  EXPECT_EQ(nested.status, 400);
  EXPECT_NE(nested.body["error"].get<std::string>().find("nested deeper than 64"), std::string::npos)
      << nested.raw.body();
}

TEST_F(ControlApiTest, ListenersSwitchAtRuntime) {
  auto filtered = call(http::verb::put, "/listeners/kms1", R"({"state": "filtered"})");
  ASSERT_EQ(filtered.status, 200) << filtered.raw.body();
  EXPECT_EQ(filtered.body["effective"], "filtered");
  ASSERT_TRUE(eventually([&] { return site_->kms_host("kms1")->listener_state() == simulator::ListenerState::filtered; }));
  RawTcp c;
  EXPECT_EQ(c.connect(site_.kms_port(), 300ms), ConnectOutcome::timed_out);
  c.close();
  EXPECT_EQ(call(http::verb::get, "/listeners").body["kms1"], "filtered");
  ASSERT_EQ(call(http::verb::put, "/listeners/kms1", R"({"state": "refused"})").status, 200);
  ASSERT_TRUE(eventually([&] { return site_->kms_host("kms1")->listener_state() == simulator::ListenerState::refused; }));
  RawTcp r;
  EXPECT_EQ(r.connect(site_.kms_port(), 1000ms), ConnectOutcome::refused);
  ASSERT_EQ(call(http::verb::put, "/listeners/kms1", R"({"state": "open"})").status, 200);
  ASSERT_TRUE(eventually([&] { return site_->kms_host("kms1")->listener_state() == simulator::ListenerState::open; }));
  EXPECT_TRUE(kms_exchange(site_.kms_port(), make_test_request(protocol::kKmsV6)).activated());
  EXPECT_EQ(call(http::verb::put, "/listeners/kms9", R"({"state": "open"})").status, 404);
  EXPECT_EQ(call(http::verb::put, "/listeners/kms1", R"({"state": "closed"})").status, 400);
}

// A listener state turns connects away where only the kernel sees them (no nftables rule outside
// a kmslab namespace): the listing says since when it holds and that the count is unknown, null,
// never a 0 that reads as "did nothing".
TEST_F(ControlApiTest, ListenerFaultsSayHowLongTheyHoldAndThatTheirCountIsUnseen) {
  for (const char* action : {"refused", "filtered"}) {
    SCOPED_TRACE(action);
    const auto body = fmt::format(R"({{"name": "wall", "target": "kms", "host": "kms1", "action": "{}"}})", action);
    ASSERT_EQ(call(http::verb::post, "/faults", body).status, 201);
    const auto state = std::string(action) == "refused" ? simulator::ListenerState::refused : simulator::ListenerState::filtered;
    ASSERT_TRUE(eventually([&] { return site_->kms_host("kms1")->listener_state() == state; }));
    RawTcp c;
    EXPECT_NE(c.connect(site_.kms_port(), 300ms), ConnectOutcome::connected);
    c.close();
    for (const auto& listed : {call(http::verb::get, "/faults").body["faults"][0], call(http::verb::get, "/faults/wall").body,
                               call(http::verb::get, "/counters").body["faults"][0]}) {
      EXPECT_TRUE(listed["matched"].is_null()) << listed.dump();
      EXPECT_TRUE(listed["applied"].is_null()) << listed.dump();
      EXPECT_TRUE(listed["turned_away"].is_null()) << listed.dump();
      EXPECT_NE(listed.value("unseen", std::string()).find("unseen by userspace"), std::string::npos) << listed.dump();
      ASSERT_TRUE(listed["active_s"].is_number()) << listed.dump();
      EXPECT_GE(listed["active_s"].get<double>(), 0.0);
      ASSERT_TRUE(listed["active_since"].is_string()) << listed.dump();
      EXPECT_TRUE(listed["active_since"].get<std::string>().ends_with("Z")) << listed.dump();
    }
    ASSERT_EQ(call(http::verb::delete_, "/faults/wall").status, 200);
    ASSERT_TRUE(eventually([&] { return site_->kms_host("kms1")->listener_state() == simulator::ListenerState::open; }));
  }
  // Per-event faults keep plain numbers.
  ASSERT_EQ(call(http::verb::post, "/faults", R"({"name": "n", "target": "dns", "action": "nxdomain"})").status, 201);
  const auto plain = call(http::verb::get, "/faults/n").body;
  EXPECT_EQ(plain["applied"], 0);
  EXPECT_FALSE(plain.contains("active_s"));
}

TEST_F(ControlApiTest, CountersAndReset) {
  ASSERT_EQ(call(http::verb::post, "/faults", R"({"name": "n", "target": "dns", "action": "nxdomain"})").status, 201);
  ASSERT_TRUE(kms_exchange(site_.kms_port(), make_test_request(protocol::kKmsV6)).activated());
  auto query = protocol::dns::encode(protocol::dns::make_query(1, *protocol::dns::Name::parse("x.lab.test."),
                                                               protocol::dns::Type::a)).value();
  ASSERT_TRUE(udp_exchange(site_->dns()->udp_endpoint().port(), query));
  auto counters = call(http::verb::get, "/counters");
  ASSERT_EQ(counters.status, 200);
  EXPECT_EQ(counters.body["kms"]["kms1"]["activations"], 1);
  EXPECT_EQ(counters.body["dns"]["queries_udp"], 1);
  EXPECT_EQ(counters.body["faults"][0]["applied"], 1);
  EXPECT_EQ(counters.body["listeners"]["kms1"], "open");

  EXPECT_EQ(call(http::verb::post, "/reset").status, 200);
  counters = call(http::verb::get, "/counters");
  EXPECT_EQ(counters.body["kms"]["kms1"]["activations"], 0);
  EXPECT_EQ(counters.body["dns"]["queries_udp"], 0);
  EXPECT_TRUE(counters.body["faults"].empty());
  ASSERT_TRUE(kms_exchange(site_.kms_port(), make_test_request(protocol::kKmsV6)).activated());
  EXPECT_EQ(call(http::verb::get, "/counters").body["kms"]["kms1"]["activations"], 1) << "counting resumes from zero";
}

TEST_F(ControlApiTest, KeepAliveAndBodyLimit) {
  HttpClient client(endpoint_);
  EXPECT_EQ(client.call(http::verb::get, "/healthz").status, 200);
  EXPECT_EQ(client.call(http::verb::get, "/faults").status, 200) << "second request on the same connection";
  client.close();
  std::string big = R"({"target": "sntp", "action": "drop", "name": ")" + std::string(70 * 1024, 'a') + "\"}";
  EXPECT_EQ(call(http::verb::post, "/faults", big).status, 413);
}

// Sends `request` as raw bytes (a client library would refuse a path that is not UTF-8) and
// returns everything the server answers until it closes (the request says Connection: close);
// bounded in reads and by each read's deadline.
std::string raw_exchange(std::uint16_t port, std::string_view request) {
  RawTcp tcp;
  if (tcp.connect(port, 2000ms) != ConnectOutcome::connected) return {};
  tcp.send(protocol::Bytes(request.begin(), request.end()));
  protocol::Bytes got;
  for (int reads = 0; reads < 64; ++reads) {
    auto r = tcp.read_exact(4096, 2000ms);
    got.insert(got.end(), r.bytes.begin(), r.bytes.end());
    if (r.status != ReadStatus::ok) break;
  }
  return std::string(got.begin(), got.end());
}

// A path with raw bytes that are not UTF-8 is the client's fault (400), never a 500, and the
// answer is JSON a client can parse.
TEST_F(ControlApiTest, NonUtf8PathIsA400NotA500) {
  for (const std::string_view target : {"/faults/\xFF\xFE", "/listeners/kms\xC3", "/\xFF"}) {
    ::testing::internal::CaptureStderr();
    const auto answer = raw_exchange(endpoint_.port(), fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target));
    const auto err = ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
    const auto body = json::parse(answer.substr(answer.find("\r\n\r\n") + 4), nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << answer;
    EXPECT_NE(body["error"].get<std::string>().find("not UTF-8"), std::string::npos) << answer;
    EXPECT_EQ(protocol::find_invalid_utf8(err), std::string_view::npos) << err;
  }
  EXPECT_EQ(call(http::verb::get, "/healthz").status, 200);
}

// A handler that fails logs the request, with the peer's bytes escaped: no raw byte that is not
// UTF-8, and no line end of the peer's that would forge a log line of its own (an exception's
// text may well quote the request).
TEST(HttpServerLog, PeerBytesInTheFailureLogAreEscaped) {
  asio::io_context io;
  net::HttpServer server(io.get_executor(), net::HttpServerOptions{},
                         [](const net::HttpRequest& req) -> net::HttpResponse {
                           throw std::runtime_error("no such thing: " + std::string(req.target()) +
                                                    " \\ \nkmslab http: forged");
                         });
  auto bound = server.start();
  ASSERT_TRUE(bound) << bound.error();
  std::thread loop([&io] { io.run_for(10s); });
  ::testing::internal::CaptureStderr();
  const auto answer = raw_exchange(bound->port(), "GET /a\xFF HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  server.stop();
  io.stop();
  loop.join();
  const auto err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 500 ")) << answer;
  EXPECT_NE(err.find("GET /a\\xff: no such thing: /a\\xff \\\\ \\x0akmslab http: forged\n"), std::string::npos) << err;
  EXPECT_EQ(protocol::find_invalid_utf8(err), std::string_view::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(ControlApiToken, RequiredOffLoopbackAndCheckedOnEveryRequest) {
  RunningSite site{lab_site()};
  simulator::ControlApi open_wide(*site, {.listen = "0.0.0.0:0", .token = "", .body_limit = 1024, .max_connections = 64, .read_timeout = std::chrono::milliseconds{5000}, .metrics = {}});
  auto refused = open_wide.start(site.io().get_executor());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("token"), std::string::npos) << refused.error();

  simulator::ControlApi guarded(*site, {.listen = "127.0.0.1:0", .token = "s3cret-0123456789", .body_limit = 1024, .max_connections = 64, .read_timeout = std::chrono::milliseconds{5000}, .metrics = {}});
  auto started = guarded.start(site.io().get_executor());
  ASSERT_TRUE(started) << started.error();
  HttpClient anonymous(*started);
  auto denied = anonymous.call(http::verb::get, "/faults");
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(std::string(denied.raw[http::field::www_authenticate]), "Bearer");
  HttpClient wrong(*started);
  EXPECT_EQ(wrong.call(http::verb::get, "/faults", "", "s3creT-0123456789").status, 401);
  HttpClient right(*started);
  EXPECT_EQ(right.call(http::verb::get, "/faults", "", "s3cret-0123456789").status, 200);
  guarded.stop();
}

// One rule for every listener that takes a token: beyond loopback one is required; a token, where
// given, has at least 16 characters and no whitespace (refused before anything binds).
TEST(ListenerToken, RequiredBeyondLoopbackAndNeverWeak) {
  const auto loopback = net::asio::ip::make_address("127.0.0.1");
  const auto wide = net::asio::ip::make_address("0.0.0.0");
  EXPECT_EQ(net::check_listener_token(loopback, ""), "");
  EXPECT_EQ(net::check_listener_token(wide, "0123456789abcdef"), "");
  EXPECT_NE(net::check_listener_token(wide, "").find("not a loopback address"), std::string::npos);
  for (const std::string_view weak : {"x", " ", "0123456789abcde", "0123456789 abcdef", "0123456789abcdef\n",
                                      "\t0123456789abcdef"}) {
    EXPECT_NE(net::check_listener_token(wide, weak).find("at least 16 characters with no whitespace"),
              std::string::npos)
        << weak;
    EXPECT_NE(net::check_listener_token(loopback, weak), "") << weak;
  }

  RunningSite site{lab_site()};
  simulator::ControlApi weak(*site, {.listen = "127.0.0.1:0", .token = "s3cret", .body_limit = 1024, .max_connections = 64, .read_timeout = std::chrono::milliseconds{5000}, .metrics = {}});
  auto refused = weak.start(site.io().get_executor());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("at least 16 characters"), std::string::npos) << refused.error();
}

// RFC 9110 section 11.1: the authentication scheme is case-insensitive.
TEST(ListenerToken, BearerSchemeMatchesInAnyCase) {
  RunningSite site{lab_site()};
  const std::string token = "case-test-0123456789";
  simulator::ControlApi api(*site, {.listen = "127.0.0.1:0", .token = token, .body_limit = 1024, .max_connections = 64, .read_timeout = std::chrono::milliseconds{5000}, .metrics = {}});
  auto started = api.start(site.io().get_executor());
  ASSERT_TRUE(started) << started.error();
  for (const std::string scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    const auto answer = raw_exchange(started->port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                                                          scheme + " " + token + "\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 ")) << scheme << ": " << answer;
  }
  for (const std::string& wrong : {"Basic " + token, "Bearer" + token, "Bearers " + token}) {
    const auto answer = raw_exchange(started->port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                                                          wrong + "\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 401 ")) << wrong << ": " << answer;
  }
  api.stop();
}

TEST(ConstantTimeEqual, ComparesWholeStrings) {
  EXPECT_TRUE(net::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(net::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(net::constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(net::constant_time_equal("", ""));
}

}  // namespace
}  // namespace kmslab::test
