// Test helpers for the DNS responder: run it on its own thread, talk to it over plain POSIX
// sockets (UDP and TCP, loopback, every wait bounded by poll()), and run the real `dig`.
#pragma once

#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/simulator/dns_responder.hpp"
#include "dig_run.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

namespace kmslab::test {

using namespace std::chrono_literals;
using protocol::Bytes;
using Millis = std::chrono::milliseconds;

// The responder on 127.0.0.1, an ephemeral port, served by one io_context on its own thread.
class RunningDns {
 public:
  explicit RunningDns(simulator::ZoneSet zones, simulator::DnsResponderConfig config = {})
      : responder_(io_.get_executor(), std::move(zones), std::move(config)) {
    const auto ec = responder_.start();
    if (ec) throw std::runtime_error("dns responder start: " + ec.message());
    thread_ = std::thread([this] {
      io_.run();
      finished_ = true;
    });
  }
  ~RunningDns() {
    responder_.stop();
    for (int i = 0; i < 100 && !finished_; ++i) std::this_thread::sleep_for(20ms);
    if (!finished_) {
      ADD_FAILURE() << "responder coroutines still running 2 s after stop()";
      io_.stop();
    }
    thread_.join();
  }
  simulator::DnsResponder& responder() { return responder_; }
  std::uint16_t port() const { return responder_.port(); }
  const simulator::DnsCounters& counters() const { return responder_.counters(); }

 private:
  net::asio::io_context io_;
  simulator::DnsResponder responder_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

inline sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

inline bool wait_readable(int fd, Millis timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

// Sends one datagram; returns the reply, or nullopt when none came within `timeout`.
inline std::optional<Bytes> udp_exchange(std::uint16_t port, const Bytes& query, Millis timeout = 2000ms) {
  Fd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  const auto to = loopback(port);
  if (::sendto(fd.get(), query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
    return std::nullopt;
  if (!wait_readable(fd.get(), timeout)) return std::nullopt;
  Bytes buf(65536);
  const auto n = ::recv(fd.get(), buf.data(), buf.size(), 0);
  if (n < 0) return std::nullopt;
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

class TcpClient {
 public:
  explicit TcpClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    const auto to = loopback(port);
    connected_ = ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0;
  }
  bool connected() const { return connected_; }

  bool send_raw(const Bytes& bytes) {
    return ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  bool send_frame(const Bytes& message) {
    Bytes framed{static_cast<std::uint8_t>(message.size() >> 8), static_cast<std::uint8_t>(message.size())};
    framed.insert(framed.end(), message.begin(), message.end());
    return send_raw(framed);
  }
  // Reads exactly n bytes; nullopt on timeout, EOF or error.
  std::optional<Bytes> read_exact(std::size_t n, Millis timeout = 2000ms) {
    Bytes out(n);
    std::size_t got = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got < n) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || !wait_readable(fd_.get(), left)) return std::nullopt;
      const auto r = ::recv(fd_.get(), out.data() + got, n - got, 0);
      if (r <= 0) return std::nullopt;
      got += static_cast<std::size_t>(r);
    }
    return out;
  }
  std::optional<Bytes> read_frame(Millis timeout = 2000ms) {
    auto prefix = read_exact(2, timeout);
    if (!prefix) return std::nullopt;
    return read_exact((std::size_t{(*prefix)[0]} << 8) | (*prefix)[1], timeout);
  }
  // True when the server closed the connection (EOF or reset) within `timeout`.
  bool closed_by_peer(Millis timeout = 2000ms) {
    if (!wait_readable(fd_.get(), timeout)) return false;
    std::uint8_t b = 0;
    return ::recv(fd_.get(), &b, 1, 0) <= 0;
  }

 private:
  Fd fd_;
  bool connected_ = false;
};

inline std::optional<Bytes> tcp_exchange(std::uint16_t port, const Bytes& query, Millis timeout = 2000ms) {
  TcpClient c(port);
  if (!c.connected() || !c.send_frame(query)) return std::nullopt;
  return c.read_frame(timeout);
}

inline std::size_t count_lines_with(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    std::size_t end = text.find('\n', line_start);
    if (end == std::string::npos) end = text.size();
    if (std::string_view(text).substr(line_start, end - line_start).find(needle) != std::string_view::npos) ++n;
    line_start = end + 1;
  }
  return n;
}

// The parameter's name in test names: .../Udp, .../Tcp.
inline std::string transport_name(const ::testing::TestParamInfo<simulator::DnsTransport>& info) {
  return info.param == simulator::DnsTransport::udp ? "Udp" : "Tcp";
}

}  // namespace kmslab::test
