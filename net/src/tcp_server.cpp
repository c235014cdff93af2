#include "kmslab/net/tcp_server.hpp"

#include "kmslab/net/netns.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kmslab::net {

std::shared_ptr<TcpServer> TcpServer::create(asio::any_io_executor ex, Options options, Session session) {
  return std::shared_ptr<TcpServer>(new TcpServer(std::move(ex), options, std::move(session)));
}

TcpServer::TcpServer(asio::any_io_executor ex, Options options, Session session)
    : ex_(std::move(ex)), options_(options), session_(std::move(session)) {}

boost::system::result<tcp::endpoint> TcpServer::listen(const tcp::endpoint& endpoint) {
  auto acceptor = std::make_shared<tcp::acceptor>(ex_);
  boost::system::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  if (ec) return ec;
  acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  acceptor->bind(endpoint, ec);
  if (ec) return ec;
  acceptor->listen(options_.backlog, ec);
  if (ec) return ec;
  auto bound = acceptor->local_endpoint(ec);
  if (ec) return ec;
  std::lock_guard lock(mutex_);
  acceptors_.push_back(std::move(acceptor));
  endpoints_.push_back(bound);
  return bound;
}

void TcpServer::start() {
  std::lock_guard lock(mutex_);
  started_ = true;
  if (state_ != ListenerState::open && state_ != ListenerState::filtered_nftables) return;
  for (auto& acceptor : acceptors_)
    asio::co_spawn(ex_, accept_loop(acceptor), asio::detached);
}

asio::awaitable<void> TcpServer::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
  auto self = shared_from_this();
  while (acceptor->is_open() && !stopping_) {
    auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) break;
      // Transient failures (EMFILE, ECONNABORTED): back off briefly instead of spinning.
      asio::steady_timer pause(ex_, std::chrono::milliseconds(10));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (open_.load() >= options_.max_connections) {
      ++rejected_;
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
      continue;
    }
    ++accepted_;
    asio::co_spawn(ex_, run_session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> TcpServer::run_session(tcp::socket socket) {
  auto self = shared_from_this();
  ++open_;
  {
    std::lock_guard lock(mutex_);
    sockets_.insert(&socket);
  }
  try {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    co_await session_(socket);
  } catch (const std::exception&) {
    ++session_errors_;
  }
  {
    std::lock_guard lock(mutex_);
    sockets_.erase(&socket);
  }
  boost::system::error_code ignored;
  socket.close(ignored);
  --open_;
}

void TcpServer::close_listeners() {
  std::lock_guard lock(mutex_);
  close_listeners_locked();
}

void TcpServer::close_listeners_locked() {
  for (auto& acceptor : acceptors_) {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  }
  for (int fd : fillers_) ::close(fd);
  fillers_.clear();
  if (!nft_chain_.empty()) {
    // Best effort: the namespace, and the rule with it, dies with the process anyway.
    (void)nft_apply(nft_delete_chain_script(nft_chain_));
    nft_chain_.clear();
  }
}

std::string TcpServer::state_error() const {
  std::lock_guard lock(mutex_);
  return state_error_;
}

TcpServer::ListenerStats TcpServer::listener_stats() const {
  ListenerStats out;
  std::string chain;
  {
    std::lock_guard lock(mutex_);
    out.state = state_.load();
    out.since = state_since_;
    chain = nft_chain_;
  }
  if (out.state == ListenerState::open) return out;
  if (!chain.empty()) {
    if (auto packets = nft_chain_packets(chain)) {
      out.turned_away = *packets;
      out.counted_by = "nftables";
      return out;
    } else {
      out.unseen = "the nftables counter could not be read: " + packets.error();
      return out;
    }
  }
  out.unseen = out.state == ListenerState::refused
                   ? "no socket listens: the kernel answers each SYN with RST, unseen by userspace"
                   : "the kernel drops SYNs beyond the full accept queue, unseen by userspace";
  return out;
}

namespace {

// Connects a non-blocking socket to `to` and waits up to a second for the handshake, which the
// kernel completes by itself for a listener with room in its accept queue. Returns the fd or -1.
int self_connect(const tcp::endpoint& to, boost::system::error_code& ec) {
  tcp::endpoint target = to;
  if (target.address().is_unspecified())
    target.address(to.address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                        : asio::ip::address(asio::ip::address_v4::loopback()));
  const int fd = ::socket(target.address().is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ec.assign(errno, boost::system::system_category());
    return -1;
  }
  if (::connect(fd, target.data(), static_cast<socklen_t>(target.size())) != 0 && errno != EINPROGRESS) {
    ec.assign(errno, boost::system::system_category());
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int error = 0;
  socklen_t len = sizeof error;
  if (::poll(&p, 1, 1000) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    ec = error ? boost::system::error_code(error, boost::system::system_category())
               : boost::system::error_code(asio::error::timed_out);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::future<boost::system::error_code> TcpServer::set_listener_state(ListenerState state) {
  auto promise = std::make_shared<std::promise<boost::system::error_code>>();
  auto done = promise->get_future();
  asio::dispatch(ex_, [self = shared_from_this(), state, promise] { promise->set_value(self->apply_state(state)); });
  return done;
}

boost::system::error_code TcpServer::apply_state(ListenerState state) {
  std::lock_guard lock(mutex_);
  if (stopping_) return asio::error::operation_aborted;
  if (state == state_) return {};
  state_error_.clear();
  close_listeners_locked();
  acceptors_.clear();
  state_ = ListenerState::refused;  // what we are until the new listeners stand
  state_since_ = std::chrono::steady_clock::now();
  if (state == ListenerState::refused) {
    // The kernel answers each SYN with RST and no socket sees it; inside a kmslab namespace a
    // count-only rule can (best effort: without it the count is reported unknown).
    if (in_private_netns() && !endpoints_.empty()) {
      std::vector<std::uint16_t> ports;
      for (const auto& e : endpoints_) ports.push_back(e.port());
      const auto chain = "refused_" + std::to_string(ports.front());
      if (nft_apply(nft_count_syn_script(chain, ports))) nft_chain_ = chain;
    }
    return {};
  }
  std::vector<std::shared_ptr<tcp::acceptor>> fresh;
  for (const auto& endpoint : endpoints_) {
    auto acceptor = std::make_shared<tcp::acceptor>(ex_);
    boost::system::error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    // Backlog 0 lets exactly one connection wait in the queue; ours takes it.
    if (!ec) acceptor->listen(state == ListenerState::filtered ? 0 : options_.backlog, ec);
    if (!ec && state == ListenerState::filtered) {
      const int fd = self_connect(endpoint, ec);
      if (fd >= 0) fillers_.push_back(fd);
    }
    if (ec) {
      boost::system::error_code ignored;
      for (auto& a : fresh) a->close(ignored);
      acceptor->close(ignored);
      for (int fd : fillers_) ::close(fd);
      fillers_.clear();
      state_error_ = ec.message();
      return ec;
    }
    fresh.push_back(std::move(acceptor));
  }
  if (state == ListenerState::filtered_nftables && !endpoints_.empty()) {
    std::vector<std::uint16_t> ports;
    for (const auto& e : endpoints_) ports.push_back(e.port());
    const auto chain = "filtered_" + std::to_string(ports.front());
    if (auto applied = nft_apply(nft_drop_syn_script(chain, ports)); !applied) {
      boost::system::error_code ignored;
      for (auto& a : fresh) a->close(ignored);
      state_error_ = applied.error();
      return boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted);
    }
    nft_chain_ = chain;
  }
  acceptors_ = std::move(fresh);
  state_ = state;
  if ((state == ListenerState::open || state == ListenerState::filtered_nftables) && started_)
    for (auto& acceptor : acceptors_) asio::co_spawn(ex_, accept_loop(acceptor), asio::detached);
  return {};
}

void TcpServer::close_sessions() {
  std::lock_guard lock(mutex_);
  // shutdown(2) on the descriptor is safe from any thread (an Asio socket object is not): the
  // session's pending read completes with EOF and the session ends by itself.
  for (auto* socket : sockets_) ::shutdown(socket->native_handle(), SHUT_RDWR);
}

void TcpServer::stop(std::chrono::milliseconds drain) {
  stopping_ = true;
  auto self = shared_from_this();
  asio::post(ex_, [self] { self->close_listeners(); });
  if (drain.count() <= 0) {
    asio::post(ex_, [self] { self->close_sessions(); });
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(ex_, drain);
  timer->async_wait([self, timer](boost::system::error_code) { self->close_sessions(); });
}

std::vector<tcp::endpoint> TcpServer::endpoints() const {
  std::lock_guard lock(mutex_);
  return endpoints_;
}

}  // namespace kmslab::net
