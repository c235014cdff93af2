// Hostile input to the control API over HTTP (issue 8), with a bearer token required: 10,000+
// seeded requests — no token, a wrong token, methods no route allows, bodies that are not JSON or
// not a fault, unknown paths — pipelined on keep-alive connections, and, one per connection,
// bodies above the limit, oversized headers, bytes that are not HTTP and requests cut off by EOF.
// Afterwards a good request still adds a fault, every connection and descriptor is gone, and the
// server's counters account for every request and every rejected message.
#include "hostile_util.hpp"

#include "kmslab/simulator/control_api.hpp"

#include <gtest/gtest.h>

#include <map>

namespace kmslab::test {
namespace {

using Bytes = protocol::Bytes;

constexpr std::uint64_t kControlSeed = 0x68747470;
constexpr std::size_t kControlMessages = 10'000;
constexpr std::string_view kToken = "s3cret-token-0123456789";
constexpr std::size_t kBodyLimit = 8 * 1024;

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

std::string request(std::string_view method, std::string_view target, std::string_view body, std::string_view token) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, target);
  if (!token.empty()) out += fmt::format("Authorization: Bearer {}\r\n", token);
  if (!body.empty() || method == "POST" || method == "PUT")
    out += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
  return out + "\r\n" + std::string(body);
}

// Status codes of the complete responses in `stream` (each has a Content-Length, as ours do).
std::vector<int> statuses(const Bytes& stream) {
  const std::string text(stream.begin(), stream.end());
  std::vector<int> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find("\r\n\r\n", at);
    if (end == std::string::npos || text.compare(at, 9, "HTTP/1.1 ") != 0) break;
    out.push_back(std::stoi(text.substr(at + 9, 3)));
    std::size_t length = 0;
    const auto cl = text.find("Content-Length: ", at);
    if (cl != std::string::npos && cl < end) length = std::stoul(text.substr(cl + 16));
    at = end + 4 + length;
  }
  return out;
}

std::string alnum(Hostile& h, std::size_t n) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(kChars[h.uniform(0, sizeof kChars - 2)]);
  return s;
}

TEST(HostileControlApi, TenThousandBadRequestsThenAGoodOne) {
  RunningSite site(lab_site());
  simulator::ControlApi api(*site, {.listen = "127.0.0.1:0", .token = std::string(kToken), .body_limit = kBodyLimit, .max_connections = 64, .read_timeout = std::chrono::milliseconds{5000}, .metrics = {}});
  auto started = api.start(site.io().get_executor());
  ASSERT_TRUE(started) << started.error();
  const auto port = started->port();
  const auto& c = api.http().counters();
  const std::size_t fds_before = open_fds();
  Hostile h(kControlSeed);
  SCOPED_TRACE(fmt::format("seed {:#x}", kControlSeed));

  std::size_t pipelined = 0, no_token = 0, too_large = 0, not_http = 0, cut = 0, connections = 0;
  std::map<int, std::size_t> seen;
  const std::string fault = R"({"target":"dns","action":"servfail"})";
  while (pipelined + too_large + not_http + cut < kControlMessages) {
    std::string stream;
    std::size_t expected_responses = 0;
    const std::size_t kind = connections % 10;
    if (kind < 7) {
      for (std::size_t k = 0, n = h.uniform(15, 35); k < n; ++k, ++pipelined, ++expected_responses) {
        switch (h.uniform(0, 6)) {
          case 0: stream += request("GET", "/faults", "", ""); ++no_token; break;
          case 1: stream += request("POST", "/faults", fault, "wrong-token-" + alnum(h, 3)); ++no_token; break;
          case 2: stream += request(h.uniform(0, 1) ? "BREW" : "PATCH", "/faults", "", kToken); break;
          case 3: {
            const Bytes junk = h.random(1, 300);
            std::string body(junk.begin(), junk.end());
            stream += request("POST", "/faults", body, kToken);
            break;
          }
          case 4: {
            const Bytes mutated = h.mutate(bytes_of(fault));
            stream += request("POST", "/faults", std::string(mutated.begin(), mutated.end()), kToken);
            break;
          }
          case 5: stream += request("PUT", "/listeners/kms1", R"({"state":")" + alnum(h, 6) + "\"}", kToken); break;
          default: stream += request("GET", "/" + alnum(h, h.uniform(1, 40)), "", kToken); break;
        }
      }
    } else if (kind == 7) {
      // A body above the limit: announced, never sent; the server answers 413 from the headers.
      stream = request("POST", "/faults", "", kToken);
      stream.replace(stream.find("Content-Length: 0"), 17,
                     fmt::format("Content-Length: {}", h.uniform(kBodyLimit + 1, 100'000'000)));
      ++too_large;
      expected_responses = 1;
    } else if (kind == 8) {
      const Bytes junk = h.random(1, 400);
      stream.assign(junk.begin(), junk.end());
      stream += "\r\n\r\n";
      ++not_http;
      expected_responses = 1;
    } else {
      const std::string whole = request("POST", "/faults", fault, kToken);
      stream = whole.substr(0, h.uniform(1, whole.size() - 1));
      ++cut;
    }
    RawTcp tcp;
    ASSERT_EQ(tcp.connect(port, 2000ms), ConnectOutcome::connected);
    ++connections;
    (void)tcp.send(bytes_of(stream));
    shutdown_write(tcp);
    Bytes got;
    ASSERT_TRUE(drain_until_closed(tcp, 5000ms, &got)) << "connection " << connections << " left open";
    abort_close(tcp);
    const auto codes = statuses(got);
    if (kind != 9) {
      EXPECT_EQ(codes.size(), expected_responses) << "connection " << connections;
    }
    for (int code : codes) ++seen[code];
  }

  // A good request: the fault is added and listed.
  RawTcp tcp;
  ASSERT_EQ(tcp.connect(port, 2000ms), ConnectOutcome::connected);
  ASSERT_TRUE(tcp.send(bytes_of(request("POST", "/faults", R"({"name":"after-flood","target":"dns","action":"servfail"})", kToken))));
  shutdown_write(tcp);
  Bytes got;
  ASSERT_TRUE(drain_until_closed(tcp, 5000ms, &got));
  abort_close(tcp);
  ASSERT_EQ(statuses(got), std::vector<int>{201}) << std::string(got.begin(), got.end());
  EXPECT_TRUE(site.faults().find("after-flood").has_value());
  ++connections;

  ASSERT_TRUE(eventually([&] { return api.http().open_connections() == 0; }, 5000ms));
  EXPECT_TRUE(eventually([&] { return open_fds() == fds_before; }, 2000ms)) << fds_before << " vs " << open_fds();
  SCOPED_TRACE(fmt::format("requests {} unauthorized {} parse_errors {} too_large {} timeouts {} handler_errors {}",
                           c.requests.load(), c.unauthorized.load(), c.parse_errors.load(), c.too_large.load(),
                           c.timeouts.load(), c.handler_errors.load()));
  EXPECT_EQ(c.requests.load(), pipelined + 1);
  EXPECT_EQ(c.unauthorized.load(), no_token);
  EXPECT_EQ(seen[401], no_token);
  EXPECT_EQ(c.too_large.load(), too_large);
  EXPECT_EQ(seen[413], too_large);
  EXPECT_EQ(c.parse_errors.load(), not_http + cut);
  EXPECT_EQ(c.timeouts.load(), 0u);
  EXPECT_EQ(c.handler_errors.load(), 0u);
  EXPECT_EQ(seen[500], 0u);
  EXPECT_EQ(api.http().rejected_connections(), 0u);
  api.stop();
}

}  // namespace
}  // namespace kmslab::test
