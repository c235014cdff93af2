// The simulator's KMS host: a TCP server speaking DCE/RPC + KMS v4/v5/v6 as a Windows KMS host
// does, on the caller's io_context (C++20 coroutines, no thread per connection).
//
// Each connection: read a PDU (10-byte prefix -> rpc::pdu_length -> the rest), hand it to a
// KmsConnection, write what it returns, repeat; several binds and requests per connection, as
// Windows clients and vlmcs do. Bounds: at most `max_connections` open connections (beyond it
// a connection is closed at once), a PDU larger than `max_pdu_size` closes the connection, a
// call spanning more than `max_fragments` fragments is malformed, the
// wait for the next PDU is bounded by `idle_timeout` and reading a PDU, from its first byte, by
// `read_timeout` (a slow-drip client is cut off, even while it drips the framing prefix). Malformed input closes that one connection and
// is counted; the server keeps serving.
// Faults (set_fault_engine): at each stage of a connection (accept; each bind / alter_context;
// each request; the response) the session asks the FaultEngine for hits and carries out the
// resulting KmsStagePlan: a delay, a reset (SO_LINGER 0 then close, so the peer sees RST), silence
// (the connection stays open and nothing is answered until the client closes or idle_timeout
// passes), PDU-level changes (bind_nak, RPC fault, in-band HRESULT, policy overrides, a corrupted
// hash or MAC) and how the reply is written (trickled, truncated then closed, reset part-way).
// Delays and trickle waits end early when the host stops (when stop() has a drain, once it is
// over). set_listener_state() switches the listening sockets between open, refused and filtered
// (see net/tcp_server.hpp).
// Thread-safety: counters and policy may be read from any thread; start/stop from any thread.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/net/tcp_server.hpp"
#include "kmslab/simulator/activation_log.hpp"
#include "kmslab/simulator/fault_actions.hpp"
#include "kmslab/simulator/fault_engine.hpp"
#include "kmslab/simulator/kms_connection.hpp"
#include "kmslab/simulator/kms_host_policy.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kmslab::simulator {

struct KmsHostCounters {
  std::atomic<std::uint64_t> binds{0}, alter_contexts{0}, requests{0}, activations{0}, refusals{0}, rpc_faults{0},
      malformed{0}, timeouts{0}, ignored{0};
  // Input accounting: every complete PDU read (each then lands in exactly one of binds,
  // alter_contexts, bind_naks, requests, rpc_faults, ignored, partials or malformed); framing
  // that cannot start a PDU is `malformed` too, and `oversized` among them when frag_length is
  // above max_pdu_size; a peer that closes inside a PDU is `incomplete`.
  std::atomic<std::uint64_t> pdus{0}, partials{0}, oversized{0}, incomplete{0};
  // Faults carried out.
  std::atomic<std::uint64_t> bind_naks{0}, resets{0}, silences{0}, truncations{0};
  // Responses by HRESULT ("0x00000000" for a successful activation).
  std::map<std::uint32_t, std::uint64_t> by_hresult;
  mutable std::mutex mutex;  // guards by_hresult
};

class KmsHost {
 public:
  KmsHost(net::asio::any_io_executor executor, const KmsHostSpec& spec, const Clock& clock, std::uint64_t seed,
          std::shared_ptr<ActivationLog> log = nullptr);
  ~KmsHost();

  // Listens on every address in spec.listen. Error: a message naming the address and the reason.
  boost::system::result<std::vector<net::tcp::endpoint>, std::string> start();
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(0));

  const std::string& name() const noexcept { return spec_.name; }
  std::vector<net::tcp::endpoint> endpoints() const;
  KmsHostPolicy& policy() noexcept { return policy_; }
  const KmsHostCounters& counters() const noexcept { return counters_; }
  std::size_t open_connections() const;
  nlohmann::json counters_json() const;

  // The engine consulted at each stage; nullptr (the default) = no faults. Set before start();
  // the engine must outlive the host.
  void set_fault_engine(FaultEngine* engine) noexcept { engine_ = engine; }
  // Switches the listeners (asynchronously; the future holds the outcome). REQUIRES: start().
  std::future<boost::system::error_code> set_listener_state(ListenerState state);
  ListenerState listener_state() const noexcept;
  // Since when the listeners are in their state and how many connects it turned away, where
  // anything counted them (net::TcpServer::listener_stats). Empty before start().
  std::optional<net::TcpServer::ListenerStats> listener_stats() const;

 private:
  net::asio::awaitable<void> session(net::tcp::socket& socket);
  KmsStagePlan stage_plan(KmsStage stage, BindPdu pdu = BindPdu::bind, bool opens_exchange = true);
  // Carries out a stage's delay, reset or silence; false when the connection is over.
  net::asio::awaitable<bool> enter_stage(net::tcp::socket& socket, KmsStagePlan plan);
  net::asio::awaitable<void> hold_silent(net::tcp::socket& socket);
  // Writes the PDUs as `shaping` says; false when the connection is over.
  net::asio::awaitable<bool> write_reply(net::tcp::socket& socket, const std::vector<protocol::Bytes>& pdus,
                                         const KmsWriteShaping& shaping);
  // Waits unless the host stops first; false when it stopped.
  net::asio::awaitable<bool> pause(std::chrono::milliseconds duration);
  void record(const KmsEvent& event, const net::tcp::socket& socket, std::chrono::steady_clock::duration took);

  net::asio::any_io_executor executor_;
  KmsHostSpec spec_;
  KmsHostPolicy policy_;
  std::shared_ptr<ActivationLog> log_;
  std::shared_ptr<net::TcpServer> server_;
  std::atomic<std::uint32_t> next_assoc_group_;
  std::atomic<std::uint64_t> next_connection_{0};
  std::uint64_t seed_;
  KmsHostCounters counters_;
  FaultEngine* engine_ = nullptr;
  std::shared_ptr<net::asio::steady_timer> stop_event_;  // expires at once when the host stops
};

}  // namespace kmslab::simulator
