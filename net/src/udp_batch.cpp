// Batched UDP I/O: recvmmsg / sendmmsg on Linux, one datagram per call elsewhere. See
// udp_batch.hpp.
#include "kmslab/net/udp_batch.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#if defined(__linux__)
#include <sys/socket.h>
#include <sys/uio.h>
#endif

namespace kmslab::net {

#if defined(__linux__)
struct UdpBatch::Native {
  explicit Native(std::size_t slots) : in(slots), in_iov(slots), out(slots), out_iov(slots) {
    std::memset(in.data(), 0, in.size() * sizeof(mmsghdr));
    std::memset(out.data(), 0, out.size() * sizeof(mmsghdr));
  }
  std::vector<mmsghdr> in;
  std::vector<iovec> in_iov;
  std::vector<mmsghdr> out;
  std::vector<iovec> out_iov;
};
#else
struct UdpBatch::Native {
  explicit Native(std::size_t) {}
};
#endif

namespace {

boost::system::error_code last_error() {
  return {errno, asio::error::get_system_category()};
}

}  // namespace

UdpBatch::UdpBatch(std::size_t slots, std::size_t max_datagram)
    : slots_(std::max<std::size_t>(slots, 1)),
      max_datagram_(std::max<std::size_t>(max_datagram, 1)),
      storage_(slots_ * max_datagram_),
      sizes_(slots_, 0),
      truncated_(slots_, 0),
      peers_(slots_),
      native_(std::make_unique<Native>(slots_)) {
#if defined(__linux__)
  // Slot k of the receive arrays always describes buffer k and peer k; only the lengths that
  // recvmmsg overwrites are reset per call.
  for (std::size_t i = 0; i < slots_; ++i) {
    native_->in_iov[i] = iovec{storage_.data() + i * max_datagram_, max_datagram_};
    msghdr& h = native_->in[i].msg_hdr;
    h.msg_iov = &native_->in_iov[i];
    h.msg_iovlen = 1;
    h.msg_name = peers_[i].data();
    h.msg_namelen = static_cast<socklen_t>(peers_[i].capacity());
    native_->out[i].msg_hdr.msg_iov = &native_->out_iov[i];
    native_->out[i].msg_hdr.msg_iovlen = 1;
  }
#endif
}

UdpBatch::~UdpBatch() = default;

asio::mutable_buffer UdpBatch::buffer(std::size_t i) noexcept {
  return asio::buffer(storage_.data() + i * max_datagram_, max_datagram_);
}

void UdpBatch::set_received(std::size_t i, std::size_t size) noexcept {
  sizes_[i] = std::min(size, max_datagram_);
  truncated_[i] = 0;  // Asio reports a cut datagram as an error, never as a short read
}

std::span<const std::uint8_t> UdpBatch::datagram(std::size_t i) const noexcept {
  return {storage_.data() + i * max_datagram_, sizes_[i]};
}

#if defined(__linux__)

std::size_t UdpBatch::receive_queued(udp::socket& socket, std::size_t first, boost::system::error_code& ec) {
  ec = {};
  if (first >= slots_) return 0;
  const std::size_t want = slots_ - first;
  for (std::size_t i = first; i < slots_; ++i) {
    native_->in[i].msg_hdr.msg_namelen = static_cast<socklen_t>(peers_[i].capacity());
    native_->in[i].msg_hdr.msg_flags = 0;
  }
  const int n = ::recvmmsg(socket.native_handle(), native_->in.data() + first, static_cast<unsigned>(want),
                           MSG_DONTWAIT, nullptr);
  if (n < 0) {
    ec = last_error();
    return 0;
  }
  const auto got = static_cast<std::size_t>(n);
  for (std::size_t i = first; i < first + got; ++i) {
    const mmsghdr& m = native_->in[i];
    sizes_[i] = std::min<std::size_t>(m.msg_len, max_datagram_);
    truncated_[i] = (m.msg_hdr.msg_flags & MSG_TRUNC) != 0 ? 1 : 0;
    peers_[i].resize(std::min<std::size_t>(m.msg_hdr.msg_namelen, peers_[i].capacity()));
  }
  return got;
}

std::size_t UdpBatch::send(udp::socket& socket, std::span<const Outgoing> messages, boost::system::error_code& ec) {
  ec = {};
  const std::size_t count = std::min(messages.size(), slots_);
  for (std::size_t k = 0; k < count; ++k) {
    native_->out_iov[k] = iovec{const_cast<void*>(messages[k].data.data()), messages[k].data.size()};
    mmsghdr& m = native_->out[k];
    m.msg_hdr.msg_name = const_cast<sockaddr*>(messages[k].to->data());
    m.msg_hdr.msg_namelen = static_cast<socklen_t>(messages[k].to->size());
  }
  // sendmmsg stops at the first message that fails and reports only how many went before it; a
  // further call starting there returns that message's error. Each round sends at least one
  // message or ends the loop.
  std::size_t done = 0;
  while (done < count) {
    const int n = ::sendmmsg(socket.native_handle(), native_->out.data() + done,
                             static_cast<unsigned>(count - done), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      ec = last_error();
      break;
    }
    if (n == 0) {  // not expected from Linux; report it rather than spin
      ec = asio::error::would_block;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (done < messages.size() && !ec) ec = asio::error::no_buffer_space;  // more messages than slots
  return done;
}

#else  // one datagram per call, through Asio's synchronous operations on a non-blocking socket

std::size_t UdpBatch::receive_queued(udp::socket& socket, std::size_t first, boost::system::error_code& ec) {
  ec = {};
  std::size_t got = 0;
  if (first >= slots_) return 0;
  socket.non_blocking(true, ec);
  if (ec) return 0;
  for (std::size_t i = first; i < slots_; ++i) {
    const std::size_t n = socket.receive_from(buffer(i), peers_[i], 0, ec);
    if (ec) break;
    set_received(i, n);
    ++got;
  }
  if (got > 0) ec = {};
  return got;
}

std::size_t UdpBatch::send(udp::socket& socket, std::span<const Outgoing> messages, boost::system::error_code& ec) {
  ec = {};
  socket.non_blocking(true, ec);
  if (ec) return 0;
  std::size_t done = 0;
  for (; done < messages.size(); ++done) {
    socket.send_to(asio::buffer(messages[done].data), *messages[done].to, 0, ec);
    if (ec) break;
  }
  return done;
}

#endif

}  // namespace kmslab::net
