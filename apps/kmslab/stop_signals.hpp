// The one rule batch commands (run, load, merge, probe, audit) follow on SIGINT or SIGTERM:
// the work stops early, the command still writes its complete report of what was done, marked
// `"interrupted": true` (text: INTERRUPTED; JUnit: unfinished cases skipped, "not run
// (interrupted)"), and exits kExitInterrupted (130, as a shell reports a command ended by
// Ctrl-C). Services (serve, watch) do not use this: SIGTERM is their normal stop; they exit 0.
//
// StopSignals blocks SIGINT and SIGTERM in the calling thread, so every thread started after it
// inherits the mask (child processes too: the scenario runner's namespace children are ended by
// the runner itself), and takes them on its own watcher thread with sigtimedwait, so the
// "handler" is ordinary code (it may call a driver's stop(), take locks, allocate). The first
// signal prints "kmslab <command>: interrupted by signal N, ..." on stderr, sets interrupted()
// and calls `on_stop`; a second one ends the process at once with kExitInterrupted, for when
// winding down itself hangs.
//
// Contract: construct it on the main thread before the command starts any thread or says it is at
// work; keep it until the report is written (the destructor joins the watcher, drops a signal
// that came after the work was over, and restores the mask). A command reads interrupted() once,
// when the work returns, and uses that one value for its report and its exit code. One at a time.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace kmslab::cli {

inline constexpr int kExitInterrupted = 130;

class StopSignals {
 public:
  explicit StopSignals(std::string command, std::function<void()> on_stop = {});
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool interrupted() const noexcept { return interrupted_.load(); }
  // The same fact as a flag, for code that polls one (harness::RunOptions::stop).
  const std::atomic<bool>* flag() const noexcept { return &interrupted_; }

 private:
  std::string command_;
  std::function<void()> on_stop_;
  sigset_t set_{}, old_{};
  std::atomic<bool> done_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

}  // namespace kmslab::cli
