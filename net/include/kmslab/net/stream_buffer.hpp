// Input buffering for length-framed messages on a stream socket: fill(n) reads until at least n
// bytes are buffered, taking whatever the kernel has with each read, so a message that arrives in
// one segment costs one read instead of one for its header and one for its body, and bytes past
// it wait for the next message. consume() drops a message once handled.
//
// Contract: one owner coroutine; no deadline of its own (pair it with a SocketWatchdog); the
// buffer grows to the largest n asked for, so callers bound n (max PDU size) before asking.
#pragma once

#include "kmslab/net/asio.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace kmslab::net {

class StreamBuffer {
 public:
  // 512 bytes hold a whole KMS request (about 300) and keep an idle connection small.
  explicit StreamBuffer(std::size_t capacity = 512) : storage_(capacity) {}

  std::span<const std::uint8_t> data() const noexcept { return {storage_.data() + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }

  // Reads until size() >= n. Returns the error that stopped it (EOF included); none on success.
  asio::awaitable<boost::system::error_code> fill(tcp::socket& socket, std::size_t n);
  void consume(std::size_t n) noexcept;
  void clear() noexcept { begin_ = end_ = 0; }

 private:
  std::vector<std::uint8_t> storage_;
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace kmslab::net
