#include "kmslab/net/deadline.hpp"

namespace kmslab::net {

asio::awaitable<bool> with_timeout(asio::awaitable<void> op, Duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto result = co_await (std::move(op) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  co_return result.index() == 0;
}

asio::steady_timer make_stop_event(const asio::any_io_executor& executor) {
  return asio::steady_timer(executor, asio::steady_timer::time_point::max());
}

asio::awaitable<bool> sleep_unless(Duration duration, asio::steady_timer& stop) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  auto result = co_await (timer.async_wait(asio::as_tuple(asio::use_awaitable)) ||
                          stop.async_wait(asio::as_tuple(asio::use_awaitable)));
  co_return result.index() == 0;
}

}  // namespace kmslab::net
