// Hostile input to a running KMS host over TCP (issue 8): over 10,000 seeded messages — garbage
// framing, frag_length beyond the PDU limit, PDUs cut off part-way, random and mutated PDUs with
// valid framing — one per connection, while 200 idle connections and a few slow-drip clients hold
// descriptors. Afterwards: a real client still activates, every connection and
// descriptor is gone, and the host's counters account for every message that arrived.
#include "hostile_util.hpp"

#include <gtest/gtest.h>

namespace kmslab::test {
namespace {

namespace rpc = kmslab::protocol::rpc;
using Bytes = protocol::Bytes;

constexpr std::uint64_t kKmsSeed = 0x6b6d73;  // printed on failure; same seed, same messages
constexpr std::size_t kKmsMessages = 10'000;
constexpr std::size_t kHeld = 200;
constexpr std::size_t kSlowDrip = 8;

// The connection-oriented ptypes pdu_length accepts (rpc_header.hpp).
constexpr std::uint8_t kPtypes[] = {0, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 19};

Bytes framed(Hostile& h, std::size_t length) {
  Bytes pdu = h.random(length);
  pdu[0] = 5;
  pdu[1] = 0;
  pdu[2] = kPtypes[h.uniform(0, std::size(kPtypes) - 1)];
  pdu[4] = 0x10;
  pdu[5] = pdu[6] = pdu[7] = 0;
  pdu[8] = static_cast<std::uint8_t>(length);
  pdu[9] = static_cast<std::uint8_t>(length >> 8);
  return pdu;
}

struct Sent {
  std::size_t garbage = 0;    // >= 10 bytes whose prefix cannot start a PDU
  std::size_t short_input = 0;  // 1..9 bytes, then EOF
  std::size_t oversized = 0;  // frag_length above max_pdu_size
  std::size_t cut = 0;        // a valid prefix, then EOF before frag_length bytes
  std::size_t framed = 0;     // complete PDUs (random or mutated) the host must read
  std::size_t total() const { return garbage + short_input + oversized + cut + framed; }
};

// Sends `count` hostile messages, one per connection (half-closed, drained, then reset so no
// TIME_WAIT is left on the client side). Returns "" or what went wrong.
std::string flood(std::uint16_t port, std::uint64_t seed, std::size_t count, std::size_t max_pdu_size, Sent& sent) {
  Hostile h(seed);
  const Bytes bind = rpc::encode(rpc::make_client_bind()).value();
  for (std::size_t i = 0; i < count; ++i) {
    Bytes message;
    switch (i % 6) {
      case 0:
        message = h.random(10, 600);
        if (message[0] == 5) message[0] = 4;
        ++sent.garbage;
        break;
      case 1:
        message = h.random(1, 9);
        ++sent.short_input;
        break;
      case 2: {
        message = framed(h, 16);
        const std::size_t length = h.uniform(max_pdu_size + 1, 65535);
        message[8] = static_cast<std::uint8_t>(length);
        message[9] = static_cast<std::uint8_t>(length >> 8);
        message.resize(h.uniform(10, 64));
        ++sent.oversized;
        break;
      }
      case 3:
        message = Bytes(bind.begin(), bind.begin() + static_cast<std::ptrdiff_t>(h.uniform(10, bind.size() - 1)));
        ++sent.cut;
        break;
      case 4:
        message = framed(h, h.uniform(16, 600));
        ++sent.framed;
        break;
      default:
        message = h.mutate(bind, rpc::kFramingPrefixSize);
        ++sent.framed;
        break;
    }
    RawTcp tcp;
    if (tcp.connect(port, 2000ms) != ConnectOutcome::connected) return fmt::format("seed {:#x}: connect {} failed", seed, i);
    (void)tcp.send(message);  // the host may reset before it takes everything: that is fine
    shutdown_write(tcp);
    if (!drain_until_closed(tcp, 3000ms)) return fmt::format("seed {:#x}: the host kept message {} open", seed, i);
    abort_close(tcp);
  }
  return "";
}

TEST(HostileKms, TenThousandBadMessagesThenAGoodActivation) {
  auto config = lab_site();
  auto& spec = config.kms_hosts.at(0);
  spec.read_timeout = 400ms;
  spec.idle_timeout = 20s;
  spec.max_pdu_size = 4096;
  RunningSite site(config);
  auto* host = site->kms_host("kms1");
  const auto port = site.kms_port();
  const auto& c = host->counters();
  const std::size_t fds_before = open_fds();
  SCOPED_TRACE(fmt::format("seeds {:#x}, {:#x}", kKmsSeed, kKmsSeed + 1));

  // Held connections: idle (no byte of a PDU, so only idle_timeout bounds them) until the flood
  // is over. A connection holding part of a PDU is cut by read_timeout, as the slow drips are.
  std::vector<std::unique_ptr<RawTcp>> held;
  for (std::size_t i = 0; i < kHeld; ++i) {
    held.push_back(std::make_unique<RawTcp>());
    ASSERT_EQ(held.back()->connect(port, 2000ms), ConnectOutcome::connected);
  }
  // Slow drip: a whole prefix announcing 72 bytes, then silence: read_timeout cuts them off.
  std::vector<std::unique_ptr<RawTcp>> slow;
  for (std::size_t i = 0; i < kSlowDrip; ++i) {
    slow.push_back(std::make_unique<RawTcp>());
    ASSERT_EQ(slow.back()->connect(port, 2000ms), ConnectOutcome::connected);
    ASSERT_TRUE(slow.back()->send({5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0}));
  }

  // Two client threads, each with its own seeded stream: the host's single thread is the one
  // under test, and two clients keep it busy on a loaded machine.
  Sent sent[2];
  std::string failure[2];
  const auto started = std::chrono::steady_clock::now();
  std::thread workers[2];
  for (int t = 0; t < 2; ++t)
    workers[t] = std::thread([&, t] {
      failure[t] = flood(port, kKmsSeed + static_cast<std::uint64_t>(t), kKmsMessages / 2, spec.max_pdu_size, sent[t]);
    });
  for (auto& w : workers) w.join();
  ASSERT_EQ(failure[0], "");
  ASSERT_EQ(failure[1], "");
  Sent all;
  for (const auto& one : sent) {
    all.garbage += one.garbage;
    all.short_input += one.short_input;
    all.oversized += one.oversized;
    all.cut += one.cut;
    all.framed += one.framed;
  }
  const auto flood = std::chrono::steady_clock::now() - started;

  // The slow-drip clients were cut off by the read deadline while the flood ran (or soon after).
  for (auto& s : slow) EXPECT_TRUE(drain_until_closed(*s, 3000ms));
  for (auto& s : slow) abort_close(*s);
  for (auto& held_one : held) abort_close(*held_one);
  held.clear();
  slow.clear();

  // A real client still gets a verified activation.
  auto good = kms_exchange(port, make_test_request(protocol::kKmsV6));
  EXPECT_TRUE(good.activated()) << good.describe();

  ASSERT_TRUE(eventually([&] { return host->open_connections() == 0; }, 5000ms)) << host->open_connections();
  EXPECT_TRUE(eventually([&] { return open_fds() == fds_before; }, 2000ms))
      << "descriptors before " << fds_before << ", after " << open_fds();

  // Accounting: every connection was accepted; every message that arrived is counted once.
  const auto j = host->counters_json();
  SCOPED_TRACE(j.dump());
  const std::size_t connections = all.total() + kHeld + kSlowDrip + 1;
  EXPECT_EQ(j["connections_accepted"].get<std::uint64_t>(), connections);
  EXPECT_EQ(j["connections_rejected"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(c.timeouts.load(), kSlowDrip);
  EXPECT_EQ(c.incomplete.load(), all.short_input + all.cut);
  EXPECT_EQ(c.oversized.load(), all.oversized);
  // The good exchange is a bind and a request (plus an alter_context when the bind asks).
  const std::uint64_t good_pdus = 2 + c.alter_contexts.load();
  EXPECT_EQ(c.pdus.load(), all.framed + good_pdus);
  ASSERT_GE(c.malformed.load(), all.garbage + all.oversized);
  const std::uint64_t malformed_pdus = c.malformed.load() - all.garbage - all.oversized;
  const std::uint64_t classified = c.binds + c.alter_contexts + c.bind_naks + c.requests + c.rpc_faults + c.ignored +
                                   c.partials + malformed_pdus;
  EXPECT_EQ(classified, c.pdus.load());
  EXPECT_EQ(c.activations.load(), 1u);
  RecordProperty("flood_ms", static_cast<int>(std::chrono::duration_cast<Millis>(flood).count()));
  std::printf("kms flood: %zu messages on %zu connections in %lld ms; %s\n", all.total(), connections,
              static_cast<long long>(std::chrono::duration_cast<Millis>(flood).count()), j.dump().c_str());
}

}  // namespace
}  // namespace kmslab::test
