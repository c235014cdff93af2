// The simulator's KMS host: a TCP server speaking DCE/RPC + KMS v4/v5/v6 as a Windows KMS host
// does, on the caller's io_context (C++20 coroutines, no thread per connection).
//
// Each connection: read a PDU (10-byte prefix -> rpc::pdu_length -> the rest), hand it to a
// KmsConnection, write what it returns, repeat; several binds and requests per connection, as
// Windows clients and vlmcs do. Bounds: at most `max_connections` open connections (beyond it
// a connection is closed at once), a PDU larger than the RPC limit closes the connection, the
// wait for the next PDU is bounded by `idle_timeout` and reading the rest of a PDU by
// `read_timeout` (a slow-drip client is cut off). Malformed input closes that one connection and
// is counted; the server keeps serving.
// Thread-safety: counters and policy may be read from any thread; start/stop from any thread.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/net/tcp_server.hpp"
#include "kmslab/simulator/activation_log.hpp"
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

 private:
  net::asio::awaitable<void> session(net::tcp::socket& socket);
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
};

}  // namespace kmslab::simulator
