#include "kmslab/net/stream_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace kmslab::net {

asio::awaitable<boost::system::error_code> StreamBuffer::fill(tcp::socket& socket, std::size_t n) {
  if (size() >= n) co_return boost::system::error_code{};
  if (begin_ > 0) {
    // Whatever is left is the start of the next message: move it to the front (a few bytes).
    std::memmove(storage_.data(), storage_.data() + begin_, size());
    end_ -= begin_;
    begin_ = 0;
  }
  if (storage_.size() < n) storage_.resize(n);
  while (end_ < n) {
    auto [ec, got] = co_await socket.async_read_some(asio::buffer(storage_.data() + end_, storage_.size() - end_),
                                                     asio::as_tuple(asio::use_awaitable));
    end_ += got;
    if (ec && end_ < n) co_return ec;
  }
  co_return boost::system::error_code{};
}

void StreamBuffer::consume(std::size_t n) noexcept {
  begin_ += std::min(n, size());
  if (begin_ == end_) begin_ = end_ = 0;
}

}  // namespace kmslab::net
