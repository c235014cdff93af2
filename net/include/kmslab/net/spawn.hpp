// Starting detached coroutines without losing their failures.
//
// asio::detached silently drops an exception that escapes a coroutine, and a bare completion
// handler that rethrows takes the whole io_context down. spawn_logged() starts `task` on
// `executor` and hands any escaping exception to `on_error` together with the task's name; the
// default handler prints "kmslab: task '<name>' failed: <what>" to stderr. Normal completion is
// silent. Thread-safe as co_spawn is: the task runs on `executor` (use a strand to serialise).
#pragma once

#include "kmslab/net/asio.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <functional>
#include <string>
#include <string_view>

namespace kmslab::net {

using TaskErrorHandler = std::function<void(std::string_view task, std::exception_ptr error)>;

void spawn_logged(const asio::any_io_executor& executor, asio::awaitable<void> task, std::string name,
                  TaskErrorHandler on_error = {});

// The text of an exception_ptr: what() for std::exception, else "unknown exception".
std::string describe(std::exception_ptr error);

// Runs `task` on a private io_context until it finishes and returns its value, for callers
// without an event loop (the CLI's blocking entry points). An escaping exception is rethrown.
template <typename T>
T run_to_completion(asio::awaitable<T> task) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) out.emplace(std::move(value));
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

// run_to_completion for a task a signal may cut short (the CLI's interruptible batch commands).
// Between slices of the loop, on this thread (so state the task shares is never read while it
// runs), `stop` is checked; once it is set, `on_stop()` is asked for the partial result, and the
// first value it gives is returned while the task's frame is still alive (it may read what the
// task built so far). The task is then dropped with the io_context, not wound down: whatever fails
// while it is cut is the stop's doing, not something to report. on_stop returns std::optional<T>
// (nullopt: no partial result can be drawn yet, keep running).
template <typename T, typename OnStop>
T run_until_stopped(asio::awaitable<T> task, const std::atomic<bool>& stop, OnStop on_stop) {
  constexpr std::chrono::milliseconds kStopPoll{20};
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    done = true;
    failure = e;
    if (!e) out.emplace(std::move(value));
  });
  while (!done) {
    if (stop.load())
      if (std::optional<T> partial = on_stop()) return std::move(*partial);
    io.run_for(kStopPoll);
  }
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

}  // namespace kmslab::net
