#include "kmslab/net/tcp_server.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace kmslab::net {
namespace {

// Echoes one line per read until EOF.
asio::awaitable<void> echo(tcp::socket& socket) {
  std::array<char, 256> buf{};
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    co_await asio::async_write(socket, asio::buffer(buf.data(), n), asio::as_tuple(asio::use_awaitable));
  }
}

class TcpServerTest : public ::testing::Test {
 protected:
  void start(std::size_t max_connections) {
    server_ = TcpServer::create(io_.get_executor(), {.max_connections = max_connections}, echo);
    auto ep = server_->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ASSERT_TRUE(ep);
    endpoint_ = *ep;
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  static std::string roundtrip(tcp::socket& s, const std::string& msg) {
    asio::write(s, asio::buffer(msg));
    std::string out(msg.size(), '\0');
    asio::read(s, asio::buffer(out));
    return out;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::shared_ptr<TcpServer> server_;
  tcp::endpoint endpoint_;
  std::thread thread_;
};

TEST_F(TcpServerTest, ServesSeveralClientsOnEphemeralPort) {
  start(8);
  EXPECT_NE(endpoint_.port(), 0);
  asio::io_context client;
  tcp::socket a(client), b(client);
  a.connect(endpoint_);
  b.connect(endpoint_);
  EXPECT_EQ(roundtrip(a, "hello"), "hello");
  EXPECT_EQ(roundtrip(b, "world"), "world");
  EXPECT_EQ(roundtrip(a, "again"), "again");
}

TEST_F(TcpServerTest, ConnectionsBeyondTheLimitAreClosedWhileOthersKeepWorking) {
  start(2);
  asio::io_context client;
  tcp::socket a(client), b(client), c(client);
  a.connect(endpoint_);
  b.connect(endpoint_);
  EXPECT_EQ(roundtrip(a, "1"), "1");
  EXPECT_EQ(roundtrip(b, "2"), "2");
  c.connect(endpoint_);
  std::array<char, 1> buf{};
  boost::system::error_code ec;
  asio::read(c, asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_EQ(server_->rejected(), 1u);
  EXPECT_EQ(roundtrip(a, "still"), "still");
}

TEST_F(TcpServerTest, StopRefusesNewConnectionsAndEndsSessions) {
  start(8);
  asio::io_context client;
  tcp::socket a(client);
  a.connect(endpoint_);
  EXPECT_EQ(roundtrip(a, "x"), "x");
  server_->stop();
  std::array<char, 1> buf{};
  boost::system::error_code ec;
  asio::read(a, asio::buffer(buf), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  tcp::socket b(client);
  b.connect(endpoint_, ec);
  EXPECT_EQ(ec, asio::error::connection_refused) << ec.message();
}

}  // namespace
}  // namespace kmslab::net
