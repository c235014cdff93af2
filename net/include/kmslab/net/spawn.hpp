// Starting detached coroutines without losing their failures.
//
// asio::detached silently drops an exception that escapes a coroutine, and a bare completion
// handler that rethrows takes the whole io_context down. spawn_logged() starts `task` on
// `executor` and hands any escaping exception to `on_error` together with the task's name; the
// default handler prints "kmslab: task '<name>' failed: <what>" to stderr. Normal completion is
// silent. Thread-safe as co_spawn is: the task runs on `executor` (use a strand to serialise).
#pragma once

#include "kmslab/net/asio.hpp"

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

}  // namespace kmslab::net
