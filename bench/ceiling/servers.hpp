// The two ceiling servers. Both answer every client exchange of the given shape (read the bind
// request, write the bind reply, read the request, write the reply, repeat until EOF) with
// TCP_NODELAY and no work beyond moving bytes.
// - blocking: one accept thread plus one thread per connection (the classic design; at most
//   kMaxBlockingSessions at once, further connections are closed at accept).
// - epoll: one thread, non-blocking sockets, level-triggered epoll, a small state machine per
//   connection.
// Thread-safety: start() once, then stop() once from the owning thread; counters from anywhere.
#pragma once

#include "exchange.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace kmslab::bench::ceiling {

inline constexpr int kMaxBlockingSessions = 4096;

class Server {
 public:
  virtual ~Server() = default;
  virtual void start() = 0;
  // Closes the listener and every connection, and joins the server's threads.
  virtual void stop() = 0;
  virtual std::uint64_t exchanges() const = 0;
  virtual std::uint64_t connections() const = 0;
};

// Both take ownership of `listen_fd` (from open_listener; the epoll one must be non-blocking).
std::unique_ptr<Server> make_blocking_server(int listen_fd, const ExchangeShape& shape);
std::unique_ptr<Server> make_epoll_server(int listen_fd, const ExchangeShape& shape);

}  // namespace kmslab::bench::ceiling
