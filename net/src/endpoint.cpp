#include "kmslab/net/endpoint.hpp"

#include <fmt/format.h>

#include <charconv>

namespace kmslab::net {

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::optional<HostPort> split_host_port(std::string_view text, std::uint16_t default_port) {
  HostPort out;
  out.port = default_port;
  std::string_view port_text;
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      out.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;
    } else {
      out.host = std::string(text);  // no colon, or a bare IPv6 literal with several
    }
  }
  if (out.host.empty()) return std::nullopt;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

boost::system::result<tcp::endpoint, std::string> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  auto hp = split_host_port(text, default_port);
  if (!hp) return fmt::format("'{}' is not host:port (port 0..65535; IPv6 as [addr]:port)", text);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(hp->host, ec);
  if (ec) return fmt::format("'{}' is not a numeric IPv4 or IPv6 address", hp->host);
  return tcp::endpoint(address, hp->port);
}

namespace {
template <class Endpoint>
std::string format_any(const Endpoint& e) {
  if (e.address().is_v6()) return fmt::format("[{}]:{}", e.address().to_string(), e.port());
  return fmt::format("{}:{}", e.address().to_string(), e.port());
}
}  // namespace

std::string format_endpoint(const tcp::endpoint& endpoint) { return format_any(endpoint); }
std::string format_endpoint(const udp::endpoint& endpoint) { return format_any(endpoint); }

bool is_loopback(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_v4().is_loopback();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

}  // namespace kmslab::net
