// "host:port" text as users type it on the command line and in YAML.
//
// split_host_port() is pure text work (a name or an address; "[v6]:port"; a bare host takes the
// default port). parse_endpoint() additionally requires a numeric IPv4/IPv6 address, for listen
// addresses and for tests that must never touch DNS.
#pragma once

#include "kmslab/net/asio.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kmslab::net {

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  std::string to_string() const;  // brackets around IPv6 literals
};

// nullopt when the text is empty, the port is not a number in 0..65535, or brackets are unbalanced.
std::optional<HostPort> split_host_port(std::string_view text, std::uint16_t default_port);

// Numeric address + port. Error message names the text and what is wrong.
boost::system::result<tcp::endpoint, std::string> parse_endpoint(std::string_view text, std::uint16_t default_port);

// "127.0.0.1:1688", "[::1]:53".
std::string format_endpoint(const tcp::endpoint& endpoint);
std::string format_endpoint(const udp::endpoint& endpoint);

// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
bool is_loopback(const asio::ip::address& address);

}  // namespace kmslab::net
