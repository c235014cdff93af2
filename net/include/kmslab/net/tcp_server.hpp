// A TCP server skeleton shared by the KMS host, the DNS responder's TCP side and the HTTP
// endpoints: it listens on any number of endpoints (IPv4 and IPv6, port 0 for an ephemeral port),
// runs one session coroutine per accepted connection on the executor (no thread per connection),
// bounds the number of open connections, and stops cleanly.
//
// Promises:
// - At most `max_connections` sessions run at once; a connection accepted beyond that is closed
//   immediately (the peer sees EOF, never a hang) and counted in rejected().
// - stop() closes the listeners at once (new connects are refused), then lets running sessions
//   finish until `drain` elapses, then closes their sockets so every session ends.
// - Exceptions escaping a session are caught and counted, never propagated into the io_context.
// - Listener states (set_listener_state), switchable at runtime without touching open sessions:
//     open      listening and accepting;
//     refused   no socket listens on the port: a connect gets RST (ECONNREFUSED);
//     filtered  a socket listens with backlog 0 and the server itself holds the one connection
//               the accept queue takes, never accepting it, so the kernel drops further SYNs and
//               a connect times out: neither refused nor accepted, without root or a firewall.
//     filtered_nftables  the same effect from a real packet filter: the listener stays open and
//               an nftables chain drops the SYNs to its ports (net/netns.hpp). Only inside a
//               network namespace kmslab created; elsewhere the switch fails (state_error() says
//               why) and the host's firewall is left alone. Leaving the state deletes the chain.
//   Leaving a state rebinds the same bound endpoints (SO_REUSEADDR), so ports survive changes.
//   listener_stats() says what a state turns away as far as it can be known: since when, and how
//   many connects, counted by an nftables rule where one exists (filtered_nftables; refused inside
//   a kmslab network namespace, where a count-only rule is added); elsewhere the kernel answers
//   (RST) or drops the SYNs without userspace seeing them, and the count is unknown, not 0.
// Thread-safety: listen/start/stop/counters may be called from any thread.
#pragma once

#include "kmslab/net/asio.hpp"

#include <boost/system/result.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kmslab::net {

enum class ListenerState { open, refused, filtered, filtered_nftables };

class TcpServer : public std::enable_shared_from_this<TcpServer> {
 public:
  using Session = std::function<asio::awaitable<void>(tcp::socket&)>;

  struct Options {
    std::size_t max_connections = 1024;
    int backlog = asio::socket_base::max_listen_connections;
  };

  static std::shared_ptr<TcpServer> create(asio::any_io_executor ex, Options options, Session session);

  // Binds and listens (SO_REUSEADDR; IPv6 listeners are v6-only so [::] and 0.0.0.0 can coexist).
  // Returns the bound endpoint (with the real port when 0 was asked).
  boost::system::result<tcp::endpoint> listen(const tcp::endpoint& endpoint);
  // Starts the accept loops of every listener.
  void start();
  // Closes the listeners, then gives sessions `drain` to finish before closing their sockets.
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(0));

  std::vector<tcp::endpoint> endpoints() const;
  std::size_t open_connections() const noexcept { return open_.load(); }
  std::uint64_t accepted() const noexcept { return accepted_.load(); }
  std::uint64_t rejected() const noexcept { return rejected_.load(); }
  std::uint64_t session_errors() const noexcept { return session_errors_.load(); }

  // Closing or pausing listeners at runtime (refused / filtered states of a listener).
  void close_listeners();

  // Switches every listener to `state` on the server's executor (inline when called there). The
  // future holds the first error (a rebind that failed because another socket took the port, or
  // the self-connect of `filtered` that did not complete within a second); on error the listener
  // is left closed (refused). operation_aborted after stop().
  std::future<boost::system::error_code> set_listener_state(ListenerState state);
  ListenerState listener_state() const noexcept { return state_.load(); }
  // Why the last set_listener_state failed, in words ("" after a success): nft's own message for
  // filtered_nftables, else the error code's.
  std::string state_error() const;

  struct ListenerStats {
    ListenerState state = ListenerState::open;
    std::chrono::steady_clock::time_point since{};  // when the listeners entered `state`
    std::optional<std::uint64_t> turned_away;       // connects turned away since then, when known
    std::string counted_by;                         // "nftables" when turned_away is known
    std::string unseen;                             // why turned_away is unknown ("" when known or open)
  };
  // Runs `nft list chain` when a rule counts (a subprocess: not for hot paths).
  ListenerStats listener_stats() const;

 private:
  TcpServer(asio::any_io_executor ex, Options options, Session session);
  asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor);
  asio::awaitable<void> run_session(tcp::socket socket);
  void close_sessions();
  boost::system::error_code apply_state(ListenerState state);
  void close_listeners_locked();

  asio::any_io_executor ex_;
  Options options_;
  Session session_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors_;
  std::vector<tcp::endpoint> endpoints_;
  std::set<tcp::socket*> sockets_;
  std::vector<int> fillers_;  // filtered: our own connections that fill the accept queues
  std::string nft_chain_;     // filtered_nftables: the chain holding our drop rule; refused: a count-only rule
  std::chrono::steady_clock::time_point state_since_ = std::chrono::steady_clock::now();
  std::string state_error_;
  bool started_ = false;
  std::atomic<ListenerState> state_{ListenerState::open};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> session_errors_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace kmslab::net
