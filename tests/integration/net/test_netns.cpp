// The firewall mode of `filtered`, for real: a listener in a fresh network namespace whose SYNs an
// nftables rule drops. A connect from inside that namespace must time out (neither refused nor
// accepted), and must work again once the state leaves filtered_nftables.
//
// A namespace is per thread and gtest's process is ours to keep clean, so each test runs itself
// again in a child made by spawn_in_new_netns() (role "child" in the environment) and the parent
// asserts the child's gtest verdict. Without CAP_NET_ADMIN, unshare or nft the parent skips with the
// reason; CI runs as root with nftables installed, so there it runs.
#include "kmslab/net/netns.hpp"
#include "kmslab/net/tcp_server.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

namespace kmslab::net {
namespace {

constexpr const char* kRoleEnv = "KMSLAB_NETNS_TEST_ROLE";

bool is_child() {
  const char* role = std::getenv(kRoleEnv);
  return role != nullptr && std::string(role) == "child";
}

// The parent's side: runs the current test in a namespace child and checks it passed there.
void run_self_in_namespace() {
  const auto support = netns_support();
  if (!support.usable()) GTEST_SKIP() << "network namespace tests need root and nft: " << support.reason;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter = std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name();
  auto child = spawn_in_new_netns({"/proc/self/exe", filter}, {std::string(kRoleEnv) + "=child"});
  ASSERT_TRUE(child) << child.error();
  const auto outcome = (*child)->wait(std::chrono::seconds(60));
  EXPECT_EQ(outcome.exit_code, 0) << outcome.describe() << "\n" << outcome.out << outcome.err;
  EXPECT_NE(outcome.out.find("[  PASSED  ] 1 test"), std::string::npos) << outcome.out << outcome.err;
  EXPECT_EQ(outcome.out.find("SKIPPED"), std::string::npos) << outcome.out;
}

// A non-blocking connect to `to`; waits up to `wait` for the handshake. Returns the poll result
// (0: nothing happened) and the socket error in `error`.
int try_connect(const tcp::endpoint& to, std::chrono::milliseconds wait, int& error, int& fd_out) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(to.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  error = 0;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    error = errno;
    fd_out = fd;
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
  socklen_t len = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
  fd_out = fd;
  return ready;
}

asio::awaitable<void> hold(tcp::socket& socket) {
  std::array<char, 16> buf{};
  co_await socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
}

TEST(NetnsChild, SeesItsOwnNamespaceWithOnlyLoopbackUp) {
  if (!is_child()) return run_self_in_namespace();
  EXPECT_TRUE(in_private_netns());
  const char* outer = std::getenv(kOuterNetnsEnv);
  ASSERT_NE(outer, nullptr);
  EXPECT_NE(std::to_string(current_netns_inode()), outer);
  auto* names = ::if_nameindex();
  ASSERT_NE(names, nullptr);
  std::vector<std::string> interfaces;
  for (auto* n = names; n->if_index != 0; ++n) interfaces.emplace_back(n->if_name);
  ::if_freenameindex(names);
  EXPECT_EQ(interfaces, std::vector<std::string>{"lo"}) << "a fresh namespace has nothing but lo";
  // lo is up: a listener on 127.0.0.1 is reachable.
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  boost::system::error_code ec;
  client.connect(acceptor.local_endpoint(), ec);
  EXPECT_FALSE(ec) << ec.message();
  // Nothing from the host's ruleset is here: our table does not exist yet.
  EXPECT_FALSE(nft_list_table());
}

TEST(NetnsChild, DropRuleMakesConnectTimeOutNeitherRefusedNorAccepted) {
  if (!is_child()) return run_self_in_namespace();
  ASSERT_TRUE(in_private_netns());
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  auto server = TcpServer::create(io.get_executor(), {}, hold);
  auto bound = server->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ASSERT_TRUE(bound);
  server->start();
  std::thread loop([&] { io.run(); });

  int error = 0, fd = -1;
  // Open first: the listener is reachable, so what follows is the rule's doing.
  EXPECT_EQ(try_connect(*bound, std::chrono::seconds(5), error, fd), 1);
  EXPECT_EQ(error, 0);
  ::close(fd);

  ASSERT_FALSE(server->set_listener_state(ListenerState::filtered_nftables).get()) << server->state_error();
  EXPECT_EQ(server->listener_state(), ListenerState::filtered_nftables);
  auto table = nft_list_table();
  ASSERT_TRUE(table) << table.error();
  EXPECT_NE(table->find("filtered_" + std::to_string(bound->port())), std::string::npos) << *table;
  EXPECT_NE(table->find("dport " + std::to_string(bound->port())), std::string::npos) << *table;

  const auto accepted_before = server->accepted();
  const auto t0 = std::chrono::steady_clock::now();
  const int ready = try_connect(*bound, std::chrono::milliseconds(1500), error, fd);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ready, 0) << "the SYN must go unanswered: no RST (refused), no SYN-ACK (accepted)";
  EXPECT_EQ(error, 0) << "still in progress, not ECONNREFUSED: " << std::strerror(error);
  EXPECT_GE(waited, std::chrono::milliseconds(1400));
  ::close(fd);
  EXPECT_EQ(server->accepted(), accepted_before) << "nothing reached accept()";
  table = nft_list_table();
  ASSERT_TRUE(table);
  EXPECT_EQ(table->find("packets 0 "), std::string::npos) << "the rule's counter saw the SYNs: " << *table;
  // The control API's count for the state: the rule's counter, not an unknown.
  const auto stats = server->listener_stats();
  EXPECT_EQ(stats.state, ListenerState::filtered_nftables);
  ASSERT_TRUE(stats.turned_away.has_value()) << stats.unseen;
  EXPECT_GE(*stats.turned_away, 1u) << "at least the one SYN (retransmits count too)";
  EXPECT_EQ(stats.counted_by, "nftables");

  // Leaving the state removes the chain; connects work again.
  ASSERT_FALSE(server->set_listener_state(ListenerState::open).get()) << server->state_error();
  table = nft_list_table();
  ASSERT_TRUE(table);
  EXPECT_EQ(table->find("filtered_"), std::string::npos) << *table;
  EXPECT_EQ(try_connect(*bound, std::chrono::seconds(5), error, fd), 1);
  EXPECT_EQ(error, 0);
  ::close(fd);

  server->stop();
  work.reset();
  io.stop();
  loop.join();
}

// `refused` inside a kmslab namespace: the kernel still answers with RST (connect refused at
// once), and a count-only rule says how many connects it turned away; leaving the state removes it.
TEST(NetnsChild, RefusedListenerCountsTurnedAwayConnectsWithARule) {
  if (!is_child()) return run_self_in_namespace();
  ASSERT_TRUE(in_private_netns());
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  auto server = TcpServer::create(io.get_executor(), {}, hold);
  auto bound = server->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ASSERT_TRUE(bound);
  server->start();
  std::thread loop([&] { io.run(); });

  ASSERT_FALSE(server->set_listener_state(ListenerState::refused).get()) << server->state_error();
  int error = 0, fd = -1;
  for (int i = 0; i < 3; ++i) {
    try_connect(*bound, std::chrono::seconds(5), error, fd);
    EXPECT_EQ(error, ECONNREFUSED) << std::strerror(error);
    ::close(fd);
  }
  const auto stats = server->listener_stats();
  EXPECT_EQ(stats.state, ListenerState::refused);
  ASSERT_TRUE(stats.turned_away.has_value()) << stats.unseen;
  EXPECT_EQ(*stats.turned_away, 3u);
  EXPECT_EQ(stats.counted_by, "nftables");

  ASSERT_FALSE(server->set_listener_state(ListenerState::open).get()) << server->state_error();
  auto table = nft_list_table();
  ASSERT_TRUE(table);
  EXPECT_EQ(table->find("refused_"), std::string::npos) << *table;
  EXPECT_EQ(try_connect(*bound, std::chrono::seconds(5), error, fd), 1);
  ::close(fd);

  server->stop();
  work.reset();
  io.stop();
  loop.join();
}

TEST(NetnsSpawn, ReportsAFailedExecWithItsStep) {
  if (is_child()) return;
  const auto support = netns_support();
  if (!support.usable()) GTEST_SKIP() << "network namespace tests need root and nft: " << support.reason;
  auto child = spawn_in_new_netns({"/nonexistent/kmslab-no-such-binary"});
  ASSERT_FALSE(child);
  EXPECT_NE(child.error().find("exec /nonexistent/kmslab-no-such-binary"), std::string::npos) << child.error();
  EXPECT_NE(child.error().find("No such file"), std::string::npos) << child.error();
}

TEST(NetnsSpawn, KillsAChildAtItsDeadlineAndCapturesOutput) {
  if (is_child()) return;
  const auto support = netns_support();
  if (!support.usable()) GTEST_SKIP() << "network namespace tests need root and nft: " << support.reason;
  auto child = spawn_in_new_netns({"/bin/sh", "-c", "echo started; echo oops >&2; exec sleep 30"});
  ASSERT_TRUE(child) << child.error();
  const auto t0 = std::chrono::steady_clock::now();
  const auto outcome = (*child)->wait(std::chrono::milliseconds(500));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_EQ(outcome.signal, SIGKILL);
  EXPECT_EQ(outcome.out, "started\n");
  EXPECT_EQ(outcome.err, "oops\n");
}

TEST(NetnsSpawn, ChildNftDoesNotTouchTheHostRuleset) {
  if (is_child()) return;
  const auto support = netns_support();
  if (!support.usable()) GTEST_SKIP() << "network namespace tests need root and nft: " << support.reason;
  // A child adds the table in its namespace; the host's ruleset must not gain it.
  auto child = spawn_in_new_netns({support.nft, "add", "table", "inet", "kmslab_probe_isolation"});
  ASSERT_TRUE(child) << child.error();
  const auto added = (*child)->wait(std::chrono::seconds(10));
  ASSERT_EQ(added.exit_code, 0) << added.err;
  auto host = spawn_in_new_netns({"/bin/sh", "-c", "true"});  // (sanity: spawning still works)
  ASSERT_TRUE(host);
  EXPECT_EQ((*host)->wait(std::chrono::seconds(10)).exit_code, 0);
  // Read the host's ruleset with nft directly (nft_list_table refuses outside a namespace).
  const std::string cmd = support.nft + " list tables 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string tables;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) tables += buf;
  ::pclose(pipe);
  EXPECT_EQ(tables.find("kmslab_probe_isolation"), std::string::npos) << tables;
}

}  // namespace
}  // namespace kmslab::net
