// The only translation unit that includes <ares.h>.
#include "kmslab/client/resolver.hpp"

#include <ares.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <unordered_map>

namespace kmslab::client {

using protocol::Errc;
using protocol::make_error;
using protocol::Result;
using Clock = std::chrono::steady_clock;

std::string_view to_string(ResolveStatus status) noexcept {
  switch (status) {
    case ResolveStatus::ok: return "ok";
    case ResolveStatus::nxdomain: return "nxdomain";
    case ResolveStatus::nodata: return "nodata";
    case ResolveStatus::servfail: return "servfail";
    case ResolveStatus::refused: return "refused";
    case ResolveStatus::formerr: return "formerr";
    case ResolveStatus::notimp: return "notimp";
    case ResolveStatus::other_rcode: return "other_rcode";
    case ResolveStatus::timeout: return "timeout";
    case ResolveStatus::connection_refused: return "connection_refused";
    case ResolveStatus::connection_closed: return "connection_closed";
    case ResolveStatus::truncated_tcp_failed: return "truncated_tcp_failed";
    case ResolveStatus::bad_response: return "bad_response";
    case ResolveStatus::bad_name: return "bad_name";
    case ResolveStatus::cancelled: return "cancelled";
    case ResolveStatus::error: return "error";
  }
  return "unknown";
}

std::string_view to_string(DnsTransport transport) noexcept {
  switch (transport) {
    case DnsTransport::none: return "none";
    case DnsTransport::udp: return "udp";
    case DnsTransport::tcp: return "tcp";
  }
  return "unknown";
}

std::string DnsServerAddress::to_string() const {
  return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), port)
                         : fmt::format("{}:{}", address.to_string(), port);
}

Result<DnsServerAddress> parse_dns_server(std::string_view text) {
  if (text.empty()) return make_error(Errc::bad_value, 0, "empty DNS server");
  std::string_view host = text;
  std::string_view port_text;
  std::size_t host_at = 0;
  std::size_t port_at = 0;
  bool bracketed = false;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return make_error(Errc::bad_value, 0, fmt::format("'{}': missing ']'", text));
    bracketed = true;
    host = text.substr(1, close - 1);
    host_at = 1;
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return make_error(Errc::bad_value, close + 1, fmt::format("'{}': expected ':port' after ']'", text));
      }
      port_text = rest.substr(1);
      port_at = close + 2;
      if (port_text.empty()) return make_error(Errc::bad_value, port_at, fmt::format("'{}': empty port", text));
    }
  } else if (const auto colon = text.find(':'); colon != std::string_view::npos && colon == text.rfind(':')) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    port_at = colon + 1;
    if (port_text.empty()) return make_error(Errc::bad_value, port_at, fmt::format("'{}': empty port", text));
  }  // else: no colon, or several (a bare IPv6 address without a port)
  DnsServerAddress out;
  if (!port_text.empty()) {
    unsigned long value = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || value > 65535) {
        return make_error(Errc::bad_value, port_at, fmt::format("'{}': port must be a number in 1..65535", text));
      }
      value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (value == 0 || value > 65535) {
      return make_error(Errc::bad_value, port_at, fmt::format("'{}': port must be a number in 1..65535", text));
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  boost::system::error_code ec;
  out.address = asio::ip::make_address(std::string(host), ec);
  if (ec || (bracketed && !out.address.is_v6())) {
    return make_error(Errc::bad_value, host_at,
                      fmt::format("'{}': '{}' is not an IP address (c-ares takes addresses, not names)", text, host));
  }
  return out;
}

namespace {

int ensure_ares_library() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);  // once, thread-safe
  return status;
}

std::string endpoint_text(const sockaddr* addr, socklen_t length) {
  try {
    asio::ip::udp::endpoint ep;
    if (length > ep.capacity()) return {};
    std::memcpy(ep.data(), addr, length);
    ep.resize(length);
    return DnsServerAddress{ep.address(), ep.port()}.to_string();
  } catch (...) {
    return {};
  }
}

// Boost 1.81's any_completion_handler move *assignment* wraps the handler in itself and recurses
// without end; only its move constructor is used here (std::optional::emplace, direct init).
using QueryHandler = asio::any_completion_handler<void(DnsQueryResult)>;

// One socket c-ares opened, with the Asio descriptor that watches it. The descriptor never owns
// the fd in the sense of closing it: it is release()d before c-ares closes the socket.
struct SocketWatch {
  SocketWatch(const asio::any_io_executor& executor, int fd_in, int type_in)
      : descriptor(executor, fd_in), fd(fd_in), type(type_in) {}
  asio::posix::stream_descriptor descriptor;
  int fd;
  int type;          // SOCK_DGRAM or SOCK_STREAM
  std::string peer;  // the server, once c-ares connects the socket
  bool want_read = false;
  bool want_write = false;
  bool read_armed = false;
  bool write_armed = false;
  bool closed = false;
  unsigned generation = 0;  // bumped when waits are abandoned, so stale completions are ignored
  // Outgoing TCP stream, parsed to learn which query ids went out on this connection.
  std::array<std::uint8_t, 4> head{};
  std::size_t head_len = 0;
  std::size_t skip = 0;
  std::vector<std::uint16_t> qids_sent;
};

}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Resolver::Impl> {
  struct Pending {
    Impl* impl = nullptr;
    std::uint64_t serial = 0;
    std::uint16_t qid = 0;
    std::string name;
    std::uint16_t type = 0;
    Clock::time_point started;
    bool truncated_udp = false;
    bool tcp_dropped = false;
    int last_error_rcode = -1;  // SERVFAIL/REFUSED/NOTIMP seen over UDP and discarded by c-ares
    std::vector<std::string> servers_asked;
    int sends = 0;
    std::optional<QueryHandler> handler;  // empty once completed
    asio::cancellation_slot slot;
  };

  Impl(asio::any_io_executor executor, ResolverOptions options)
      : executor_(std::move(executor)),
        options_(std::move(options)),
        timer_(executor_),
        ids_(options_.seed ? *options_.seed : std::random_device{}()) {}

  ~Impl() { close(); }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Result<void> init(const std::vector<DnsServerAddress>& servers) {
    ares_options o{};
    int mask = 0;
    o.flags = (options_.use_tcp ? ARES_FLAG_USEVC : 0) | (options_.next_server_on_error_rcode ? 0 : ARES_FLAG_NOCHECKRESP);
    mask |= ARES_OPT_FLAGS;
    o.timeout = static_cast<int>(options_.timeout.count());
    mask |= ARES_OPT_TIMEOUTMS;
    o.tries = options_.tries;
    mask |= ARES_OPT_TRIES;
    o.sock_state_cb = &Impl::on_socket_state;
    o.sock_state_cb_data = this;
    mask |= ARES_OPT_SOCK_STATE_CB;
    mask |= ARES_OPT_NOROTATE;  // ask servers in the order given: the report names the first
    std::string path = options_.resolv_conf;
    o.resolvconf_path = path.data();
    mask |= ARES_OPT_RESOLVCONF;
    const int status = ares_init_options(&channel_, &o, mask);
    if (status != ARES_SUCCESS) {
      channel_ = nullptr;
      return make_error(Errc::unsupported, 0, fmt::format("ares_init_options: {}", ares_strerror(status)));
    }
    ares_set_socket_functions(channel_, &kSocketFunctions, this);
    if (!servers.empty()) return apply_servers(servers);
    return {};
  }

  Result<void> apply_servers(const std::vector<DnsServerAddress>& servers) {
    if (!channel_) return make_error(Errc::unsupported, 0, "resolver closed");
    if (!pending_.empty()) {
      return make_error(Errc::unsupported, 0,
                        fmt::format("cannot change servers while {} queries are outstanding", pending_.size()));
    }
    std::vector<ares_addr_port_node> nodes(servers.size());
    for (std::size_t i = 0; i < servers.size(); ++i) {
      auto& n = nodes[i];
      n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
      if (servers[i].address.is_v4()) {
        n.family = AF_INET;
        const auto bytes = servers[i].address.to_v4().to_bytes();
        std::memcpy(&n.addr.addr4, bytes.data(), bytes.size());
      } else {
        n.family = AF_INET6;
        const auto bytes = servers[i].address.to_v6().to_bytes();
        std::memcpy(&n.addr.addr6, bytes.data(), bytes.size());
      }
      n.udp_port = servers[i].port;
      n.tcp_port = servers[i].port;
    }
    const int status = ares_set_servers_ports(channel_, nodes.empty() ? nullptr : nodes.data());
    if (status != ARES_SUCCESS) {
      return make_error(Errc::unsupported, 0, fmt::format("ares_set_servers_ports: {}", ares_strerror(status)));
    }
    return {};
  }

  std::vector<std::string> servers() const {
    std::vector<std::string> out;
    if (!channel_) return out;
    ares_addr_port_node* list = nullptr;
    if (ares_get_servers_ports(channel_, &list) != ARES_SUCCESS) return out;
    for (auto* n = list; n != nullptr; n = n->next) {
      DnsServerAddress s;
      s.port = n->udp_port == 0 ? 53 : static_cast<std::uint16_t>(n->udp_port);
      if (n->family == AF_INET) {
        asio::ip::address_v4::bytes_type b{};
        std::memcpy(b.data(), &n->addr.addr4, b.size());
        s.address = asio::ip::address_v4(b);
      } else {
        asio::ip::address_v6::bytes_type b{};
        std::memcpy(b.data(), &n->addr.addr6, b.size());
        s.address = asio::ip::address_v6(b);
      }
      out.push_back(s.to_string());
    }
    ares_free_data(list);
    return out;
  }

  // Destroys the channel: c-ares completes every query with ARES_EDESTRUCTION (posted to the
  // awaiting coroutines as `cancelled`) and closes its sockets through sock_close.
  void close() {
    if (!channel_) return;
    ares_destroy(channel_);
    channel_ = nullptr;
    timer_.cancel();
  }

  auto async_query(std::string name, std::uint16_t type) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(DnsQueryResult)>(
        [self = shared_from_this(), type](auto handler, std::string n) {
          // c-ares is only ever touched from the resolver's executor.
          asio::dispatch(self->executor_, [self, type, n = std::move(n), h = QueryHandler(std::move(handler))]() mutable {
            self->start(std::move(n), type, std::move(h));
          });
        },
        asio::use_awaitable, std::move(name));
  }

 private:
  static const ares_socket_functions kSocketFunctions;

  void start(std::string name, std::uint16_t type, QueryHandler handler) {
    auto pending = std::make_unique<Pending>();
    pending->impl = this;
    pending->serial = ++serial_;
    pending->name = std::move(name);
    pending->type = type;
    pending->started = Clock::now();
    pending->handler.emplace(std::move(handler));
    if (!channel_) {
      complete(*pending, failure(*pending, ResolveStatus::cancelled, "resolver closed"));
      return;
    }
    const std::uint16_t qid = next_qid();
    unsigned char* query = nullptr;
    int query_length = 0;
    const int built = ares_create_query(pending->name.c_str(), kDnsClassIn, type, qid, 1, &query, &query_length, 0);
    if (built != ARES_SUCCESS) {
      complete(*pending, failure(*pending, ResolveStatus::bad_name,
                                 fmt::format("cannot query '{}': {}", pending->name, ares_strerror(built))));
      return;
    }
    pending->qid = qid;
    auto slot = asio::get_associated_cancellation_slot(*pending->handler);
    if (slot.is_connected()) {
      pending->slot = slot;
      slot.assign([this, qid, serial = pending->serial](asio::cancellation_type) { cancel_one(qid, serial); });
    }
    Pending* raw = pending.get();
    pending_.emplace(qid, std::move(pending));
    ares_send(channel_, query, query_length, &Impl::on_answer, raw);
    ares_free_string(query);
    rearm_timer();
  }

  std::uint16_t next_qid() {
    for (;;) {
      const auto id = static_cast<std::uint16_t>(uniform_up_to(ids_, 0xffff));
      if (!pending_.contains(id)) return id;  // c-ares matches answers by id: keep them unique
    }
  }

  DnsQueryResult failure(const Pending& p, ResolveStatus status, std::string detail) const {
    DnsQueryResult r;
    fill_common(r.info, p, 0);
    r.info.status = status;
    r.info.detail = std::move(detail);
    return r;
  }

  static void fill_common(DnsQueryInfo& info, const Pending& p, int timeouts) {
    info.name = p.name;
    info.type = p.type;
    info.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - p.started);
    info.truncated_udp = p.truncated_udp;
    info.servers_asked = p.servers_asked;
    info.sends = p.sends;
    info.timeouts = timeouts;
  }

  // Hands the result to the awaiting coroutine through the executor, never inline.
  void complete(Pending& p, DnsQueryResult result) {
    if (!p.handler) return;  // already completed as cancelled
    if (p.slot.is_connected()) p.slot.clear();
    p.slot = {};
    QueryHandler handler(std::move(*p.handler));
    p.handler.reset();
    asio::post(executor_, asio::append(std::move(handler), std::move(result)));
  }

  void cancel_one(std::uint16_t qid, std::uint64_t serial) {
    const auto it = pending_.find(qid);
    if (it == pending_.end() || it->second->serial != serial || !it->second->handler) return;
    Pending& p = *it->second;
    p.slot = {};  // do not clear from inside the slot's own handler
    QueryHandler handler(std::move(*p.handler));
    p.handler.reset();
    auto result = failure(p, ResolveStatus::cancelled, "query cancelled by its caller");
    asio::post(executor_, asio::append(std::move(handler), std::move(result)));
  }

  DnsQueryResult make_result(const Pending& p, int status, int timeouts, const unsigned char* answer, int length) const {
    DnsQueryResult r;
    auto& info = r.info;
    fill_common(info, p, timeouts);
    if (status == ARES_SUCCESS && answer != nullptr && length > 0) {
      info.response.assign(answer, answer + length);
      info.server = current_peer_;
      info.transport = current_transport_;
      auto reply = parse_dns_reply(info.response);
      if (!reply) {
        info.status = ResolveStatus::bad_response;
        info.detail = reply.error().message();
        if (length >= 4) info.rcode = answer[3] & 0x0f;
        return r;
      }
      info.rcode = reply->rcode;
      info.status = classify(*reply, p.type);
      if (info.status == ResolveStatus::nodata) {
        info.detail = fmt::format("NOERROR without {} records from {}", type_name(p.type), info.server);
      } else if (info.status != ResolveStatus::ok) {
        info.detail = fmt::format("{} from {}", rcode_name(reply->rcode), info.server);
      }
      r.reply = std::move(*reply);
      return r;
    }
    info.status = map_status(status, p);
    info.detail = ares_strerror(status);
    if (info.status == ResolveStatus::truncated_tcp_failed) {
      info.detail = fmt::format("the UDP answer was truncated and the TCP retry failed: {}", ares_strerror(status));
    } else if (info.status == ResolveStatus::connection_closed) {
      info.detail = "the server closed the TCP connection without answering";
    } else if (status == ARES_ECONNREFUSED && p.last_error_rcode >= 0 && info.status != ResolveStatus::connection_refused) {
      info.detail = fmt::format("every try was answered {} (c-ares discarded the answers)",
                                rcode_name(static_cast<std::uint8_t>(p.last_error_rcode)));
    }
    return r;
  }

  static ResolveStatus classify(const DnsReply& reply, std::uint16_t type) {
    switch (reply.rcode) {
      case kRcodeNoError: return reply.answers_of_type(type).empty() ? ResolveStatus::nodata : ResolveStatus::ok;
      case kRcodeNxDomain: return ResolveStatus::nxdomain;
      case kRcodeServFail: return ResolveStatus::servfail;
      case kRcodeRefused: return ResolveStatus::refused;
      case kRcodeFormErr: return ResolveStatus::formerr;
      case kRcodeNotImp: return ResolveStatus::notimp;
      default: return ResolveStatus::other_rcode;
    }
  }

  static ResolveStatus map_status(int status, const Pending& p) {
    switch (status) {
      case ARES_ETIMEOUT:
        return p.truncated_udp ? ResolveStatus::truncated_tcp_failed : ResolveStatus::timeout;
      case ARES_ECONNREFUSED:
        // c-ares 1.18 ends with ECONNREFUSED (its initial error status) for every failure that is
        // not a timeout: EOF on TCP, and also when every try was answered with SERVFAIL, REFUSED
        // or NOTIMP and discarded (next_server_on_error_rcode). The socket layer saw which.
        if (p.truncated_udp) return ResolveStatus::truncated_tcp_failed;
        if (p.tcp_dropped) return ResolveStatus::connection_closed;
        switch (p.last_error_rcode) {
          case kRcodeServFail: return ResolveStatus::servfail;
          case kRcodeRefused: return ResolveStatus::refused;
          case kRcodeNotImp: return ResolveStatus::notimp;
          default: return ResolveStatus::connection_refused;
        }
      case ARES_ESERVFAIL: return ResolveStatus::servfail;
      case ARES_EREFUSED: return ResolveStatus::refused;
      case ARES_ENOTIMP: return ResolveStatus::notimp;
      case ARES_EFORMERR: return ResolveStatus::formerr;
      case ARES_EBADRESP: return ResolveStatus::bad_response;
      case ARES_EBADQUERY:
      case ARES_EBADNAME: return ResolveStatus::bad_name;
      case ARES_EDESTRUCTION:
      case ARES_ECANCELLED: return ResolveStatus::cancelled;
      default: return ResolveStatus::error;
    }
  }

  // ---- c-ares callbacks (run inside c-ares: record, post, never call back into c-ares) ----

  static void on_answer(void* arg, int status, int timeouts, unsigned char* answer, int length) noexcept {
    auto* p = static_cast<Pending*>(arg);
    Impl& self = *p->impl;
    auto node = self.pending_.extract(p->qid);
    try {
      auto result = self.make_result(*p, status, timeouts, answer, length);
      self.complete(*p, std::move(result));
    } catch (...) {
      // Out of memory while building the result: the awaiting coroutine is destroyed with it.
    }
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
    auto& self = *static_cast<Impl*>(data);
    const auto it = self.sockets_.find(fd);
    if (it == self.sockets_.end()) return;
    const auto watch = it->second;
    watch->want_read = readable != 0;
    watch->want_write = writable != 0;
    if (!watch->want_read && !watch->want_write) {
      self.abandon_waits(*watch);
      return;
    }
    try {
      self.arm(watch);
    } catch (...) {
      // Could not start a wait: c-ares' own timeout still ends the query.
    }
  }

  static ares_socket_t sock_open(int domain, int type, int protocol, void* data) noexcept {
    auto& self = *static_cast<Impl*>(data);
    // c-ares leaves user-managed sockets unconfigured: non-blocking is required by its read loop.
    const int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) return ARES_SOCKET_BAD;
    if (type == SOCK_STREAM) {
      int one = 1;
      (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    try {
      self.sockets_[fd] = std::make_shared<SocketWatch>(self.executor_, fd, type);
    } catch (...) {
      ::close(fd);
      errno = ENOMEM;
      return ARES_SOCKET_BAD;
    }
    return fd;
  }

  static int sock_close(ares_socket_t fd, void* data) noexcept {
    auto& self = *static_cast<Impl*>(data);
    if (const auto it = self.sockets_.find(fd); it != self.sockets_.end()) {
      SocketWatch& watch = *it->second;
      self.abandon_waits(watch);
      watch.closed = true;
      (void)watch.descriptor.release();  // Asio lets go of the fd; c-ares closes it below
      self.sockets_.erase(it);
    }
    return ::close(fd);
  }

  static int sock_connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t length, void* data) noexcept {
    auto& self = *static_cast<Impl*>(data);
    const int rc = ::connect(fd, addr, length);
    const int saved = errno;
    if (const auto it = self.sockets_.find(fd); it != self.sockets_.end()) {
      it->second->peer = endpoint_text(addr, length);
    }
    errno = saved;
    return rc;
  }

  static ares_ssize_t sock_recvfrom(ares_socket_t fd, void* buffer, size_t length, int flags, sockaddr* from,
                                    ares_socklen_t* from_length, void* data) noexcept {
    auto& self = *static_cast<Impl*>(data);
    // c-ares passes `from` for UDP reads only.
    const ssize_t n = from != nullptr ? ::recvfrom(fd, buffer, length, flags, from, from_length)
                                      : ::recv(fd, buffer, length, flags);
    const int saved = errno;
    if (from != nullptr && n >= static_cast<ssize_t>(kDnsHeaderSize)) {
      const auto* b = static_cast<const std::uint8_t*>(buffer);
      const bool response = (b[2] & 0x80) != 0;
      const bool truncated = (b[2] & 0x02) != 0;
      const auto qid = static_cast<std::uint16_t>((b[0] << 8) | b[1]);
      if (response && truncated) self.note_truncated(qid);
      if (response) self.note_rcode(qid, static_cast<std::uint8_t>(b[3] & 0x0f));
    } else if (from == nullptr && (n == 0 || (n < 0 && (saved == ECONNRESET || saved == EPIPE)))) {
      self.note_tcp_dropped(fd);
    }
    errno = saved;
    return n;
  }

  static ares_ssize_t sock_sendv(ares_socket_t fd, const iovec* vec, int count, void* data) noexcept {
    auto& self = *static_cast<Impl*>(data);
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(vec);  // sendmsg does not write through it
    message.msg_iovlen = static_cast<std::size_t>(count);
    const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);  // a reset TCP peer must not raise SIGPIPE
    const int saved = errno;
    if (n > 0) {
      try {
        self.note_sent(fd, vec, count, static_cast<std::size_t>(n));
      } catch (...) {
      }
    } else if (n < 0 && (saved == ECONNRESET || saved == EPIPE)) {
      self.note_tcp_dropped(fd);
    }
    errno = saved;
    return n;
  }

  // ---- bookkeeping for evidence ----

  Pending* find(std::uint16_t qid) {
    const auto it = pending_.find(qid);
    return it == pending_.end() ? nullptr : it->second.get();
  }

  void note_truncated(std::uint16_t qid) {
    if (auto* p = find(qid)) p->truncated_udp = true;
  }

  void note_rcode(std::uint16_t qid, std::uint8_t rcode) {
    if (rcode != kRcodeServFail && rcode != kRcodeRefused && rcode != kRcodeNotImp) return;
    if (auto* p = find(qid)) p->last_error_rcode = rcode;
  }

  void note_tcp_dropped(int fd) {
    const auto it = sockets_.find(fd);
    if (it == sockets_.end()) return;
    for (auto qid : it->second->qids_sent) {
      if (auto* p = find(qid)) p->tcp_dropped = true;
    }
  }

  void note_query_sent(std::uint16_t qid, const std::string& peer) {
    auto* p = find(qid);
    if (p == nullptr) return;
    ++p->sends;
    if (!peer.empty() && std::find(p->servers_asked.begin(), p->servers_asked.end(), peer) == p->servers_asked.end()) {
      p->servers_asked.push_back(peer);
    }
  }

  void note_sent(int fd, const iovec* vec, int count, std::size_t written) {
    const auto it = sockets_.find(fd);
    if (it == sockets_.end()) return;
    SocketWatch& w = *it->second;
    if (w.type == SOCK_DGRAM) {  // one datagram is one whole query
      std::array<std::uint8_t, 2> id{};
      std::size_t got = 0;
      for (int i = 0; i < count && got < id.size(); ++i) {
        const auto* b = static_cast<const std::uint8_t*>(vec[i].iov_base);
        for (std::size_t j = 0; j < vec[i].iov_len && got < id.size(); ++j) id[got++] = b[j];
      }
      if (got == id.size()) note_query_sent(static_cast<std::uint16_t>((id[0] << 8) | id[1]), w.peer);
      return;
    }
    // TCP: a stream of (16-bit length, message) frames, possibly split across writes.
    for (int i = 0; i < count && written > 0; ++i) {
      const auto* b = static_cast<const std::uint8_t*>(vec[i].iov_base);
      const std::size_t take = std::min(written, vec[i].iov_len);
      written -= take;
      for (std::size_t j = 0; j < take; ++j) {
        if (w.skip > 0) {
          --w.skip;
          continue;
        }
        w.head[w.head_len++] = b[j];
        if (w.head_len < w.head.size()) continue;
        const std::size_t frame = (static_cast<std::size_t>(w.head[0]) << 8) | w.head[1];
        const auto qid = static_cast<std::uint16_t>((w.head[2] << 8) | w.head[3]);
        w.skip = frame >= 2 ? frame - 2 : 0;
        w.head_len = 0;
        w.qids_sent.push_back(qid);
        note_query_sent(qid, w.peer);
      }
    }
  }

  // ---- Asio side ----

  void abandon_waits(SocketWatch& w) {
    ++w.generation;
    w.read_armed = false;
    w.write_armed = false;
    boost::system::error_code ignored;
    w.descriptor.cancel(ignored);
  }

  void arm(const std::shared_ptr<SocketWatch>& w) {
    if (w->closed) return;
    if (w->want_read && !w->read_armed) start_wait(w, true);
    if (w->want_write && !w->write_armed) start_wait(w, false);
  }

  void start_wait(const std::shared_ptr<SocketWatch>& w, bool read) {
    (read ? w->read_armed : w->write_armed) = true;
    w->descriptor.async_wait(
        read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
        [weak = weak_from_this(), w, read, generation = w->generation](const boost::system::error_code& ec) {
          if (generation != w->generation) return;  // abandoned: the socket was closed or idled
          (read ? w->read_armed : w->write_armed) = false;
          if (ec == asio::error::operation_aborted) return;
          if (auto self = weak.lock()) self->on_ready(w, read);
        });
  }

  void on_ready(const std::shared_ptr<SocketWatch>& w, bool read) {
    if (!channel_ || w->closed) return;
    if (read ? !w->want_read : !w->want_write) return;  // c-ares withdrew interest meanwhile
    current_peer_ = w->peer;
    current_transport_ = w->type == SOCK_STREAM ? DnsTransport::tcp : DnsTransport::udp;
    ares_process_fd(channel_, read ? w->fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : w->fd);
    current_peer_.clear();
    current_transport_ = DnsTransport::none;
    arm(w);
    rearm_timer();
  }

  void rearm_timer() {
    if (!channel_) return;
    timeval buffer{};
    const timeval* next = ares_timeout(channel_, nullptr, &buffer);
    if (next == nullptr) {
      timer_.cancel();
      return;
    }
    timer_.expires_after(std::chrono::seconds(next->tv_sec) + std::chrono::microseconds(next->tv_usec));
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_timer();
    });
  }

  void on_timer() {
    if (!channel_) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm_timer();
  }

 public:
  asio::any_io_executor executor_;
  ResolverOptions options_;
  ares_channel channel_ = nullptr;
  asio::steady_timer timer_;
  std::mt19937_64 ids_;
  std::uint64_t serial_ = 0;
  std::unordered_map<int, std::shared_ptr<SocketWatch>> sockets_;
  std::unordered_map<std::uint16_t, std::unique_ptr<Pending>> pending_;
  // The socket being processed, so an accepted answer can name its server and transport.
  std::string current_peer_;
  DnsTransport current_transport_ = DnsTransport::none;
};

const ares_socket_functions Resolver::Impl::kSocketFunctions = {
    &Resolver::Impl::sock_open, &Resolver::Impl::sock_close, &Resolver::Impl::sock_connect,
    &Resolver::Impl::sock_recvfrom, &Resolver::Impl::sock_sendv};

// ---- Resolver ----

Result<Resolver> Resolver::create(asio::any_io_executor executor, ResolverOptions options) {
  std::vector<DnsServerAddress> servers;
  for (const auto& text : options.servers) {
    auto server = parse_dns_server(text);
    if (!server) return server.error();
    servers.push_back(*server);
  }
  if (options.timeout.count() <= 0 || options.timeout.count() > 600000) {
    return make_error(Errc::bad_value, 0, "timeout must be between 1 ms and 10 minutes");
  }
  if (options.tries < 1 || options.tries > 10) return make_error(Errc::bad_value, 0, "tries must be in 1..10");
  if (const int status = ensure_ares_library(); status != ARES_SUCCESS) {
    return make_error(Errc::unsupported, 0, fmt::format("ares_library_init: {}", ares_strerror(status)));
  }
  auto impl = std::make_shared<Impl>(std::move(executor), std::move(options));
  if (auto ok = impl->init(servers); !ok) return ok.error();
  return Resolver(std::move(impl));
}

Resolver::Resolver(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Resolver::Resolver(Resolver&&) noexcept = default;

Resolver& Resolver::operator=(Resolver&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Resolver::~Resolver() {
  // Queries hold the Impl alive until they resume; closing here completes them as cancelled.
  if (impl_) impl_->close();
}

Result<void> Resolver::set_servers(const std::vector<std::string>& servers) {
  std::vector<DnsServerAddress> parsed;
  for (const auto& text : servers) {
    auto server = parse_dns_server(text);
    if (!server) return server.error();
    parsed.push_back(*server);
  }
  return impl_->apply_servers(parsed);
}

std::vector<std::string> Resolver::servers() const { return impl_->servers(); }

std::size_t Resolver::outstanding() const { return impl_->pending_.size(); }

asio::awaitable<DnsQueryResult> Resolver::query(std::string name, std::uint16_t type) {
  const std::shared_ptr<Impl> impl = impl_;
  co_return co_await impl->async_query(std::move(name), type);
}

namespace {

std::optional<HostAddress> to_host_address(const DnsReplyRecord& record) {
  if (const auto* v4 = std::get_if<DnsIpv4Data>(&record.data)) {
    return HostAddress{record.name, asio::ip::address_v4(v4->octets), record.ttl};
  }
  if (const auto* v6 = std::get_if<DnsIpv6Data>(&record.data)) {
    return HostAddress{record.name, asio::ip::address_v6(v6->octets), record.ttl};
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<SrvResult> Resolver::query_srv(std::string name) {
  const std::shared_ptr<Impl> impl = impl_;
  DnsQueryResult raw = co_await impl->async_query(std::move(name), kDnsTypeSrv);
  SrvResult out;
  out.info = std::move(raw.info);
  if (raw.reply) {
    for (const auto& record : raw.reply->records) {
      if (record.section == DnsSection::answer) {
        if (const auto* srv = std::get_if<DnsSrvData>(&record.data)) {
          out.records.push_back(SrvRecord{srv->priority, srv->weight, srv->port, srv->target, record.ttl});
        }
      } else if (record.section == DnsSection::additional) {
        if (auto address = to_host_address(record)) out.additional.push_back(std::move(*address));
      }
    }
  }
  co_return out;
}

namespace {

AddressResult to_address_result(DnsQueryResult raw, std::uint16_t type) {
  AddressResult out;
  out.info = std::move(raw.info);
  if (raw.reply) {
    for (const auto& record : raw.reply->records) {
      if (record.section != DnsSection::answer) continue;
      if (record.type == kDnsTypeCname) {
        out.aliases.push_back(record.name);
      } else if (record.type == type) {
        if (auto address = to_host_address(record)) out.addresses.push_back(std::move(*address));
      }
    }
  }
  return out;
}

}  // namespace

asio::awaitable<AddressResult> Resolver::query_a(std::string host) {
  const std::shared_ptr<Impl> impl = impl_;
  co_return to_address_result(co_await impl->async_query(std::move(host), kDnsTypeA), kDnsTypeA);
}

asio::awaitable<AddressResult> Resolver::query_aaaa(std::string host) {
  const std::shared_ptr<Impl> impl = impl_;
  co_return to_address_result(co_await impl->async_query(std::move(host), kDnsTypeAaaa), kDnsTypeAaaa);
}

}  // namespace kmslab::client
