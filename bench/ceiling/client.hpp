// The ceiling client: `connections` concurrent connections (spread over `threads` threads, each
// with its own epoll loop), each doing exchange after exchange, closed loop: a new exchange
// starts as soon as the previous one ended. In per-exchange mode every exchange opens a new TCP
// connection (connect, 4 messages, close), as KMS clients do; in keep-alive mode a connection
// is opened once and reused. Bounded by `duration` and/or `count` exchanges; exchanges already
// started then finish (at most `drain` more). Latency is connect (if any) to last reply byte.
#pragma once

#include "exchange.hpp"

#include "kmslab/bench/histogram.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace kmslab::bench::ceiling {

enum class ConnectionMode { per_exchange, keep_alive };

struct ClientOptions {
  LoopbackEndpoint endpoint;
  ExchangeShape shape;
  ConnectionMode mode = ConnectionMode::keep_alive;
  unsigned connections = 16;
  unsigned threads = 1;
  std::chrono::nanoseconds duration{std::chrono::seconds(2)};  // 0: bounded by count only
  std::uint64_t count = 0;                                     // 0: bounded by duration only
  std::chrono::nanoseconds drain{std::chrono::seconds(1)};
};

struct ClientResult {
  std::uint64_t exchanges = 0;
  std::uint64_t connects = 0;
  std::uint64_t unfinished = 0;  // still running when the drain time ran out
  double elapsed_s = 0;          // first exchange start to last completion
  std::map<std::string, std::uint64_t> errors;  // error_kind() -> count
  Histogram latency;
};

ClientResult run_client(const ClientOptions& options);

}  // namespace kmslab::bench::ceiling
