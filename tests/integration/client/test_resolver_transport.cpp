// The resolver's transport failures on loopback, without a DNS server: silence, closed ports,
// truncation whose TCP retry fails, cancellation and destruction while a query is outstanding.
#include "dns_test_support.hpp"
#include "kmslab/client/resolver.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kmslab::client {
namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using test::run_bounded;

ResolverOptions opts(std::vector<std::string> servers, std::chrono::milliseconds timeout = 2000ms, int tries = 2,
                     bool use_tcp = false) {
  ResolverOptions o;
  o.servers = std::move(servers);
  o.timeout = timeout;
  o.tries = tries;
  o.use_tcp = use_tcp;
  return o;
}

Resolver make(asio::io_context& io, ResolverOptions options) {
  options.seed = 11;
  auto r = Resolver::create(io.get_executor(), std::move(options));
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  return std::move(r).value();
}

TEST(ResolverTransport, SilentServerTimesOutAfterTheConfiguredTime) {
  asio::io_context io;
  test::SilentUdpServer silent(io);
  auto resolver = make(io, opts({silent.server()}, 300ms, 1));
  const auto start = std::chrono::steady_clock::now();
  auto result = run_bounded(io, resolver.query_srv("_vlmcs._tcp.corp.test"));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(result);
  const auto& info = result->info;
  EXPECT_EQ(info.status, ResolveStatus::timeout) << info.detail;
  EXPECT_EQ(info.rcode, -1);
  EXPECT_TRUE(info.server.empty());
  EXPECT_EQ(info.servers_asked, std::vector<std::string>{silent.server()});
  EXPECT_EQ(info.sends, 1);
  EXPECT_EQ(info.timeouts, 1);
  EXPECT_GE(info.elapsed, 250ms);
  EXPECT_LT(took, 3s);
}

TEST(ResolverTransport, TriesRepeatTheQuery) {
  asio::io_context io;
  test::SilentUdpServer silent(io);
  auto resolver = make(io, opts({silent.server()}, 100ms, 3));
  auto result = run_bounded(io, resolver.query_a("kms1.corp.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::timeout);
  EXPECT_EQ(result->info.sends, 3);
  EXPECT_EQ(result->info.timeouts, 3);
  // c-ares doubles the per-try timeout after each pass: 100 + 200 + 400 ms.
  EXPECT_GE(result->info.elapsed, 600ms);
  EXPECT_LT(result->info.elapsed, 5s);
}

TEST(ResolverTransport, ClosedUdpPortIsConnectionRefused) {
  asio::io_context io;
  const auto closed = test::closed_loopback_server();
  auto resolver = make(io, opts({closed}, 2000ms, 1));
  auto result = run_bounded(io, resolver.query_srv("_vlmcs._tcp.corp.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::connection_refused) << result->info.detail;
  EXPECT_EQ(result->info.timeouts, 0);
  EXPECT_LT(result->info.elapsed, 1500ms) << "ICMP port unreachable should end it before the timeout";
}

TEST(ResolverTransport, ClosedTcpPortIsConnectionRefused) {
  asio::io_context io;
  const auto closed = test::closed_loopback_server();
  auto resolver = make(io, opts({closed}, 2000ms, 1, true));
  auto result = run_bounded(io, resolver.query_srv("_vlmcs._tcp.corp.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::connection_refused) << result->info.detail;
  EXPECT_LT(result->info.elapsed, 1500ms);
}

TEST(ResolverTransport, TcpServerThatClosesWithoutAnsweringIsConnectionClosed) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  const auto server = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  int accepted = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 4; ++i) {  // bounded: accept, read a little, hang up
          auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          ++accepted;
          std::array<char, 64> buf{};
          co_await socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
          socket.close();
        }
      },
      asio::detached);
  auto resolver = make(io, opts({server}, 1000ms, 1, true));
  auto result = run_bounded(io, resolver.query_srv("_vlmcs._tcp.corp.test"), 5s);
  acceptor.close();
  ASSERT_TRUE(result);
  EXPECT_GE(accepted, 1);
  EXPECT_EQ(result->info.status, ResolveStatus::connection_closed) << result->info.detail;
  EXPECT_EQ(result->info.servers_asked, std::vector<std::string>{server});
}

TEST(ResolverTransport, TruncatedAnswerWithTcpClosedIsTruncatedTcpFailed) {
  asio::io_context io;
  test::TruncatingUdpServer truncating(io);
  auto resolver = make(io, opts({truncating.server()}, 1000ms, 1));
  auto result = run_bounded(io, resolver.query_srv("_vlmcs._tcp.corp.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(truncating.answered(), 1);
  EXPECT_TRUE(result->info.truncated_udp);
  EXPECT_EQ(result->info.status, ResolveStatus::truncated_tcp_failed) << result->info.detail;
  EXPECT_LT(result->info.elapsed, 1000ms);
}

TEST(ResolverTransport, LosingARaceAgainstATimerCancelsTheQuery) {
  asio::io_context io;
  test::SilentUdpServer silent(io);
  auto resolver = make(io, opts({silent.server()}, 2000ms, 1));
  auto race = [&]() -> asio::awaitable<int> {
    asio::steady_timer deadline(io, 50ms);
    auto winner = co_await (resolver.query_srv("_vlmcs._tcp.corp.test") || deadline.async_wait(asio::use_awaitable));
    co_return static_cast<int>(winner.index());
  };
  const auto start = std::chrono::steady_clock::now();
  std::optional<int> winner;
  asio::co_spawn(io, race(), [&](std::exception_ptr e, int w) {
    if (!e) winner = w;
    // Measured when the race ends, before c-ares' own timeout of the abandoned query.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  });
  io.run_for(5s);
  ASSERT_TRUE(winner);
  EXPECT_EQ(*winner, 1) << "the timer should win";
  EXPECT_EQ(resolver.outstanding(), 0u) << "c-ares let go of the query after its own timeout";
}

TEST(ResolverTransport, DestroyingTheResolverCompletesOutstandingQueriesAsCancelled) {
  asio::io_context io;
  test::SilentUdpServer silent(io);
  auto resolver = std::make_unique<Resolver>(make(io, opts({silent.server()}, 5000ms, 1)));
  std::optional<ResolveStatus> status;
  asio::co_spawn(io, resolver->query_a("kms1.corp.test"), [&](std::exception_ptr e, AddressResult r) {
    if (!e) status = r.info.status;
  });
  asio::steady_timer later(io, 50ms);
  later.async_wait([&](boost::system::error_code) { resolver.reset(); });
  const auto start = std::chrono::steady_clock::now();
  io.run_for(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, ResolveStatus::cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(ResolverTransport, InvalidNameIsBadNameWithoutTraffic) {
  asio::io_context io;
  test::SilentUdpServer silent(io);
  auto resolver = make(io, opts({silent.server()}, 300ms, 1));
  auto result = run_bounded(io, resolver.query_srv(std::string(64, 'a') + ".corp.test"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->info.status, ResolveStatus::bad_name) << result->info.detail;
  EXPECT_EQ(result->info.sends, 0);
}

TEST(ResolverTransport, DefaultServersComeFromResolvConf) {
  const auto path = std::filesystem::temp_directory_path() / ("kmslab-resolv-" + std::to_string(::getpid()) + ".conf");
  {
    std::ofstream out(path);
    out << "# test\nnameserver 127.0.0.53\nnameserver ::1\n";
  }
  asio::io_context io;
  ResolverOptions options;
  options.resolv_conf = path.string();
  auto resolver = make(io, options);
  EXPECT_EQ(resolver.servers(), (std::vector<std::string>{"127.0.0.53:53", "[::1]:53"}));
  std::filesystem::remove(path);
}

TEST(ResolverTransport, ExplicitServersKeepTheirOrderAndPorts) {
  asio::io_context io;
  auto resolver = make(io, opts({"127.0.0.1:5353", "[::1]:5354", "127.0.0.2"}));
  EXPECT_EQ(resolver.servers(), (std::vector<std::string>{"127.0.0.1:5353", "[::1]:5354", "127.0.0.2:53"}));
}

TEST(ResolverTransport, CreateRejectsBadOptions) {
  asio::io_context io;
  auto bad_server = Resolver::create(io.get_executor(), opts({"kms.corp.test:53"}));
  ASSERT_FALSE(bad_server);
  EXPECT_EQ(bad_server.error().code, protocol::Errc::bad_value);
  auto bad_tries = Resolver::create(io.get_executor(), opts({"127.0.0.1"}, 2000ms, 0));
  ASSERT_FALSE(bad_tries);
  auto bad_timeout = Resolver::create(io.get_executor(), opts({"127.0.0.1"}, 0ms));
  ASSERT_FALSE(bad_timeout);
}

}  // namespace
}  // namespace kmslab::client
