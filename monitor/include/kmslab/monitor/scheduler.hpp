// The probe scheduler of `kmslab watch`: every target on its own interval, on one Asio executor.
//
// Each target runs its own coroutine: a first run after a seeded random delay in [0, jitter),
// then one run per `interval` (fixed rate: the next run is due `interval` after the previous one
// was due, plus a fresh jitter; a run that overran its interval is followed at once, missed ticks
// are skipped, never queued). At most `concurrency` probes run at once over all targets; a target
// waiting for a slot waits in arrival order. One slow or hanging target never delays the others
// beyond that: it holds one slot for at most its module's `timeout`, and its own schedule is
// separate. Every result (or timeout) is recorded in WatchMetrics.
//
// Randomness: each target has its own generator seeded from the config seed and the target name
// (target_seed), which draws both the jitter and the per-run probe seed, so a config replays the
// same schedule and the same requests. The probe itself is injectable (tests pass a fake).
//
// Thread-safety: start/stop/runs must be called on the executor's thread (or before run()); the
// executor must not run handlers concurrently (an io_context run by one thread, or a strand).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string_view>

#include "kmslab/client/probe.hpp"
#include "kmslab/monitor/watch_config.hpp"
#include "kmslab/monitor/watch_metrics.hpp"
#include "kmslab/net/asio.hpp"

namespace kmslab::monitor {

using ProbeFunction = std::function<net::asio::awaitable<client::ProbeRun>(client::ProbeConfig)>;
using WallClockNow = std::function<std::chrono::system_clock::time_point()>;

// The generator seed of one target: the config seed mixed with the target's name (FNV-1a, then
// SplitMix64), so adding a target does not shift the others' schedules.
std::uint64_t target_seed(std::uint64_t seed, std::string_view target_name) noexcept;
// A delay in [0, jitter) drawn from `rng`; 0 when jitter is 0.
std::chrono::milliseconds jitter_delay(std::mt19937_64& rng, std::chrono::milliseconds jitter);

// Runs one probe of `config` under `timeout`; nullopt when the deadline passed first.
net::asio::awaitable<std::optional<client::ProbeRun>> run_with_deadline(const ProbeFunction& probe,
                                                                       client::ProbeConfig config,
                                                                       std::chrono::milliseconds timeout);

class Scheduler {
 public:
  // `probe` empty: client::run_probe. REQUIRES: `metrics` outlives the scheduler.
  Scheduler(net::asio::any_io_executor executor, WatchMetrics& metrics, ProbeFunction probe = {},
            WallClockNow now = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts one loop per target of `config` (stopping the loops of a previous start first; their
  // in-flight probes finish but are not recorded).
  void start(const WatchConfig& config);
  void stop();
  std::uint64_t runs() const noexcept;  // probes finished (or timed out) since construction

  struct Generation;  // the loops of one start(); defined in scheduler.cpp

 private:
  net::asio::any_io_executor executor_;
  WatchMetrics& metrics_;
  ProbeFunction probe_;
  WallClockNow now_;
  std::shared_ptr<Generation> current_;
  std::shared_ptr<std::uint64_t> runs_ = std::make_shared<std::uint64_t>(0);
};

}  // namespace kmslab::monitor
