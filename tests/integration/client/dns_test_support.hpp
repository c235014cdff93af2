// Test support for the resolver's integration tests: a real dnsmasq on a loopback ephemeral port,
// loopback UDP helpers (a server that never answers, one that answers every query truncated),
// free-port discovery and a bounded way to run one coroutine to completion.
#pragma once

#include "kmslab/net/asio.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace kmslab::test {

namespace asio = net::asio;
using namespace std::chrono_literals;

inline constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

// A loopback port that is free for both UDP and TCP right now (bound to 0, then closed).
inline std::uint16_t free_loopback_port(const std::string& address = "127.0.0.1") {
  asio::io_context io;
  const auto ip = asio::ip::make_address(address);
  for (int attempt = 0; attempt < 20; ++attempt) {
    boost::system::error_code ec;
    asio::ip::udp::socket udp(io);
    udp.open(ip.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    if (!ec) udp.bind(asio::ip::udp::endpoint(ip, 0), ec);
    if (ec) break;
    const auto port = udp.local_endpoint().port();
    asio::ip::tcp::acceptor tcp(io);
    tcp.open(ip.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), ec);
    if (!ec) tcp.bind(asio::ip::tcp::endpoint(ip, port), ec);
    if (!ec) return port;
  }
  ADD_FAILURE() << "no free loopback port found";
  return 0;
}

// Runs `work` on `io` until it finishes (then stops `io`) or `limit` passes; returns its value
// (fails the test when it did not finish or threw).
template <class T>
std::optional<T> run_bounded(asio::io_context& io, asio::awaitable<T> work, std::chrono::milliseconds limit = 10s) {
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result = std::move(value);
    io.stop();  // helpers such as test servers may keep the context busy
  });
  io.run_for(limit);
  io.restart();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "coroutine threw: " << e.what();
    }
  }
  if (!result && !error) ADD_FAILURE() << "coroutine did not finish within " << limit.count() << " ms";
  return result;
}

// A minimal DNS query for readiness checks (id 0x0101, RD, one question, class IN).
inline std::vector<std::uint8_t> probe_query(const std::string& name, std::uint16_t type) {
  std::vector<std::uint8_t> q = {0x01, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  std::stringstream labels(name);
  std::string label;
  while (std::getline(labels, label, '.')) {
    q.push_back(static_cast<std::uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.push_back(0);
  q.push_back(static_cast<std::uint8_t>(type >> 8));
  q.push_back(static_cast<std::uint8_t>(type & 0xff));
  q.push_back(0);
  q.push_back(1);
  return q;
}

// dnsmasq in the foreground (--no-daemon: no fork, no privilege change, TCP served in-process)
// on 127.0.0.1:<ephemeral>, configured only by the arguments given. Killed in the destructor.
class Dnsmasq {
 public:
  // Returns nullptr and sets `why` when dnsmasq is not installed or would not start.
  static std::unique_ptr<Dnsmasq> start(const std::vector<std::string>& args, std::string& why,
                                        const std::string& listen = "127.0.0.1") {
    if (::access(kDnsmasq, X_OK) != 0) {
      why = std::string(kDnsmasq) + " not found (apt-get install dnsmasq-base)";
      return nullptr;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      const auto port = free_loopback_port(listen);
      if (port == 0) {
        why = "no free port on " + listen;
        return nullptr;
      }
      auto server = std::unique_ptr<Dnsmasq>(new Dnsmasq(listen, port));
      if (server->launch(args) && server->wait_ready()) return server;
      why = "dnsmasq did not start on port " + std::to_string(port) + ": " + server->log();
    }
    return nullptr;
  }

  ~Dnsmasq() { stop(); }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  std::uint16_t port() const { return port_; }
  std::string server() const {
    return (listen_.find(':') != std::string::npos ? "[" + listen_ + "]:" : listen_ + ":") + std::to_string(port_);
  }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  Dnsmasq(std::string listen, std::uint16_t port)
      : listen_(std::move(listen)),
        port_(port),
        log_path_(std::filesystem::temp_directory_path() /
                  ("kmslab-dnsmasq-" + std::to_string(::getpid()) + "-" + std::to_string(port) + ".log")) {}

  bool launch(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {kDnsmasq,
                                     "--no-daemon",
                                     "--conf-file=/dev/null",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--bind-interfaces",
                                     "--listen-address=" + listen_,
                                     "--port=" + std::to_string(port_),
                                     "--pid-file=",
                                     "--log-facility=-",
                                     "--log-queries"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = log_path_.string();
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Child: only async-signal-safe calls. Die with the test process, even if it crashes.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(kDnsmasq, argv.data());
      ::_exit(127);
    }
    return pid_ > 0;
  }

  // Polls with a query until dnsmasq answers anything (bounded: 150 x 20 ms).
  bool wait_ready() {
    asio::io_context io;
    const asio::ip::udp::endpoint to(asio::ip::make_address(listen_), port_);
    asio::ip::udp::socket sock(io, to.protocol());
    const auto query = probe_query("ready.kmslab.test", 1);
    for (int i = 0; i < 150; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;  // exited: most likely the port was taken meanwhile
      }
      boost::system::error_code ec;
      sock.send_to(asio::buffer(query), to, 0, ec);
      std::array<std::uint8_t, 512> buf{};
      asio::ip::udp::endpoint from;
      sock.non_blocking(true);
      std::this_thread::sleep_for(20ms);
      const auto n = sock.receive_from(asio::buffer(buf), from, 0, ec);
      if (!ec && n >= 12) return true;
    }
    return false;
  }

  void stop() {
    if (pid_ > 0) terminate();
    std::error_code ignored;
    std::filesystem::remove(log_path_, ignored);
  }

  void terminate() {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {  // up to 5 s, then SIGKILL
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  std::string listen_;
  std::uint16_t port_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
};

// A UDP socket on 127.0.0.1 that receives queries and never answers: a DNS server that is down
// but whose host is up (no ICMP error comes back).
class SilentUdpServer {
 public:
  explicit SilentUdpServer(asio::io_context& io)
      : socket_(io, asio::ip::udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)) {}
  std::string server() const { return "127.0.0.1:" + std::to_string(socket_.local_endpoint().port()); }

 private:
  asio::ip::udp::socket socket_;
};

// A UDP responder on 127.0.0.1 that answers every query with an empty NOERROR response with the
// TC bit set, while nothing listens on the same TCP port: truncation whose TCP retry must fail.
class TruncatingUdpServer {
 public:
  explicit TruncatingUdpServer(asio::io_context& io) : socket_(io) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      socket_ = asio::ip::udp::socket(io, asio::ip::udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
      boost::system::error_code ec;
      asio::ip::tcp::acceptor probe(io);
      probe.open(asio::ip::tcp::v4(), ec);
      if (!ec) probe.bind(asio::ip::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port()), ec);
      if (!ec) break;  // the TCP port is free too, and is closed again when `probe` goes
    }
    asio::co_spawn(io, serve(), asio::detached);
  }
  ~TruncatingUdpServer() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }
  std::string server() const { return "127.0.0.1:" + std::to_string(port()); }
  int answered() const { return answered_; }

 private:
  asio::awaitable<void> serve() {
    std::array<std::uint8_t, 512> buf{};
    for (int i = 0; i < 16; ++i) {  // bounded
      asio::ip::udp::endpoint from;
      auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      if (n < 12) continue;
      buf[2] = static_cast<std::uint8_t>(buf[2] | 0x80 | 0x02);  // QR + TC
      buf[3] = 0x00;                                              // NOERROR
      co_await socket_.async_send_to(asio::buffer(buf.data(), n), from, asio::as_tuple(asio::use_awaitable));
      ++answered_;
    }
  }

  asio::ip::udp::socket socket_;
  int answered_ = 0;
};

// A loopback port with nothing bound on it (bound to 0 and closed): queries get ICMP port
// unreachable over UDP and RST over TCP.
inline std::string closed_loopback_server() { return "127.0.0.1:" + std::to_string(free_loopback_port()); }

}  // namespace kmslab::test
