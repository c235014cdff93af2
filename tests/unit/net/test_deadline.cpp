// Contracts of the reusable coroutine helpers: with_timeout, sleep_unless, spawn_logged.
#include "kmslab/net/deadline.hpp"
#include "kmslab/net/spawn.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kmslab::net {
namespace {

using namespace std::chrono_literals;

// Runs `task` to completion on a fresh io_context (bounded: the io_context is stopped after 5 s).
template <class F>
void run_task(F task) {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, task(), [&](std::exception_ptr e) { failure = e; });
  io.run_for(5s);
  if (failure) std::rethrow_exception(failure);
}

TEST(WithTimeout, ReturnsTheResultWhenTheOperationWins) {
  run_task([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer quick(ex, 10ms);
    const auto start = std::chrono::steady_clock::now();
    auto r = co_await with_timeout(quick.async_wait(asio::as_tuple(asio::use_awaitable)), 2s);
    EXPECT_TRUE(r.has_value());
    EXPECT_FALSE(std::get<0>(*r));  // the operation's own error_code: success
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // the 2 s timer did not hold us
  });
}

TEST(WithTimeout, CancelsTheOperationWhenTheDeadlinePasses) {
  run_task([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    tcp::acceptor acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(ex);
    co_await client.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    auto server = co_await acceptor.async_accept(asio::use_awaitable);
    std::array<char, 4> buf{};
    const auto start = std::chrono::steady_clock::now();
    auto r = co_await with_timeout(server.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable)), 50ms);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.has_value());  // nobody wrote
    EXPECT_GE(took, 45ms);
    EXPECT_LT(took, 2s);
  });
}

TEST(WithTimeout, VoidFormAndExceptionsPropagate) {
  run_task([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer slow(ex, 10s);
    EXPECT_FALSE(co_await with_timeout(slow.async_wait(asio::use_awaitable), 20ms));
    asio::steady_timer quick(ex, 1ms);
    EXPECT_TRUE(co_await with_timeout(quick.async_wait(asio::use_awaitable), 2s));
    auto thrower = []() -> asio::awaitable<int> {
      throw std::runtime_error("boom");
      co_return 1;
    };
    bool caught = false;
    try {
      (void)co_await with_timeout(thrower(), 1s);
    } catch (const std::runtime_error&) {
      caught = true;
    }
    EXPECT_TRUE(caught);
  });
}

TEST(SleepUnless, StopEventCutsTheSleepShort) {
  run_task([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto stop = make_stop_event(ex);
    EXPECT_TRUE(co_await sleep_unless(5ms, stop));  // never cancelled: the full sleep
    asio::steady_timer trigger(ex, 20ms);
    trigger.async_wait([&](boost::system::error_code) { stop.cancel(); });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(co_await sleep_unless(10s, stop));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  });
}

TEST(SpawnLogged, HandsEscapingExceptionsToTheHandler) {
  asio::io_context io;
  std::string task_name, what;
  int calls = 0;
  spawn_logged(
      io.get_executor(),
      []() -> asio::awaitable<void> {
        throw std::runtime_error("session exploded");
        co_return;
      }(),
      "dns tcp session",
      [&](std::string_view name, std::exception_ptr e) {
        ++calls;
        task_name = name;
        what = describe(e);
      });
  spawn_logged(io.get_executor(), []() -> asio::awaitable<void> { co_return; }(), "quiet", [&](auto, auto) { ++calls; });
  io.run_for(5s);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(task_name, "dns tcp session");
  EXPECT_EQ(what, "session exploded");
  EXPECT_EQ(describe(nullptr), "no exception");
}

}  // namespace
}  // namespace kmslab::net
