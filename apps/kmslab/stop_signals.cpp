#include "stop_signals.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace kmslab::cli {

StopSignals::StopSignals(std::string command, std::function<void()> on_stop)
    : command_(std::move(command)), on_stop_(std::move(on_stop)) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
  thread_ = std::thread([this] {
    // The bounded wait lets the destructor end the watcher without sending itself a signal.
    const timespec tick{0, 100'000'000};
    while (!done_.load()) {
      const int signal = sigtimedwait(&set_, nullptr, &tick);
      if (signal <= 0) continue;
      if (interrupted_.exchange(true)) ::_exit(kExitInterrupted);  // the second one
      fmt::print(stderr, "kmslab {}: interrupted by signal {}, writing the report of what was done\n", command_, signal);
      std::fflush(stderr);
      if (on_stop_) on_stop_();
    }
  });
}

StopSignals::~StopSignals() {
  done_ = true;
  thread_.join();
  // A signal still pending would be delivered, with its default action, the moment the mask is
  // restored, killing a command whose report is already written: it came too late to stop
  // anything, so it is dropped.
  const timespec now{0, 0};
  while (sigtimedwait(&set_, nullptr, &now) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace kmslab::cli
