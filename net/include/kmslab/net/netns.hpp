// Network namespaces and nftables, for the `filtered` fault's firewall mode: a listener whose SYNs
// are dropped by a real packet filter instead of the rootless full-accept-queue trick.
//
// Why a namespace: a firewall rule on the host would touch the machine's real firewall and every
// other program on it, and a network namespace is a property of a thread, not of a process, so a
// multi-threaded process cannot safely move into one. So the work runs in a child process: it is
// forked, calls unshare(CLONE_NEWNET) (a fresh namespace with nothing but a down `lo`), brings
// `lo` up with an ioctl, and execs a program (usually this binary again, via /proc/self/exe).
// Between fork and exec the child does only async-signal-safe system calls: every string and
// array it needs is built before the fork.
//
// Promises:
// - nft_apply() runs `nft -f -` only inside a namespace spawn_in_new_netns() created: the child is
//   told the namespace it came from (kOuterNetnsEnv) and nft_apply() refuses unless the current
//   namespace is a different one. The host's firewall is never touched, whatever the caller asks.
// - netns_support() says whether the mode can run here (CAP_NET_ADMIN, unshare allowed, `nft`
//   installed) and, when not, why in one sentence, so callers skip with a printed reason.
// - A spawned child is killed (SIGKILL) when its parent dies (PR_SET_PDEATHSIG), when wait()
//   passes its deadline or sees `stop`, and when the NetnsProcess is destroyed while it runs.
//   Its output is read concurrently (no pipe deadlock) and bounded (kMaxChildOutput).
// Thread-safety: every function may be called from any thread; a NetnsProcess from one at a time.
#pragma once

#include <boost/system/result.hpp>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::net {

template <class T>
using NetnsResult = boost::system::result<T, std::string>;

inline constexpr unsigned kCapNetAdmin = 12;  // linux/capability.h
// Set in a spawned child's environment: the inode of the namespace its parent ran in.
inline constexpr const char* kOuterNetnsEnv = "KMSLAB_NETNS_OUTER";
// Set (non-empty) to make netns_support() report the mode unusable: to opt out, and to test skips.
inline constexpr const char* kDisableNetnsEnv = "KMSLAB_NO_NETNS";
inline constexpr std::size_t kMaxChildOutput = 16u << 20;  // per stream
// The nftables table every kmslab rule lives in (family inet: IPv4 and IPv6 alike).
inline constexpr std::string_view kNftTable = "kmslab";

// True when the `CapEff:` line of a /proc/<pid>/status text has `bit` set; false when there is no
// such line or it is not hexadecimal.
bool cap_effective_has(std::string_view proc_status, unsigned bit) noexcept;
// CAP_NET_ADMIN in this thread's effective set (/proc/thread-self/status).
bool has_cap_net_admin();
// The first executable `name` on PATH, then in /usr/sbin and /sbin (nft lives there and root's
// PATH is not always set in CI); "" when there is none.
std::string find_program(std::string_view name);

struct NetnsSupport {
  bool cap_net_admin = false;
  bool can_unshare = false;  // a forked child could create a network namespace
  std::string nft;           // path of the nft binary; "" when not installed
  std::string reason;        // "" when usable; else why not, e.g. "no CAP_NET_ADMIN (not root)"
  bool usable() const noexcept { return reason.empty(); }
};
// Checks kDisableNetnsEnv, the capability, tries unshare(CLONE_NEWNET) in a short-lived forked child (seccomp or a
// container may forbid it even with the capability) and looks for nft. Costs one fork.
NetnsSupport netns_support();
// The same, computed once per process.
const NetnsSupport& cached_netns_support();

// The inode of this thread's network namespace (0 when /proc is not readable).
std::uint64_t current_netns_inode();
// True only in a process spawn_in_new_netns() started: kOuterNetnsEnv is set and names a
// namespace other than the current one.
bool in_private_netns();

// The outcome of a finished (or killed) child.
struct ProcessOutcome {
  int exit_code = -1;      // -1 when it did not exit normally
  int signal = 0;          // the signal that ended it, if any
  bool timed_out = false;  // killed by wait() at its deadline
  bool stopped = false;    // killed by wait() because `stop` became true
  bool truncated = false;  // an output stream passed kMaxChildOutput (the child was killed)
  std::string out;
  std::string err;
  // "exit 0", "exit 3", "killed by signal 9 after the 5000 ms deadline", ...
  std::string describe() const;
};

// A child running in its own network namespace, with stdout and stderr piped to us.
class NetnsProcess {
 public:
  NetnsProcess(pid_t pid, int out_fd, int err_fd) noexcept : pid_(pid), out_fd_(out_fd), err_fd_(err_fd) {}
  NetnsProcess(const NetnsProcess&) = delete;
  NetnsProcess& operator=(const NetnsProcess&) = delete;
  ~NetnsProcess();  // kills and reaps a child still running

  pid_t pid() const noexcept { return pid_; }
  // Reads both streams until the child exits; kills it (SIGKILL) when `timeout` passes or `stop`
  // (may be null) becomes true, checked every 25 ms. Call once.
  ProcessOutcome wait(std::chrono::milliseconds timeout, const std::atomic<bool>* stop = nullptr);

 private:
  pid_t pid_;
  int out_fd_;
  int err_fd_;
  bool reaped_ = false;
};

// Forks; the child creates a network namespace, brings `lo` up, puts kOuterNetnsEnv and `env`
// ("NAME=value") into its environment, and execs argv[0] (a path) with `argv`. Errors: the fork
// or pipes failed, or the child could not unshare, raise `lo` or exec (the child reports which
// step and errno through a close-on-exec pipe before it exits with 127).
// REQUIRES: !argv.empty().
NetnsResult<std::unique_ptr<NetnsProcess>> spawn_in_new_netns(const std::vector<std::string>& argv,
                                                              const std::vector<std::string>& env = {});

// Brings the loopback interface of the current namespace up (SIOCGIFFLAGS / SIOCSIFFLAGS).
// Async-signal-safe; returns 0 or an errno value.
int bring_loopback_up() noexcept;

// The nft script that drops TCP SYNs (SYN set, ACK/RST/FIN clear: new connections only, so
// established ones keep flowing) to `ports` on input, in chain `chain` of table inet kmslab.
// REQUIRES: ports not empty; chain is [a-z0-9_]+.
std::string nft_drop_syn_script(std::string_view chain, const std::vector<std::uint16_t>& ports);
// The same rule without the drop: it only counts the SYNs (for a closed port, the ones the kernel
// answers with RST), so a `refused` listener can say how many connects it turned away.
std::string nft_count_syn_script(std::string_view chain, const std::vector<std::uint16_t>& ports);
// The nft script that removes that chain again.
std::string nft_delete_chain_script(std::string_view chain);
// Runs `nft -f -` with `script` on its stdin. Error (without running anything) outside a private
// namespace or without nft; else nft's exit status and stderr when it failed.
NetnsResult<void> nft_apply(std::string_view script);
// `nft list table inet kmslab` (inside a private namespace only), for tests and diagnostics.
NetnsResult<std::string> nft_list_table();
// The packet count of the (first) counter in an `nft list` output ("... counter packets 3 bytes
// 180 ..."); nullopt when there is none. Pure text work.
std::optional<std::uint64_t> nft_counter_packets(std::string_view listing);
// `nft list chain inet kmslab <chain>`'s counter (inside a private namespace only).
NetnsResult<std::uint64_t> nft_chain_packets(std::string_view chain);

}  // namespace kmslab::net
