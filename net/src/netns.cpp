#include "kmslab/net/netns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

extern char** environ;

namespace kmslab::net {

namespace {

constexpr std::chrono::milliseconds kNftTimeout{10'000};
constexpr std::chrono::milliseconds kPoll{25};

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool executable(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

// Appends what is readable on `fd` to `out`; false at EOF or on error (the fd is then done).
bool drain(int fd, std::string& out, bool& truncated) {
  char buf[16384];
  for (;;) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (out.size() + static_cast<std::size_t>(n) > kMaxChildOutput) {
        truncated = true;
        return false;
      }
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Reads both pipes until they close and the child exits, killing it at the deadline or on stop.
ProcessOutcome collect(pid_t pid, int& out_fd, int& err_fd, std::chrono::milliseconds timeout,
                       const std::atomic<bool>* stop) {
  ProcessOutcome o;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int fd : {out_fd, err_fd})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  bool killed = false;
  int status = 0;
  bool exited = false;
  // Bounded: every pass waits at most kPoll, and the deadline ends the child with a kill.
  while (!exited) {
    if (!killed) {
      if (std::chrono::steady_clock::now() >= deadline) o.timed_out = true;
      if (stop != nullptr && stop->load()) o.stopped = true;
      if (o.timed_out || o.stopped || o.truncated) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
    }
    pollfd fds[2];
    nfds_t n = 0;
    for (int fd : {out_fd, err_fd})
      if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
    if (n > 0)
      ::poll(fds, n, static_cast<int>(kPoll.count()));
    else
      ::usleep(static_cast<useconds_t>(kPoll.count()) * 1000);
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) exited = true;
    if (r < 0 && errno != EINTR) break;  // not our child any more: nothing to wait for
    // After the exit, one last read takes what it wrote; a grandchild holding the pipe open
    // cannot keep us here.
    if (out_fd >= 0 && (!drain(out_fd, o.out, o.truncated) || exited)) close_fd(out_fd);
    if (err_fd >= 0 && (!drain(err_fd, o.err, o.truncated) || exited)) close_fd(err_fd);
  }
  if (exited && WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  if (exited && WIFSIGNALED(status)) o.signal = WTERMSIG(status);
  return o;
}

// posix_spawn (safe from a multi-threaded process) with stdin fed from `input` and both outputs
// captured. For short helper programs (nft) whose input fits in a pipe buffer.
NetnsResult<ProcessOutcome> run_program(const std::vector<std::string>& argv, std::string_view input) {
  if (input.size() > 60'000) return std::string("program input too large");
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return fmt::format("pipe: {}", std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]);
    return fmt::format("pipe: {}", std::strerror(errno));
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    return fmt::format("pipe: {}", std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, copy.front().c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]), ::close(out[1]), ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]), ::close(out[0]), ::close(err[0]);
    return fmt::format("cannot run {}: {}", argv.front(), std::strerror(rc));
  }
  // Fits in the pipe buffer (checked above), so this cannot block on a child that does not read.
  std::size_t written = 0;
  while (written < input.size()) {
    const auto n = ::write(in[1], input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  ::close(in[1]);
  int out_fd = out[0], err_fd = err[0];
  return collect(pid, out_fd, err_fd, kNftTimeout, nullptr);
}

}  // namespace

bool cap_effective_has(std::string_view status, unsigned bit) noexcept {
  constexpr std::string_view kKey = "CapEff:";
  std::size_t pos = 0;
  while (pos < status.size()) {
    const auto end = std::min(status.find('\n', pos), status.size());
    auto line = status.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty() || line.size() > 16) return false;
    std::uint64_t caps = 0;
    for (const char c : line) {
      unsigned digit = 0;
      if (c >= '0' && c <= '9') digit = static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') digit = static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') digit = static_cast<unsigned>(c - 'A' + 10);
      else return false;
      caps = (caps << 4) | digit;
    }
    return bit < 64 && ((caps >> bit) & 1u) != 0;
  }
  return false;
}

bool has_cap_net_admin() { return cap_effective_has(read_text("/proc/thread-self/status"), kCapNetAdmin); }

std::string find_program(std::string_view name) {
  std::string dirs;
  if (const char* path = std::getenv("PATH")) dirs = path;
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::size_t pos = 0;
  while (pos <= dirs.size()) {
    const auto end = std::min(dirs.find(':', pos), dirs.size());
    const auto dir = dirs.substr(pos, end - pos);
    pos = end + 1;
    if (dir.empty()) continue;
    auto candidate = dir + "/" + std::string(name);
    if (executable(candidate)) return candidate;
  }
  return {};
}

NetnsSupport netns_support() {
  NetnsSupport s;
  if (const char* off = std::getenv(kDisableNetnsEnv); off != nullptr && *off != '\0') {
    s.reason = fmt::format("disabled by {}={}", kDisableNetnsEnv, off);
    return s;
  }
  s.cap_net_admin = has_cap_net_admin();
  s.nft = find_program("nft");
  if (s.cap_net_admin) {
    const pid_t pid = ::fork();
    if (pid == 0) _exit(::unshare(CLONE_NEWNET) == 0 ? 0 : 1);  // async-signal-safe only
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, 0) == pid) s.can_unshare = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  if (!s.cap_net_admin)
    s.reason = "no CAP_NET_ADMIN (run as root, or grant the capability) to create a network namespace";
  else if (!s.can_unshare)
    s.reason = "unshare(CLONE_NEWNET) is not permitted here (a container or seccomp forbids new namespaces)";
  else if (s.nft.empty())
    s.reason = "the nft binary is not installed (Debian: apt-get install nftables)";
  return s;
}

const NetnsSupport& cached_netns_support() {
  static const NetnsSupport support = netns_support();
  return support;
}

std::uint64_t current_netns_inode() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_ino);
}

bool in_private_netns() {
  const char* outer = std::getenv(kOuterNetnsEnv);
  if (outer == nullptr || *outer == '\0') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long inode = std::strtoull(outer, &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0' || inode == 0) return false;
  const auto here = current_netns_inode();
  return here != 0 && here != inode;
}

std::string ProcessOutcome::describe() const {
  std::string text = exit_code >= 0 ? fmt::format("exit {}", exit_code)
                    : signal != 0  ? fmt::format("killed by signal {}", signal)
                                   : std::string("no exit status");
  if (timed_out) text += " after its deadline";
  if (stopped) text += " (interrupted)";
  if (truncated) text += fmt::format(" (output over {} bytes)", kMaxChildOutput);
  return text;
}

NetnsProcess::~NetnsProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  close_fd(out_fd_);
  close_fd(err_fd_);
}

ProcessOutcome NetnsProcess::wait(std::chrono::milliseconds timeout, const std::atomic<bool>* stop) {
  if (reaped_) return {};
  auto o = collect(pid_, out_fd_, err_fd_, timeout, stop);
  reaped_ = true;
  return o;
}

int bring_loopback_up() noexcept {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ifreq req;
  std::memset(&req, 0, sizeof req);
  std::memcpy(req.ifr_name, "lo", 3);
  int rc = 0;
  if (::ioctl(fd, SIOCGIFFLAGS, &req) != 0) {
    rc = errno;
  } else {
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(fd, SIOCSIFFLAGS, &req) != 0) rc = errno;
  }
  ::close(fd);
  return rc;
}

NetnsResult<std::unique_ptr<NetnsProcess>> spawn_in_new_netns(const std::vector<std::string>& argv,
                                                              const std::vector<std::string>& env) {
  if (argv.empty()) return std::string("nothing to run");
  const auto outer = current_netns_inode();
  if (outer == 0) return std::string("cannot read this process's network namespace (/proc/thread-self/ns/net)");
  // Everything the child touches is built here: after fork it may only make system calls.
  std::vector<std::string> env_strings;
  const std::string marker = std::string(kOuterNetnsEnv) + "=";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (std::strncmp(*e, marker.c_str(), marker.size()) != 0) env_strings.emplace_back(*e);
  env_strings.push_back(marker + std::to_string(outer));
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<std::string> args = argv;
  std::vector<char*> c_args, c_env;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  for (auto& e : env_strings) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  int out[2], err[2], report[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return fmt::format("pipe: {}", std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]), ::close(out[1]);
    return fmt::format("pipe: {}", std::strerror(errno));
  }
  if (::pipe2(report, O_CLOEXEC) != 0) {
    ::close(out[0]), ::close(out[1]), ::close(err[0]), ::close(err[1]);
    return fmt::format("pipe: {}", std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {out[0], out[1], err[0], err[1], report[0], report[1]}) ::close(fd);
    return fmt::format("fork: {}", std::strerror(e));
  }
  if (pid == 0) {
    // The child: async-signal-safe calls only. On failure: {step, errno} to the report pipe.
    auto fail = [&](int step, int error) {
      const int msg[2] = {step, error};
      (void)!::write(report[1], msg, sizeof msg);
      _exit(127);
    };
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(0, errno);
    if (::getppid() != parent) _exit(127);  // the parent died before the prctl
    if (::unshare(CLONE_NEWNET) != 0) fail(1, errno);
    if (const int e = bring_loopback_up(); e != 0) fail(2, e);
    // dup2 clears close-on-exec on the targets; the originals close at exec.
    if (::dup2(out[1], STDOUT_FILENO) < 0 || ::dup2(err[1], STDERR_FILENO) < 0) fail(3, errno);
    ::execve(c_args.front(), c_args.data(), c_env.data());
    fail(4, errno);
  }
  ::close(out[1]), ::close(err[1]), ::close(report[1]);
  auto child = std::make_unique<NetnsProcess>(pid, out[0], err[0]);
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report[0], msg, sizeof msg);  // EOF (0) when exec succeeded
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof msg)) {
    child->wait(std::chrono::seconds(5));
    static constexpr const char* kSteps[] = {"prctl(PR_SET_PDEATHSIG)", "unshare(CLONE_NEWNET)", "bring lo up",
                                             "redirect output", "exec"};
    const int step = msg[0] >= 0 && msg[0] <= 4 ? msg[0] : 4;
    return fmt::format("the namespace child failed to {}{}: {}", kSteps[step], step == 4 ? " " + argv.front() : "",
                       std::strerror(msg[1]));
  }
  return child;
}

namespace {

std::string nft_syn_rule_script(std::string_view chain, const std::vector<std::uint16_t>& ports,
                                std::string_view verdict) {
  const std::set<std::uint16_t> unique(ports.begin(), ports.end());
  std::string list;
  for (const auto p : unique) list += (list.empty() ? "" : ", ") + std::to_string(p);
  // `add` is idempotent for the table; the chain is new per listener set. Matching the flags
  // (not `ct state new`) needs no conntrack module in the namespace.
  return fmt::format(
      "add table inet {0}\n"
      "add chain inet {0} {1} {{ type filter hook input priority 0; policy accept; }}\n"
      "add rule inet {0} {1} tcp dport {{ {2} }} tcp flags & (fin | syn | rst | ack) == syn counter{3}\n",
      kNftTable, chain, list, verdict);
}

}  // namespace

std::string nft_drop_syn_script(std::string_view chain, const std::vector<std::uint16_t>& ports) {
  return nft_syn_rule_script(chain, ports, " drop");
}

std::string nft_count_syn_script(std::string_view chain, const std::vector<std::uint16_t>& ports) {
  return nft_syn_rule_script(chain, ports, "");
}

std::optional<std::uint64_t> nft_counter_packets(std::string_view listing) {
  constexpr std::string_view kKey = "counter packets ";
  const auto at = listing.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  const auto digits = listing.substr(at + kKey.size());
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end == digits.data()) return std::nullopt;
  return value;
}

NetnsResult<std::uint64_t> nft_chain_packets(std::string_view chain) {
  using boost::system::in_place_error;
  using R = NetnsResult<std::uint64_t>;
  if (!in_private_netns()) return R(in_place_error, "not inside a network namespace kmslab created");
  const auto nft = find_program("nft");
  if (nft.empty()) return R(in_place_error, "the nft binary is not installed");
  auto run = run_program({nft, "list", "chain", "inet", std::string(kNftTable), std::string(chain)}, {});
  if (!run) return R(in_place_error, run.error());
  if (run->exit_code != 0) return R(in_place_error, fmt::format("nft list failed ({}): {}", run->describe(), run->err));
  const auto packets = nft_counter_packets(run->out);
  if (!packets) return R(in_place_error, "no counter in the chain " + std::string(chain));
  return R(boost::system::in_place_value, *packets);
}

std::string nft_delete_chain_script(std::string_view chain) {
  return fmt::format("flush chain inet {0} {1}\ndelete chain inet {0} {1}\n", kNftTable, chain);
}

NetnsResult<void> nft_apply(std::string_view script) {
  if (!in_private_netns())
    return std::string("refusing to change nftables outside a network namespace kmslab created "
                       "(the host's firewall is never touched)");
  const auto nft = find_program("nft");
  if (nft.empty()) return std::string("the nft binary is not installed (Debian: apt-get install nftables)");
  auto run = run_program({nft, "-f", "-"}, script);
  if (!run) return run.error();
  if (run->exit_code != 0) {
    std::string err = run->err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return fmt::format("nft -f - failed ({}): {}", run->describe(), err);
  }
  return {};
}

NetnsResult<std::string> nft_list_table() {
  // Both sides are strings, so every return names its side.
  using boost::system::in_place_error;
  using R = NetnsResult<std::string>;
  if (!in_private_netns()) return R(in_place_error, "not inside a network namespace kmslab created");
  const auto nft = find_program("nft");
  if (nft.empty()) return R(in_place_error, "the nft binary is not installed");
  auto run = run_program({nft, "list", "table", "inet", std::string(kNftTable)}, {});
  if (!run) return R(in_place_error, run.error());
  if (run->exit_code != 0) return R(in_place_error, fmt::format("nft list failed ({}): {}", run->describe(), run->err));
  return R(boost::system::in_place_value, run->out);
}

}  // namespace kmslab::net
