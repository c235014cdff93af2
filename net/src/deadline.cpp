#include "kmslab/net/deadline.hpp"

namespace kmslab::net {

asio::awaitable<bool> with_timeout(asio::awaitable<void> op, Duration timeout) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);
  auto [order, error, timer_ec] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, std::move(op), asio::deferred),
                                                       timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)timer_ec;
  if (order[0] != 0) co_return false;
  if (error) std::rethrow_exception(error);
  co_return true;
}

asio::steady_timer make_stop_event(const asio::any_io_executor& executor) {
  return asio::steady_timer(executor, asio::steady_timer::time_point::max());
}

asio::awaitable<bool> sleep_unless(Duration duration, asio::steady_timer& stop) {
  // `||` is fine here: with as_tuple neither side throws, so the first to complete wins.
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  auto result = co_await (timer.async_wait(asio::as_tuple(asio::use_awaitable)) ||
                          stop.async_wait(asio::as_tuple(asio::use_awaitable)));
  co_return result.index() == 0;
}

}  // namespace kmslab::net
