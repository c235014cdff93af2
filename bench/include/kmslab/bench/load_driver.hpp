// The protocol-agnostic load engine: drives any LoadTarget open loop (constant or Poisson rate)
// or closed loop (concurrency C) and produces a LoadReport.
//
// How a run goes: `threads` threads each run their own io_context, their own target instance,
// schedule share and histograms; nothing on the request path takes a lock or touches another
// thread's memory (progress counters are relaxed atomics written only by their owner). The run
// starts with `warmup` (requests sent, not counted), then the measured window, which ends after
// `duration` or once `requests` measured requests were sent, whichever comes first; requests in
// flight then finish (each bounded by `timeout`) and count. Per-thread results are merged
// exactly at the end.
//
// Open loop: request i is due at its intended time whatever happened before; latency is measured
// from that intended time (coordinated-omission correction, see schedule.hpp), so a stall shows
// in the percentiles of every request it delayed. At most `max_in_flight` requests are
// outstanding (split evenly over threads): past it the generator waits for a slot instead of
// allocating, and the late requests are still charged from their intended time. Requests still
// waiting for a slot when the window ends are counted as `unsent`, never silently dropped.
//
// Closed loop: C workers (split over threads) each send, wait for the answer, and send again;
// latency is service time (closed loops cannot see queueing they cause; the report says so).
//
// Thread-safety: run() once per driver; stop() and progress() from any thread at any time.
#pragma once

#include "kmslab/bench/histogram.hpp"
#include "kmslab/bench/load_report.hpp"
#include "kmslab/bench/outcome.hpp"
#include "kmslab/bench/schedule.hpp"
#include "kmslab/net/asio.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kmslab::bench {

// One kind of request against one target (a KMS activation, a DNS query, a fake in tests).
class LoadTarget {
 public:
  virtual ~LoadTarget() = default;
  // Performs one request and says how it went. Runs on its thread's io_context; several calls
  // may be outstanding at once. The engine cancels it (Asio per-operation cancellation, via
  // `||` with a timer) when `timeout` passes and counts a timeout. Target failures should be
  // returned as an Outcome; an exception escaping counts as `other` (system_error: classify()).
  virtual net::asio::awaitable<Outcome> request() = 0;
  // True when every request() ends by itself within the run's timeout (reporting a timeout as
  // an Outcome): the engine then skips its own race with a timer, which costs a coroutine, a
  // parallel group and a timer per request.
  virtual bool bounds_itself() const noexcept { return false; }
};

struct TargetContext {
  std::uint32_t thread = 0;   // 0 .. threads-1
  std::uint32_t threads = 1;
  net::asio::any_io_executor executor;  // the io_context this thread's requests run on
  std::uint64_t seed = 0;               // derived from the run seed for this thread
};

// Makes the target one thread uses. Called on the thread that calls run(), before the run
// starts, once per thread; the instance is then used only on that thread's io_context, so a
// target needs no locks. Returning nullptr fails the run with Errc::bad_argument.
using TargetFactory = std::function<std::unique_ptr<LoadTarget>(const TargetContext&)>;

struct LoadOptions {
  LoadModel model = ConstantRate{100};
  std::chrono::nanoseconds duration{0};  // measured window; 0 = bounded by `requests` only
  std::uint64_t requests = 0;            // measured requests; 0 = bounded by `duration` only
  std::chrono::nanoseconds warmup{0};
  std::uint32_t threads = 1;
  std::uint64_t seed = 1;
  std::uint64_t max_in_flight = 10'000;  // open loop, whole run (split over threads, >= 1 each)
  std::chrono::nanoseconds timeout{std::chrono::seconds(5)};  // per request
  std::chrono::nanoseconds interval{0};  // > 0: one IntervalRecord per interval (completion time)
  std::string target_name;               // echoed in the report
  HistogramLayout layout;
};

inline constexpr std::uint32_t kMaxThreads = 256;

// Errc::bad_argument naming the option: invalid model, no bound (duration and requests both 0),
// threads outside 1..kMaxThreads, timeout <= 0, max_in_flight 0, negative durations, bad layout.
Result<void> validate(const LoadOptions& options);

class LoadDriver {
 public:
  LoadDriver(LoadOptions options, TargetFactory factory);
  ~LoadDriver();
  LoadDriver(const LoadDriver&) = delete;
  LoadDriver& operator=(const LoadDriver&) = delete;

  // Runs the load and blocks until it is over. When `on_progress` is set it is called on the
  // calling thread every `progress_every` while the run lasts. Errors: validate()'s, a factory
  // returning nullptr. An exception escaping the engine itself (a bug) is rethrown.
  Result<LoadReport> run(const std::function<void(const Progress&)>& on_progress = {},
                         std::chrono::nanoseconds progress_every = std::chrono::seconds(1));

  // Ends the run early, as if the window had ended now: no new request is sent, requests in
  // flight finish (bounded by the timeout) and the report covers what was done. Idempotent.
  void stop() noexcept;

  // A snapshot for a progress line (recent_rate left 0; run() computes it for on_progress).
  Progress progress() const;

 private:
  class Worker;

  LoadOptions options_;
  TargetFactory factory_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;  // guards workers_ (the vector, not the workers' hot state)
  std::vector<std::unique_ptr<Worker>> workers_;
  std::chrono::steady_clock::time_point run_start_{};
  std::chrono::steady_clock::time_point measure_start_{};
};

}  // namespace kmslab::bench
