#include "kmslab/net/endpoint.hpp"

#include <gtest/gtest.h>

namespace kmslab::net {
namespace {

TEST(SplitHostPort, Forms) {
  auto a = split_host_port("kms1.corp.example:1689", 1688);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "kms1.corp.example");
  EXPECT_EQ(a->port, 1689);
  EXPECT_EQ(split_host_port("kms1", 1688)->port, 1688);
  auto v6 = split_host_port("[::1]:53", 1688);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 53);
  EXPECT_EQ(v6->to_string(), "[::1]:53");
  EXPECT_EQ(split_host_port("::1", 1688)->host, "::1");
  EXPECT_EQ(split_host_port("[::1]", 7)->port, 7);
  for (const char* bad : {"", ":53", "host:", "host:65536", "host:x", "[::1", "[::1]x", "[::1]:"})
    EXPECT_FALSE(split_host_port(bad, 1)) << bad;
}

TEST(ParseEndpoint, NumericOnly) {
  auto e = parse_endpoint("127.0.0.1:0", 1688);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port(), 0);
  EXPECT_TRUE(parse_endpoint("[::1]:1688", 1)->address().is_v6());
  auto bad = parse_endpoint("localhost:1688", 1);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("numeric"), std::string::npos);
  EXPECT_EQ(format_endpoint(*parse_endpoint("[::1]:9", 1)), "[::1]:9");
}

TEST(IsLoopback, Ranges) {
  EXPECT_TRUE(is_loopback(asio::ip::make_address("127.1.2.3")));
  EXPECT_TRUE(is_loopback(asio::ip::make_address("::1")));
  EXPECT_TRUE(is_loopback(asio::ip::make_address("::ffff:127.0.0.1")));
  EXPECT_FALSE(is_loopback(asio::ip::make_address("10.0.0.1")));
  EXPECT_FALSE(is_loopback(asio::ip::make_address("::")));
}

}  // namespace
}  // namespace kmslab::net
