#include "kmslab/net/spawn.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <utility>

namespace kmslab::net {

std::string describe(std::exception_ptr error) {
  if (!error) return "no exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

void spawn_logged(const asio::any_io_executor& executor, asio::awaitable<void> task, std::string name,
                  TaskErrorHandler on_error) {
  asio::co_spawn(executor, std::move(task),
                 [name = std::move(name), on_error = std::move(on_error)](std::exception_ptr e) {
                   if (!e) return;
                   if (on_error) {
                     on_error(name, e);
                     return;
                   }
                   fmt::print(stderr, "kmslab: task '{}' failed: {}\n", name, describe(e));
                 });
}

}  // namespace kmslab::net
