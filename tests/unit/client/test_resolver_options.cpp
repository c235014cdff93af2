// The resolver's pure parts: server strings and status names (no sockets, no c-ares traffic).
#include "kmslab/client/resolver.hpp"

#include <gtest/gtest.h>

#include <set>

namespace kmslab::client {
namespace {

TEST(DnsServer, ParsesAddressesWithAndWithoutPorts) {
  struct Case {
    const char* text;
    const char* address;
    std::uint16_t port;
    const char* canonical;
  };
  for (const auto& c : {Case{"192.0.2.1", "192.0.2.1", 53, "192.0.2.1:53"},
                        Case{"127.0.0.1:5353", "127.0.0.1", 5353, "127.0.0.1:5353"},
                        Case{"[2001:db8::1]:5353", "2001:db8::1", 5353, "[2001:db8::1]:5353"},
                        Case{"[::1]", "::1", 53, "[::1]:53"},
                        Case{"::1", "::1", 53, "[::1]:53"},
                        Case{"fe80::1:2", "fe80::1:2", 53, "[fe80::1:2]:53"},
                        Case{"10.0.0.1:65535", "10.0.0.1", 65535, "10.0.0.1:65535"}}) {
    auto s = parse_dns_server(c.text);
    ASSERT_TRUE(s) << c.text << ": " << s.error().message();
    EXPECT_EQ(s->address, asio::ip::make_address(c.address)) << c.text;
    EXPECT_EQ(s->port, c.port) << c.text;
    EXPECT_EQ(s->to_string(), c.canonical);
    EXPECT_EQ(parse_dns_server(s->to_string()).value(), *s) << "canonical form parses back";
  }
}

TEST(DnsServer, RejectsMalformedServersWithTheOffendingPosition) {
  struct Case {
    const char* text;
    std::size_t offset;
  };
  for (const auto& c : {Case{"", 0}, Case{"kms.corp.test", 0}, Case{"kms.corp.test:53", 0},
                        Case{"127.0.0.1:", 10}, Case{"127.0.0.1:0", 10}, Case{"127.0.0.1:65536", 10},
                        Case{"127.0.0.1:53x", 10}, Case{"[::1", 0}, Case{"[::1]53", 5}, Case{"[::1]:", 6},
                        Case{"[127.0.0.1]:53", 1}, Case{"300.0.0.1", 0}}) {
    auto s = parse_dns_server(c.text);
    ASSERT_FALSE(s) << c.text;
    EXPECT_EQ(s.error().code, protocol::Errc::bad_value) << c.text;
    EXPECT_EQ(s.error().offset, c.offset) << c.text << ": " << s.error().message();
  }
}

TEST(ResolveStatusText, EveryStatusHasADistinctName) {
  std::set<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(ResolveStatus::error); ++i) {
    const auto name = to_string(static_cast<ResolveStatus>(i));
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(ResolveStatus::error) + 1);
  EXPECT_EQ(to_string(DnsTransport::tcp), "tcp");
}

}  // namespace
}  // namespace kmslab::client
