// Every KMS / TCP fault against a running site on loopback, observed by a client that reports
// exactly what it saw: refused vs filtered vs silent by connect behaviour, resets, delays, trickle,
// truncation, damaged hash/MAC, RPC faults, bind_nak, in-band HRESULTs and policy overrides.
#include "fault_test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace kmslab::test {
namespace {

namespace p = kmslab::protocol;
using simulator::ListenerState;

p::KmsRequest v6() { return make_test_request(p::kKmsV6); }

class KmsFaults : public ::testing::Test {
 protected:
  RunningSite site_{lab_site()};
  std::uint16_t port() { return site_.kms_port(); }
  void set_state(ListenerState s) {
    ASSERT_TRUE(site_.faults().set_listener_state("kms1", s));
    ASSERT_TRUE(eventually([&] { return site_->kms_host("kms1")->listener_state() == s; }));
  }
};

TEST_F(KmsFaults, HealthyControl) {
  auto x = kms_exchange(port(), v6());
  EXPECT_TRUE(x.activated()) << x.describe();
}

TEST_F(KmsFaults, RefusedFilteredAndSilentAreToldApartByConnect) {
  // refused: nothing listens, the kernel answers the SYN with RST at once.
  set_state(ListenerState::refused);
  RawTcp refused;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(refused.connect(port(), 1000ms), ConnectOutcome::refused);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);

  // filtered: SYNs are dropped, so connect neither completes nor fails: it times out.
  set_state(ListenerState::filtered);
  RawTcp filtered;
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(filtered.connect(port(), 400ms), ConnectOutcome::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - t1, 390ms);
  EXPECT_EQ(filtered.pending_error(), 0) << "no RST arrived either";
  filtered.close();

  // silent: connect succeeds, then nothing is ever answered, and the connection stays open.
  set_state(ListenerState::open);
  site_.add(R"({"name": "quiet", "target": "kms", "action": "silence"})");
  RawTcp silent;
  auto x = kms_exchange(port(), v6(), 300ms, &silent);
  EXPECT_EQ(x.connect, ConnectOutcome::connected);
  EXPECT_EQ(x.reached, KmsExchange::Step::bind);
  EXPECT_EQ(x.read, ReadStatus::timeout) << x.describe();
  EXPECT_EQ(silent.wait_event(100ms), ReadStatus::timeout) << "still open, still silent";
  EXPECT_EQ(site_.faults().find("quiet")->applied, 1u);

  // Back to normal.
  ASSERT_TRUE(site_.faults().remove("quiet"));
  EXPECT_TRUE(kms_exchange(port(), v6()).activated());
}

TEST_F(KmsFaults, ListenerFaultsHoldTheStateWhileTheyExist) {
  site_.add(R"({"name": "fw", "target": "kms", "host": "kms1", "action": "filtered"})");
  ASSERT_TRUE(eventually([&] { return site_->kms_host("kms1")->listener_state() == ListenerState::filtered; }));
  RawTcp c;
  EXPECT_EQ(c.connect(port(), 300ms), ConnectOutcome::timed_out);
  c.close();
  EXPECT_TRUE(kms_exchange(site_.kms_port("kms2"), v6()).activated()) << "kms2 is not affected";
  ASSERT_TRUE(site_.faults().remove("fw"));
  ASSERT_TRUE(eventually([&] { return site_->kms_host("kms1")->listener_state() == ListenerState::open; }));
  EXPECT_TRUE(kms_exchange(port(), v6()).activated()) << "the same port serves again";
}

TEST_F(KmsFaults, SilenceEndsAtTheHostsIdleDeadline) {
  RunningSite short_idle{lab_site(150ms)};
  short_idle.add(R"({"target": "kms", "action": "silence", "match": {"stage": "request"}})");
  RawTcp c;
  auto x = kms_exchange(short_idle.kms_port(), v6(), 1000ms, &c);
  EXPECT_EQ(x.reached, KmsExchange::Step::request) << "the bind was answered";
  EXPECT_EQ(x.read, ReadStatus::eof) << x.describe();
  EXPECT_GE(x.response_time, 140ms);
}

TEST_F(KmsFaults, ResetAtEachStage) {
  site_.add(R"({"name": "r", "target": "kms", "action": "reset"})");
  auto at_accept = kms_exchange(port(), v6());
  EXPECT_EQ(at_accept.connect, ConnectOutcome::connected);
  EXPECT_EQ(at_accept.reached, KmsExchange::Step::bind);
  EXPECT_EQ(at_accept.read, ReadStatus::reset) << at_accept.describe();
  site_.faults().clear();

  site_.add(R"({"target": "kms", "action": "reset", "match": {"stage": "bind"}})");
  auto after_bind = kms_exchange(port(), v6());
  EXPECT_TRUE(after_bind.bind_acked) << after_bind.describe();
  EXPECT_FALSE(after_bind.activated());
  EXPECT_EQ(after_bind.read, ReadStatus::reset) << after_bind.describe();
  site_.faults().clear();

  site_.add(R"({"target": "kms", "action": "reset", "match": {"stage": "request"}})");
  auto at_request = kms_exchange(port(), v6());
  EXPECT_EQ(at_request.reached, KmsExchange::Step::request);
  EXPECT_EQ(at_request.read, ReadStatus::reset) << at_request.describe();
  EXPECT_EQ(at_request.bytes_read, 0u);
  site_.faults().clear();

  site_.add(R"({"target": "kms", "action": "reset", "match": {"stage": "response"}, "params": {"after_bytes": 40}})");
  auto mid = kms_exchange(port(), v6());
  EXPECT_EQ(mid.reached, KmsExchange::Step::request);
  EXPECT_EQ(mid.read, ReadStatus::reset) << mid.describe();
  EXPECT_EQ(mid.bytes_read, 40u) << "40 bytes of the response, then RST";
  EXPECT_GE(site_->kms_host("kms1")->counters().resets.load(), 4u);
}

TEST_F(KmsFaults, DelaysAtEachStage) {
  site_.add(R"({"target": "kms", "action": "delay", "match": {"stage": "bind"}, "params": {"delay_ms": 60}})");
  site_.add(R"({"target": "kms", "action": "delay", "match": {"stage": "response"}, "params": {"delay_ms": 80, "jitter_ms": 10}})");
  auto x = kms_exchange(port(), v6());
  ASSERT_TRUE(x.activated()) << x.describe();
  EXPECT_GE(x.bind_time, 60ms);
  EXPECT_GE(x.response_time, 80ms);
  EXPECT_LT(x.response_time, 1500ms);
  site_.faults().clear();
  site_.add(R"({"target": "kms", "action": "delay", "match": {"stage": "accept"}, "params": {"delay_ms": 50}})");
  site_.add(R"({"target": "kms", "action": "delay", "match": {"stage": "request"}, "params": {"delay_ms": 50}})");
  auto y = kms_exchange(port(), v6());
  ASSERT_TRUE(y.activated()) << y.describe();
  EXPECT_GE(y.bind_time, 50ms) << "the session starts reading after the accept delay";
  EXPECT_GE(y.response_time, 50ms);
}

// A Windows-like client binds (NDR32 + NDR64), is refused NDR32 and sends an alter_context for
// it: one bind exchange of two PDUs. A bind-stage fault acts once per exchange by default, so a
// delay is paid once, not twice; `pdu` opts in to matching single PDUs.
TEST_F(KmsFaults, BindStageFaultActsOncePerBindExchange) {
  site_.add(R"({"name": "slow-bind", "target": "kms", "action": "delay", "match": {"stage": "bind"}, "params": {"delay_ms": 20}})");
  for (int i = 0; i < 3; ++i) {
    auto x = kms_exchange(port(), v6());
    ASSERT_TRUE(x.activated()) << x.describe();
  }
  ASSERT_EQ(site_->kms_host("kms1")->counters().alter_contexts.load(), 3u) << "each exchange had an alter_context";
  EXPECT_EQ(site_.faults().find("slow-bind")->matched, 3u);
  EXPECT_EQ(site_.faults().find("slow-bind")->applied, 3u) << "one delay per bind exchange";
  site_.faults().clear();

  site_.add(R"({"name": "each", "target": "kms", "action": "delay", "match": {"stage": "bind", "pdu": "bind | alter_context"}, "params": {"delay_ms": 20}})");
  site_.add(R"({"name": "alter", "target": "kms", "action": "delay", "match": {"stage": "bind", "pdu": "alter_context"}, "params": {"delay_ms": 20}})");
  auto y = kms_exchange(port(), v6());
  ASSERT_TRUE(y.activated()) << y.describe();
  EXPECT_EQ(site_.faults().find("each")->applied, 2u) << "the bind and the alter_context, each";
  EXPECT_EQ(site_.faults().find("alter")->applied, 1u) << "the alter_context only";
}

TEST_F(KmsFaults, TrickleDeliversTheWholeResponseSlowly) {
  site_.add(R"({"target": "kms", "action": "trickle", "params": {"bytes": 64, "interval_ms": 15}})");
  auto x = kms_exchange(port(), v6());
  ASSERT_TRUE(x.activated()) << x.describe();
  // A v6 response PDU is well over 256 bytes: at least 4 pauses of 15 ms.
  EXPECT_GE(x.response_time, 60ms);
}

TEST_F(KmsFaults, TruncatedResponseThenClose) {
  site_.add(R"({"target": "kms", "action": "truncate", "params": {"bytes": 30}})");
  auto x = kms_exchange(port(), v6());
  EXPECT_EQ(x.reached, KmsExchange::Step::request);
  EXPECT_EQ(x.read, ReadStatus::eof) << x.describe();
  EXPECT_EQ(x.bytes_read, 30u);
  site_.faults().clear();
  site_.add(R"({"target": "kms", "action": "truncate", "match": {"stage": "bind"}, "params": {"bytes": 5}})");
  auto b = kms_exchange(port(), v6());
  EXPECT_EQ(b.reached, KmsExchange::Step::bind);
  EXPECT_EQ(b.read, ReadStatus::eof) << b.describe();
  EXPECT_EQ(b.bytes_read, 5u);
}

TEST_F(KmsFaults, CorruptedHashAndMacFailVerification) {
  for (auto [action, version, words] : {std::tuple{"corrupt_hash", p::kKmsV6, "hash"},
                                        std::tuple{"corrupt_mac", p::kKmsV6, "HMAC"},
                                        std::tuple{"corrupt_mac", p::kKmsV4, "MAC"},
                                        std::tuple{"corrupt_hash", p::kKmsV5, "hash"}}) {
    site_.faults().clear();
    site_.add(fmt::format(R"({{"target": "kms", "action": "{}"}})", action).c_str());
    auto x = kms_exchange(port(), make_test_request(version));
    ASSERT_TRUE(x.stub) << x.describe();
    EXPECT_EQ(x.stub->hresult, 0u);
    ASSERT_TRUE(x.verify_error) << action;
    EXPECT_EQ(x.verify_error->code, p::Errc::bad_integrity);
    EXPECT_NE(x.verify_error->detail.find(words), std::string::npos) << x.verify_error->message();
  }
}

TEST_F(KmsFaults, RpcFaultBindNakAndHresult) {
  site_.add(R"({"target": "kms", "action": "rpc_fault", "params": {"status": "0x1C010003"}})");
  auto x = kms_exchange(port(), v6());
  ASSERT_TRUE(x.fault) << x.describe();
  EXPECT_EQ(x.fault->status, 0x1C010003u);
  site_.faults().clear();

  site_.add(R"({"target": "kms", "action": "bind_nak", "params": {"reason": 2}})");
  RawTcp c;
  auto nak = kms_exchange(port(), v6(), 2000ms, &c);
  ASSERT_TRUE(nak.bind_nak) << nak.describe();
  EXPECT_EQ(nak.bind_nak->reject_reason, 2);
  EXPECT_EQ(c.wait_event(1000ms), ReadStatus::eof) << "the host closes after bind_nak";
  EXPECT_EQ(site_->kms_host("kms1")->counters().bind_naks.load(), 1u);
  site_.faults().clear();

  site_.add(R"({"target": "kms", "action": "hresult", "params": {"hresult": "0xC004F042"}})");
  auto refused = kms_exchange(port(), v6());
  ASSERT_TRUE(refused.stub) << refused.describe();
  EXPECT_FALSE(refused.stub->payload);
  EXPECT_EQ(refused.stub->hresult, 0xC004F042u);
}

TEST_F(KmsFaults, PolicyOverridesActPerRequest) {
  site_.add(R"({"name": "skew", "target": "kms", "action": "clock_skew", "params": {"skew_s": 18000}})");
  auto skewed = kms_exchange(port(), v6());
  ASSERT_TRUE(skewed.stub) << skewed.describe();
  EXPECT_EQ(skewed.stub->hresult, 0xC004F06Cu);
  site_.faults().clear();

  site_.add(R"({"target": "kms", "action": "count", "params": {"count": 3}})");
  auto low = kms_exchange(port(), v6());
  ASSERT_TRUE(low.activated()) << low.describe();
  EXPECT_EQ(low.verified->response.current_count, 3u) << "below N-policy 25: the client decides 0xC004F038";
  site_.faults().clear();

  site_.add(R"({"target": "kms", "action": "products", "params": {"products": ["office"]}})");
  auto windows = kms_exchange(port(), v6());
  ASSERT_TRUE(windows.stub);
  EXPECT_EQ(windows.stub->hresult, 0xC004F042u);
  site_.faults().clear();
  EXPECT_TRUE(kms_exchange(port(), v6()).activated()) << "the host's own policy again";
}

TEST_F(KmsFaults, ProbabilityAndLimitsWithRealTraffic) {
  site_.add(R"({"name": "once", "target": "kms", "action": "hresult", "params": {"hresult": "0x8007000D"},
                "limit_first": 1})");
  auto first = kms_exchange(port(), v6());
  ASSERT_TRUE(first.stub);
  EXPECT_EQ(first.stub->hresult, 0x8007000Du);
  EXPECT_TRUE(kms_exchange(port(), v6()).activated());
  site_.faults().clear();

  site_.add(R"({"name": "half", "target": "kms", "host": "kms1", "action": "reset", "probability": 0.5, "seed": 3})");
  int resets = 0, ok = 0;
  for (int i = 0; i < 20; ++i) {
    auto x = kms_exchange(port(), v6());
    if (x.read == ReadStatus::reset) ++resets;
    if (x.activated()) ++ok;
  }
  EXPECT_EQ(resets + ok, 20);
  EXPECT_EQ(static_cast<std::uint64_t>(resets), site_.faults().find("half")->applied);
  EXPECT_GT(resets, 2);
  EXPECT_GT(ok, 2);
}

TEST_F(KmsFaults, FaultsAddedAndRemovedWhileTrafficFlows) {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::thread traffic([&] {
    for (int i = 0; i < 300 && !stop; ++i) {
      auto x = kms_exchange(port(), v6(), 2000ms);
      if (x.activated()) ++ok;
      else if (x.stub && x.stub->hresult == 0xC004F042u) ++refused;
      else ++other;
    }
  });
  ASSERT_TRUE(eventually([&] { return ok >= 5; }, 5000ms));
  site_.add(R"({"name": "deny", "target": "kms", "action": "hresult", "params": {"hresult": "0xC004F042"}})");
  ASSERT_TRUE(eventually([&] { return refused >= 5; }, 5000ms));
  ASSERT_TRUE(site_.faults().remove("deny"));
  const int ok_before = ok;
  ASSERT_TRUE(eventually([&] { return ok >= ok_before + 5; }, 5000ms));
  stop = true;
  traffic.join();
  EXPECT_EQ(other, 0) << "no exchange broke while faults changed";
}

}  // namespace
}  // namespace kmslab::test

namespace kmslab::test {
namespace {

TEST(KmsFaultsFromConfig, ExampleSiteStartsWithItsFaults) {
  auto config = simulator::load_simulator_config(std::string(KMSLAB_SOURCE_DIR) + "/examples/faults.yaml");
  ASSERT_TRUE(config) << config.error().format();
  RunningSite site{*config};
  ASSERT_TRUE(eventually(
      [&] { return site->kms_host("kms1")->listener_state() == simulator::ListenerState::filtered; }));
  RawTcp c;
  EXPECT_EQ(c.connect(site.kms_port("kms1"), 300ms), ConnectOutcome::timed_out);
  c.close();
  auto x = kms_exchange(site.kms_port("kms2"), make_test_request(protocol::kKmsV6));
  ASSERT_TRUE(x.activated()) << x.describe();
  EXPECT_GE(x.response_time, 250ms);
  EXPECT_EQ(site.faults().list().size(), 3u);
}

}  // namespace
}  // namespace kmslab::test
