// Deadlines for coroutine I/O: race an operation with a steady_timer (Asio 1.26 has no
// cancel_after), so every network await in kmslab can be bounded in time.
//
// Contract of with_timeout(op, timeout): it awaits `op` and a timer together, on the calling
// coroutine's executor. If `op` completes first its result is returned and the timer is
// cancelled; if the timer fires first `op` is cancelled (per-operation cancellation, which Asio's
// sockets and timers support) and nullopt / false is returned. Either way, both have completed
// when with_timeout returns, so buffers the op uses may be released. An exception thrown by `op`
// propagates; use as_tuple(use_awaitable) to get I/O errors as values instead.
//
// sleep_unless(duration, stop) waits for `duration` unless the timer `stop`, used as an event that
// never expires on its own, is cancelled first (e.g. by a server's stop()); it returns true when
// the full duration elapsed.
#pragma once

#include "kmslab/net/asio.hpp"

#include <chrono>
#include <optional>
#include <utility>

namespace kmslab::net {

using Duration = std::chrono::steady_clock::duration;

// REQUIRES: T is default-constructible (the parallel group holds a slot for each result).
template <class T>
asio::awaitable<std::optional<T>> with_timeout(asio::awaitable<T> op, Duration timeout) {
  // Not awaitable_operators' `||`: it waits for the first *successful* completion, so an op that
  // throws would be reported as a timeout once the timer fires.
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);
  auto [order, error, value, timer_ec] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, std::move(op), asio::deferred),
                                                       timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)timer_ec;
  if (order[0] != 0) co_return std::nullopt;
  if (error) std::rethrow_exception(error);
  co_return std::optional<T>(std::move(value));
}

// The void form: true when `op` completed within `timeout`.
asio::awaitable<bool> with_timeout(asio::awaitable<void> op, Duration timeout);

// A timer that never expires by itself, for use as the `stop` event of sleep_unless().
asio::steady_timer make_stop_event(const asio::any_io_executor& executor);

asio::awaitable<bool> sleep_unless(Duration duration, asio::steady_timer& stop);

}  // namespace kmslab::net
