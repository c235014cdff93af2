#include "udp_exchange.hpp"

#include <exception>

namespace kmslab::bench::detail {

namespace asio = net::asio;

struct UdpExchange::Pending {
  explicit Pending(const asio::any_io_executor& executor) : wake(executor, asio::steady_timer::time_point::max()) {}
  asio::steady_timer wake;  // never expires: cancelled to say "result is set"
  std::optional<UdpReply> result;
  std::uint64_t sequence = 0;
};

UdpExchange::UdpExchange(asio::any_io_executor executor, const net::udp::endpoint& server, KeyOf key_of)
    : executor_(std::move(executor)), socket_(executor_), key_of_(std::move(key_of)), buffer_(65536) {
  socket_.open(server.protocol(), open_error_);
  if (!open_error_) socket_.connect(server, open_error_);
}

UdpExchange::~UdpExchange() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

asio::awaitable<UdpReply> UdpExchange::exchange(std::uint64_t key, protocol::ByteSpan datagram) {
  if (open_error_) co_return UdpReply{open_error_, {}};
  Pending pending(executor_);
  pending.sequence = next_sequence_++;
  pending_.emplace(key, &pending);
  order_.emplace(pending.sequence, key);
  if (!receiving_) {
    receiving_ = true;
    asio::co_spawn(executor_, receive_loop(), asio::detached);
  }
  // A pending ICMP error surfaces on whichever call comes next, often this send: then it belongs
  // to the oldest waiting datagram, and ours was not sent. Charge it there and send again
  // (bounded: each retry answers one other waiter).
  for (int retry = 0; !pending.result; ++retry) {
    auto [error, sent] = co_await socket_.async_send(asio::buffer(datagram.data(), datagram.size()),
                                                     asio::as_tuple(asio::use_awaitable));
    (void)sent;
    if (!error || pending.result) break;
    const auto oldest = order_.begin()->second;  // not empty: we are waiting
    if (error == asio::error::connection_refused && oldest != key && retry < 16) {
      deliver(pending_.find(oldest), UdpReply{error, {}});
      continue;
    }
    pending.result = UdpReply{error, {}};
  }
  // The receive loop may have answered while the send completed; waiting then would never end.
  if (!pending.result) co_await pending.wake.async_wait(asio::as_tuple(asio::use_awaitable));
  forget(key, pending);
  if (pending.result) co_return std::move(*pending.result);
  co_return UdpReply{asio::error::operation_aborted, {}};
}

void UdpExchange::deliver(std::unordered_map<std::uint64_t, Pending*>::iterator it, UdpReply reply) {
  Pending& pending = *it->second;
  pending.result = std::move(reply);
  pending.wake.cancel();
  order_.erase(pending.sequence);
  pending_.erase(it);
}

void UdpExchange::forget(std::uint64_t key, Pending& pending) {
  if (auto it = pending_.find(key); it != pending_.end() && it->second == &pending) {
    order_.erase(pending.sequence);
    pending_.erase(it);
  }
  // Nobody waits any more: stop the receive so the io_context can run out of work. No send is
  // outstanding now (every request registers before it sends), so cancel() touches only it.
  if (pending_.empty() && receiving_) {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
}

asio::awaitable<void> UdpExchange::receive_loop() {
  try {
    while (!pending_.empty()) {
      auto [error, n] = co_await socket_.async_receive(asio::buffer(buffer_), asio::as_tuple(asio::use_awaitable));
      if (error == asio::error::operation_aborted) continue;  // the loop condition decides
      if (error) {
        if (!order_.empty()) deliver(pending_.find(order_.begin()->second), UdpReply{error, {}});
        continue;
      }
      const protocol::ByteSpan datagram(buffer_.data(), n);
      const auto key = key_of_(datagram);
      auto it = key ? pending_.find(*key) : pending_.end();
      if (it == pending_.end()) {
        ++stray_;
        continue;
      }
      deliver(it, UdpReply{{}, protocol::Bytes(datagram.begin(), datagram.end())});
    }
  } catch (const std::exception&) {
    // Only allocation can throw here; fail every waiter rather than leave them to the deadline.
    while (!order_.empty())
      deliver(pending_.find(order_.begin()->second), UdpReply{asio::error::no_memory, {}});
  }
  receiving_ = false;
}

}  // namespace kmslab::bench::detail
