// net/netns.hpp without forking: capability parsing, the nft scripts, and the guard that keeps
// nft away from the host's firewall.
#include "kmslab/net/netns.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace kmslab::net {
namespace {

TEST(CapEffective, ReadsTheBitFromProcStatus) {
  const std::string status = "Name:\tkmslab\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\nCapBnd:\t0\n";
  EXPECT_TRUE(cap_effective_has(status, kCapNetAdmin));
  EXPECT_TRUE(cap_effective_has(status, 0));
  EXPECT_FALSE(cap_effective_has(status, 24)) << "0x000001fffeffffff: bit 24 is the clear one";
  EXPECT_TRUE(cap_effective_has(status, 40));
  EXPECT_FALSE(cap_effective_has(status, 41));
  EXPECT_FALSE(cap_effective_has(status, 63));
}

TEST(CapEffective, UnprivilegedAndMalformedAreFalse) {
  EXPECT_FALSE(cap_effective_has("CapEff:\t0000000000000000\n", kCapNetAdmin));
  EXPECT_FALSE(cap_effective_has("CapEff:\t0000000000000fff\n", kCapNetAdmin)) << "bits 0..11 only";
  EXPECT_TRUE(cap_effective_has("CapEff:\t0000000000001000\n", kCapNetAdmin)) << "bit 12 alone";
  EXPECT_FALSE(cap_effective_has("CapPrm:\tffffffffffffffff\n", kCapNetAdmin)) << "permitted is not effective";
  EXPECT_FALSE(cap_effective_has("CapEff:\tzz\n", kCapNetAdmin));
  EXPECT_FALSE(cap_effective_has("CapEff:\t\n", kCapNetAdmin));
  EXPECT_FALSE(cap_effective_has("CapEff:\t10000000000000000000\n", 0)) << "longer than 64 bits";
  EXPECT_FALSE(cap_effective_has("", kCapNetAdmin));
}

TEST(NftScripts, DropOnlyNewConnectionsToTheGivenPorts) {
  const auto script = nft_drop_syn_script("filtered_41093", {41093, 41094, 41093});
  EXPECT_EQ(script,
            "add table inet kmslab\n"
            "add chain inet kmslab filtered_41093 { type filter hook input priority 0; policy accept; }\n"
            "add rule inet kmslab filtered_41093 tcp dport { 41093, 41094 } "
            "tcp flags & (fin | syn | rst | ack) == syn counter drop\n");
  EXPECT_EQ(nft_delete_chain_script("filtered_41093"),
            "flush chain inet kmslab filtered_41093\ndelete chain inet kmslab filtered_41093\n");
}

TEST(NftScripts, CountOnlyRuleHasNoVerdictAndCountersAreRead) {
  EXPECT_EQ(nft_count_syn_script("refused_5", {5}),
            "add table inet kmslab\n"
            "add chain inet kmslab refused_5 { type filter hook input priority 0; policy accept; }\n"
            "add rule inet kmslab refused_5 tcp dport { 5 } tcp flags & (fin | syn | rst | ack) == syn counter\n");
  EXPECT_EQ(nft_counter_packets("table inet kmslab {\n chain refused_5 {\n  tcp dport { 5 } tcp flags & "
                                "(fin | syn | rst | ack) == syn counter packets 3 bytes 180\n }\n}\n"),
            3u);
  EXPECT_FALSE(nft_counter_packets("chain x { }").has_value());
  EXPECT_FALSE(nft_counter_packets("counter packets x").has_value());
}

TEST(NetnsGuard, TheTestProcessIsNotInAPrivateNamespace) {
  EXPECT_NE(current_netns_inode(), 0u);
  EXPECT_FALSE(in_private_netns());
}

TEST(NetnsGuard, NftApplyRefusesOutsideAKmslabNamespace) {
  // Even a marker naming our own namespace must not open the door: the namespace has to differ.
  ::setenv(kOuterNetnsEnv, std::to_string(current_netns_inode()).c_str(), 1);
  EXPECT_FALSE(in_private_netns());
  const auto applied = nft_apply(nft_drop_syn_script("filtered_1", {1}));
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().find("host's firewall is never touched"), std::string::npos) << applied.error();
  EXPECT_FALSE(nft_list_table());
  ::setenv(kOuterNetnsEnv, "not-a-number", 1);
  EXPECT_FALSE(in_private_netns());
  ::unsetenv(kOuterNetnsEnv);
}

TEST(NetnsSupport, DisabledByEnvironmentSaysSo) {
  ::setenv(kDisableNetnsEnv, "1", 1);
  const auto s = netns_support();
  ::unsetenv(kDisableNetnsEnv);
  EXPECT_FALSE(s.usable());
  EXPECT_NE(s.reason.find(kDisableNetnsEnv), std::string::npos) << s.reason;
}

TEST(NetnsSupport, ReasonMatchesWhatWasFound) {
  const auto s = netns_support();
  EXPECT_EQ(s.usable(), s.cap_net_admin && s.can_unshare && !s.nft.empty()) << s.reason;
  if (!s.cap_net_admin) {
    EXPECT_NE(s.reason.find("CAP_NET_ADMIN"), std::string::npos) << s.reason;
  }
  EXPECT_EQ(s.cap_net_admin, has_cap_net_admin());
}

TEST(FindProgram, FindsShellNotNonsense) {
  EXPECT_FALSE(find_program("sh").empty());
  EXPECT_TRUE(find_program("kmslab-no-such-program-x7").empty());
}

TEST(ProcessOutcome, DescribesHowItEnded) {
  ProcessOutcome o;
  o.exit_code = 3;
  EXPECT_EQ(o.describe(), "exit 3");
  o.exit_code = -1;
  o.signal = 9;
  o.timed_out = true;
  EXPECT_EQ(o.describe(), "killed by signal 9 after its deadline");
}

}  // namespace
}  // namespace kmslab::net
