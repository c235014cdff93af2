// Test support for fault tests: a running Site, and a KMS client on plain POSIX sockets whose
// every step has a deadline and reports exactly what happened (refused, timed out, EOF, RST,
// bind_nak, RPC fault, in-band HRESULT, a response that does not verify). Loopback only.
#pragma once

#include "eventually.hpp"
#include "kms_test_client.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/rpc_bind.hpp"
#include "kmslab/protocol/rpc_header.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "kmslab/protocol/rpc_stub.hpp"
#include "kmslab/simulator/site.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace kmslab::test {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// reset: the handshake completed but the peer's RST came before the connect was reported.
enum class ConnectOutcome { connected, refused, timed_out, reset, error };
enum class ReadStatus { ok, timeout, eof, reset, error };

inline const char* to_string(ConnectOutcome c) {
  switch (c) {
    case ConnectOutcome::connected: return "connected";
    case ConnectOutcome::refused: return "refused";
    case ConnectOutcome::timed_out: return "timed_out";
    case ConnectOutcome::reset: return "reset";
    case ConnectOutcome::error: return "error";
  }
  return "?";
}
inline const char* to_string(ReadStatus s) {
  switch (s) {
    case ReadStatus::ok: return "ok";
    case ReadStatus::timeout: return "timeout";
    case ReadStatus::eof: return "eof";
    case ReadStatus::reset: return "reset";
    case ReadStatus::error: return "error";
  }
  return "?";
}

struct ReadResult {
  ReadStatus status = ReadStatus::error;
  protocol::Bytes bytes;  // what arrived, even when the read then failed
};

// One TCP connection to 127.0.0.1:port; non-blocking underneath, every wait bounded by poll().
class RawTcp {
 public:
  RawTcp() = default;
  RawTcp(const RawTcp&) = delete;
  RawTcp& operator=(const RawTcp&) = delete;
  ~RawTcp() { close(); }

  ConnectOutcome connect(std::uint16_t port, Millis timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) return ConnectOutcome::connected;
    if (errno == ECONNREFUSED) return ConnectOutcome::refused;
    if (errno != EINPROGRESS) return ConnectOutcome::error;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      // Still SYN_SENT: no SYN-ACK and no RST came. Not connected, not refused.
      int error = 0;
      socklen_t len = sizeof error;
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
      pending_error_ = error;
      return ConnectOutcome::timed_out;
    }
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error == 0) return ConnectOutcome::connected;
    if (error == ECONNRESET) return ConnectOutcome::reset;
    return error == ECONNREFUSED ? ConnectOutcome::refused : ConnectOutcome::error;
  }
  int pending_error() const { return pending_error_; }
  int send_error() const { return send_error_; }
  ReadStatus send_status() const {
    return send_error_ == ECONNRESET || send_error_ == EPIPE ? ReadStatus::reset : ReadStatus::error;
  }

  // False when the bytes could not all be sent; send_error() then says why (ECONNRESET when the
  // peer's RST arrived first).
  bool send(const protocol::Bytes& bytes) {
    send_error_ = 0;
    std::size_t sent = 0;
    for (int spins = 0; sent < bytes.size() && spins < 1000; ++spins) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN) {
        send_error_ = errno;
        return false;
      }
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);
    }
    return sent == bytes.size();
  }

  ReadResult read_exact(std::size_t n, Millis timeout) {
    ReadResult r;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (r.bytes.size() < n) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0ms || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
        r.status = ReadStatus::timeout;
        return r;
      }
      std::uint8_t buf[4096];
      const auto got = ::recv(fd_, buf, std::min(sizeof buf, n - r.bytes.size()), 0);
      if (got == 0) {
        r.status = ReadStatus::eof;
        return r;
      }
      if (got < 0) {
        if (errno == EAGAIN) continue;
        r.status = errno == ECONNRESET ? ReadStatus::reset : ReadStatus::error;
        return r;
      }
      r.bytes.insert(r.bytes.end(), buf, buf + got);
    }
    r.status = ReadStatus::ok;
    return r;
  }

  // One RPC PDU (10-byte prefix, then the length it announces).
  ReadResult read_pdu(Millis timeout) {
    auto head = read_exact(protocol::rpc::kFramingPrefixSize, timeout);
    if (head.status != ReadStatus::ok) return head;
    auto length = protocol::rpc::pdu_length(head.bytes);
    if (!length) {
      head.status = ReadStatus::error;
      return head;
    }
    auto rest = read_exact(*length - protocol::rpc::kFramingPrefixSize, timeout);
    head.bytes.insert(head.bytes.end(), rest.bytes.begin(), rest.bytes.end());
    head.status = rest.status;
    return head;
  }

  // What the peer does within `timeout`: sends data (ok), closes (eof), resets, or nothing.
  ReadStatus wait_event(Millis timeout) {
    auto r = read_exact(1, timeout);
    return r.status;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int pending_error_ = 0;
  int send_error_ = 0;
};

// One whole client exchange (bind, alter_context when needed, one activation) and what happened.
struct KmsExchange {
  enum class Step { connect, bind, request, done };
  ConnectOutcome connect = ConnectOutcome::error;
  bool bind_acked = false;  // the first bind_ack arrived
  Step reached = Step::connect;  // the step that failed, or done
  ReadStatus read = ReadStatus::ok;
  std::size_t bytes_read = 0;  // of the PDU whose read failed
  std::optional<protocol::rpc::BindNak> bind_nak;
  std::optional<protocol::rpc::Fault> fault;
  std::optional<protocol::rpc::ResponseStub> stub;
  std::optional<protocol::VerifiedResponse> verified;
  std::optional<protocol::Error> verify_error;
  Millis bind_time{0}, response_time{0};

  bool activated() const { return verified.has_value() && stub && stub->hresult == 0; }
  std::string describe() const {
    return fmt::format("acked={} connect={} reached={} read={} bytes={} nak={} fault={} hresult={} verify={}", bind_acked, to_string(connect),
                       static_cast<int>(reached), to_string(read), bytes_read, bind_nak.has_value(), fault.has_value(),
                       stub ? fmt::format("0x{:08X}", stub->hresult) : "-",
                       verify_error ? verify_error->message() : (verified ? "ok" : "-"));
  }
};

inline KmsExchange kms_exchange(std::uint16_t port, const protocol::KmsRequest& request, Millis timeout = 2000ms,
                                RawTcp* keep = nullptr) {
  namespace p = kmslab::protocol;
  namespace rpc = kmslab::protocol::rpc;
  RawTcp local;
  RawTcp& tcp = keep ? *keep : local;
  KmsExchange x;
  x.connect = tcp.connect(port, timeout);
  if (x.connect == ConnectOutcome::reset) {  // accepted, then reset before the first byte
    x.connect = ConnectOutcome::connected;
    x.reached = KmsExchange::Step::bind;
    x.read = ReadStatus::reset;
    return x;
  }
  if (x.connect != ConnectOutcome::connected) return x;
  x.reached = KmsExchange::Step::bind;
  const auto t0 = std::chrono::steady_clock::now();
  auto bind = rpc::make_client_bind();
  if (!tcp.send(rpc::encode(bind).value())) {
    x.read = tcp.send_status();
    return x;
  }
  auto ack = tcp.read_pdu(timeout);
  x.bind_time = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
  if (ack.status != ReadStatus::ok) {
    x.read = ack.status;
    x.bytes_read = ack.bytes.size();
    return x;
  }
  if (auto nak = rpc::decode_bind_nak(ack.bytes)) {
    x.bind_nak = *nak;
    return x;
  }
  auto outcome = rpc::interpret_bind_ack(bind, rpc::decode_bind_ack(ack.bytes).value()).value();
  x.bind_acked = true;
  std::uint16_t context = 0;
  if (outcome.needs_alter_context) {
    auto alter = rpc::make_client_alter_context();
    if (!tcp.send(rpc::encode(alter).value())) {
      x.read = tcp.send_status();
      return x;
    }
    auto alter_ack = tcp.read_pdu(timeout);
    if (alter_ack.status != ReadStatus::ok) {
      x.read = alter_ack.status;
      return x;
    }
    context = rpc::interpret_bind_ack(alter, rpc::decode_bind_ack(alter_ack.bytes).value()).value().ndr32_context.value();
  } else {
    context = outcome.ndr32_context.value();
  }
  x.reached = KmsExchange::Step::request;
  p::SeededRandom rng(5);
  auto client = p::build_request(request, rng).value();
  auto pdu = rpc::make_activation_request(2, context, rpc::NdrSyntax::ndr32, client.payload).value();
  const auto t1 = std::chrono::steady_clock::now();
  if (!tcp.send(rpc::encode(pdu).value())) {
    x.read = tcp.send_status();
    return x;
  }
  auto reply = tcp.read_pdu(timeout);
  x.response_time = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t1);
  if (reply.status != ReadStatus::ok) {
    x.read = reply.status;
    x.bytes_read = reply.bytes.size();
    return x;
  }
  x.reached = KmsExchange::Step::done;
  if (auto fault = rpc::decode_fault(reply.bytes)) {
    x.fault = *fault;
    return x;
  }
  auto response = rpc::decode_response(reply.bytes).value();
  x.stub = rpc::decode_response_stub(response.stub, rpc::NdrSyntax::ndr32).value();
  if (x.stub->payload) {
    auto verified = p::verify_response(*x.stub->payload, client);
    if (verified) x.verified = *verified;
    else x.verify_error = verified.error();
  }
  return x;
}

// A Site on its own io_context thread.
class RunningSite {
 public:
  explicit RunningSite(simulator::SimulatorConfig config) : site_(io_, std::move(config)) {
    auto started = site_.start();
    if (!started) throw std::runtime_error("site start: " + started.error());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningSite() {
    site_.stop();
    work_.reset();
    // Let stop() run, then end the loop whatever is still pending.
    std::this_thread::sleep_for(20ms);
    io_.stop();
    thread_.join();
  }
  simulator::Site& operator*() { return site_; }
  simulator::Site* operator->() { return &site_; }
  net::asio::io_context& io() { return io_; }
  std::uint16_t kms_port(const std::string& host = "kms1") { return site_.kms_host(host)->endpoints().at(0).port(); }
  simulator::FaultEngine& faults() { return site_.faults(); }
  void add(const char* json) {
    auto added = site_.faults().add_json(nlohmann::json::parse(json));
    ASSERT_TRUE(added) << added.error().format();
  }

 private:
  net::asio::io_context io_;
  net::asio::executor_work_guard<net::asio::io_context::executor_type> work_ = net::asio::make_work_guard(io_);
  simulator::Site site_;
  std::thread thread_;
};

// Two KMS hosts published in lab.test, DNS and SNTP on ephemeral loopback ports.
inline simulator::SimulatorConfig lab_site(std::chrono::milliseconds idle_timeout = 2000ms) {
  auto config = simulator::load_simulator_config_text(R"(
seed: 11
dns:
  zones:
    - origin: lab.test
kms_hosts:
  - name: kms1
    publish: [lab.test]
  - name: kms2
    publish: [{domain: lab.test, priority: 10}]
)", "lab.yaml");
  if (!config) throw std::runtime_error(config.error().format());
  for (auto& h : config->kms_hosts) h.idle_timeout = idle_timeout;
  return *config;
}

}  // namespace kmslab::test
