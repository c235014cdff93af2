// Test support for the SNTP responder: the responder on its own io_context thread, and a small
// blocking-with-deadline UDP client built on kmslab's own client codec. Loopback only.
#pragma once

#include "eventually.hpp"
#include "kmslab/net/asio.hpp"
#include "kmslab/protocol/sntp.hpp"
#include "kmslab/simulator/clock.hpp"
#include "kmslab/simulator/sntp_responder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <thread>

namespace kmslab::simulator::testing {

namespace asio = net::asio;
using net::udp;
using namespace std::chrono_literals;

// A responder running on a background thread. stop_and_join() is bounded: if the io_context has
// not drained within 5 s after stop(), it is stopped forcibly (and the test fails).
class RunningResponder {
 public:
  explicit RunningResponder(Clock& clock, SntpConfig config = {},
                            udp::endpoint bind = {asio::ip::address_v4::loopback(), 0})
      : responder_(std::make_unique<SntpResponder>(io_, clock, std::move(config), bind)) {}

  // Returns the start() error; on success the io_context runs on a thread.
  boost::system::error_code start() {
    auto ec = responder_->start();
    if (ec) return ec;
    auto done = std::make_shared<std::promise<void>>();
    finished_ = done->get_future();
    thread_ = std::thread([this, done] {
      io_.run();
      done->set_value();
    });
    return {};
  }

  ~RunningResponder() { stop_and_join(); }

  void stop_and_join() {
    if (!thread_.joinable()) return;
    responder_->stop();
    if (finished_.wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << "SNTP responder did not drain within 5 s of stop()";
      io_.stop();
    }
    thread_.join();
  }

  SntpResponder& operator*() { return *responder_; }
  SntpResponder* operator->() { return responder_.get(); }

 private:
  asio::io_context io_;
  std::unique_ptr<SntpResponder> responder_;
  std::thread thread_;
  std::future<void> finished_;
};

// One UDP socket; every receive has a deadline.
class UdpClient {
 public:
  explicit UdpClient(const udp::endpoint& server) : server_(server), socket_(io_) {
    socket_.open(server.protocol());
    socket_.bind(udp::endpoint(server.address(), 0));
  }

  void send(protocol::ByteSpan bytes) { socket_.send_to(asio::buffer(bytes.data(), bytes.size()), server_); }

  // The next datagram, or nullopt after `timeout`.
  std::optional<protocol::Bytes> receive(std::chrono::milliseconds timeout) {
    protocol::Bytes buf(2048);
    udp::endpoint from;
    std::optional<protocol::Bytes> out;
    socket_.async_receive_from(asio::buffer(buf), from,
                               [&](boost::system::error_code ec, std::size_t n) {
                                 if (!ec) out = protocol::Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
                               });
    io_.restart();
    io_.run_for(timeout);
    if (!io_.stopped()) {  // timed out: cancel and let the handler run before buf goes away
      socket_.cancel();
      io_.restart();
      io_.run_for(1s);
    }
    return out;
  }

 private:
  asio::io_context io_;
  udp::endpoint server_;
  udp::socket socket_;
};

// One SNTP query the way the probe will make it: a random nonce on the wire, T1/T4 from the
// local clock. Returns the client codec's verdict.
struct Query {
  protocol::sntp::ReplyResult<protocol::sntp::Sample> result =
      protocol::sntp::ReplyError{protocol::sntp::ReplyProblem::malformed, {}, {}};
  bool answered = false;
  std::chrono::steady_clock::duration elapsed{};
};

inline Query query(UdpClient& client, std::mt19937_64& rng,
                   std::chrono::milliseconds timeout = 2000ms) {
  namespace sntp = protocol::sntp;
  const sntp::Timestamp nonce = sntp::Timestamp::from_raw(rng());
  const auto started = std::chrono::steady_clock::now();
  const sntp::Timestamp t1 = sntp::to_ntp(std::chrono::system_clock::now());
  client.send(sntp::encode(sntp::make_client_request(nonce)).value());
  auto reply = client.receive(timeout);
  const sntp::Timestamp t4 = sntp::to_ntp(std::chrono::system_clock::now());
  Query q;
  q.elapsed = std::chrono::steady_clock::now() - started;
  if (!reply) return q;
  q.answered = true;
  q.result = sntp::read_reply(*reply, nonce, t1, t4);
  return q;
}

using test::eventually;

}  // namespace kmslab::simulator::testing
