#include "kmslab/net/tcp_server.hpp"

#include <sys/socket.h>

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
  for (auto& acceptor : acceptors_) {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  }
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
