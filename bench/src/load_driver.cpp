#include "kmslab/bench/load_driver.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <exception>
#include <map>
#include <optional>
#include <thread>

namespace kmslab::bench {
namespace {

namespace asio = net::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

// Progress counters are written by one thread and read by another: a relaxed load/store pair
// is enough and, unlike fetch_add, costs no locked instruction on the hot path.
void bump(std::atomic<std::uint64_t>& counter) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Result<void> validate(const LoadOptions& o) {
  if (auto ok = validate(o.model); !ok) return ok.error();
  if (o.duration.count() < 0 || o.warmup.count() < 0 || o.interval.count() < 0)
    return make_error(Errc::bad_argument, "duration, warm-up and interval must not be negative");
  if (o.duration.count() == 0 && o.requests == 0)
    return make_error(Errc::bad_argument, "a run needs a bound: a duration, a request count, or both");
  if (o.threads < 1 || o.threads > kMaxThreads)
    return make_error(Errc::bad_argument, fmt::format("threads must be 1..{}, got {}", kMaxThreads, o.threads));
  if (o.timeout.count() <= 0) return make_error(Errc::bad_argument, "the request timeout must be > 0");
  if (o.max_in_flight < 1) return make_error(Errc::bad_argument, "max in-flight must be >= 1");
  if (auto ok = validate(o.layout); !ok) return make_error(Errc::bad_argument, ok.error().message);
  return {};
}

// One thread's share of the run: its io_context, target, schedule, counters and histograms.
// Every member below `io_` is touched only by the thread running io_ (except `live_`, read by
// progress(), and the timers, cancelled through a post()).
class LoadDriver::Worker {
 public:
  Worker(const LoadOptions& options, std::atomic<bool>& stopping) : options_(options), stopping_(stopping) {
    if (options.interval.count() > 0) interval_latency_.emplace(options.layout);
  }

  asio::any_io_executor executor() { return io_.get_executor(); }

  struct Plan {
    std::unique_ptr<LoadTarget> target;
    std::optional<ArrivalSchedule> schedule;  // open loop
    std::uint32_t closed_workers = 0;         // closed loop
    std::optional<std::uint64_t> quota;       // measured requests this thread may send
    std::uint64_t cap = 1;
    Clock::time_point run_start, measure_start, end;
  };

  void arm(Plan plan) {
    target_ = std::move(plan.target);
    schedule_ = std::move(plan.schedule);
    closed_workers_ = plan.closed_workers;
    quota_ = plan.quota;
    cap_ = plan.cap;
    run_start_ = plan.run_start;
    measure_start_ = plan.measure_start;
    end_ = plan.end;
  }

  // Runs this thread's share to completion (returns when every request has finished).
  void run() {
    asio::co_spawn(io_, main(), [this](std::exception_ptr e) { note_failure(e); });
    io_.run();
  }

  // Wakes the pacing and slot waits so the loops see the stop flag. Called through a post().
  void cancel_waits() {
    pace_timer_.cancel();
    slot_timer_.cancel();
  }
  void post_cancel() {
    asio::post(io_, [this] { cancel_waits(); });
  }

  std::exception_ptr failure() const { return failure_; }
  std::optional<Clock::time_point> last_measured_completion() const { return last_measured_completion_; }

  struct Live {
    alignas(64) std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> in_flight{0};
  };
  const Live& live() const { return live_; }

  // This thread's results as a report (config echo and rates are filled in by the driver).
  LoadReport report() {
    flush_interval();
    LoadReport r;
    r.latency = std::move(latency_);
    r.counts.ok = ok_;
    r.counts.errors = errors_;
    r.counts.requests = ok_ + errors_;
    r.counts.warmup = warmup_;
    r.counts.unsent = unsent_;
    for (int k = 0; k < kOutcomeKinds; ++k) {
      const auto kind = static_cast<OutcomeKind>(k);
      if (by_kind_[static_cast<std::size_t>(k)] > 0 && kind != OutcomeKind::hresult)
        r.errors[std::string(to_string(kind))] = by_kind_[static_cast<std::size_t>(k)];
    }
    for (const auto& [code, count] : by_hresult_) r.errors[error_key(Outcome::hresult_error(code))] = count;
    r.intervals = std::move(intervals_);
    return r;
  }

 private:
  bool stopped() const noexcept { return stopping_.load(std::memory_order_relaxed); }
  bool quota_reached() const noexcept { return quota_ && measured_issued_ >= *quota_; }

  void note_failure(std::exception_ptr e) {
    if (e && !failure_) failure_ = e;
  }

  asio::awaitable<void> main() {
    pace_timer_.expires_at(run_start_);
    co_await pace_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (schedule_) {
      co_await open_loop();
      co_return;
    }
    for (std::uint32_t i = 0; i < closed_workers_; ++i)
      asio::co_spawn(io_, closed_loop(), [this](std::exception_ptr e) { note_failure(e); });
  }

  asio::awaitable<void> open_loop() {
    for (;;) {
      if (stopped() || quota_reached()) co_return;
      const Clock::time_point intended = run_start_ + schedule_->next();
      if (intended >= end_) co_return;
      if (intended > Clock::now()) {
        pace_timer_.expires_at(intended);
        co_await pace_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (stopped()) co_return;
      }
      // The cap: wait for a slot rather than allocate; the request keeps its intended time.
      while (in_flight_ >= cap_) {
        if (stopped()) co_return;
        if (Clock::now() >= end_) {
          count_unsent(intended);
          co_return;
        }
        slot_timer_.expires_at(end_);
        co_await slot_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      const bool measured = intended >= measure_start_;
      if (measured) ++measured_issued_;
      asio::co_spawn(io_, one_request(intended, measured), [this](std::exception_ptr e) { note_failure(e); });
      ++in_flight_;
      live_.in_flight.store(in_flight_, std::memory_order_relaxed);
    }
  }

  // The window ended with the cap still full: this request and every later one due in the
  // window were never sent. They are counted, so a dead target cannot look merely quiet.
  void count_unsent(Clock::time_point first) {
    auto note = [&](Clock::time_point intended) {
      if (intended < measure_start_) return;
      ++unsent_;
      ++measured_issued_;
    };
    note(first);
    while (!quota_reached()) {
      const Clock::time_point intended = run_start_ + schedule_->next();
      if (intended >= end_) break;
      note(intended);
    }
  }

  asio::awaitable<void> closed_loop() {
    for (;;) {
      if (stopped()) co_return;
      const Clock::time_point now = Clock::now();
      if (now >= end_) co_return;
      const bool measured = now >= measure_start_;
      if (measured) {
        if (quota_reached()) co_return;
        ++measured_issued_;
      }
      ++in_flight_;
      live_.in_flight.store(in_flight_, std::memory_order_relaxed);
      co_await one_request(now, measured);
    }
  }

  asio::awaitable<void> one_request(Clock::time_point intended, bool measured) {
    const Clock::time_point sent = Clock::now();
    bump(live_.sent);
    Outcome outcome;
    if (target_->bounds_itself()) outcome = co_await guarded();
    else outcome = co_await attempt();
    const Clock::time_point completed = Clock::now();
    --in_flight_;
    live_.in_flight.store(in_flight_, std::memory_order_relaxed);
    slot_timer_.cancel();  // wakes an open loop waiting for a slot
    account(intended, sent, completed, measured, outcome);
  }

  // The request raced with its deadline. Asio's `||` waits for the first SUCCESS, so a request
  // that threw would leave the race to the timer: guarded() turns exceptions into outcomes first.
  asio::awaitable<Outcome> attempt() {
    // as_tuple: a deadline cancelled because the request won must not throw (an exception per
    // request was a tenth of the generator's CPU under keep-alive load).
    asio::steady_timer deadline(io_, options_.timeout);
    auto winner = co_await (guarded() || deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (winner.index() == 0) co_return std::get<0>(winner);
    co_return Outcome::failure(OutcomeKind::timeout);
  }

  asio::awaitable<Outcome> guarded() {
    try {
      co_return co_await target_->request();
    } catch (const boost::system::system_error& e) {
      const OutcomeKind kind = classify(e.code());
      co_return Outcome::failure(kind == OutcomeKind::ok ? OutcomeKind::other : kind);
    } catch (const std::exception&) {
      co_return Outcome::failure(OutcomeKind::other);
    }
  }

  void account(Clock::time_point intended, Clock::time_point sent, Clock::time_point completed, bool measured,
               const Outcome& outcome) {
    bump(live_.completed);
    if (!outcome.ok()) bump(live_.errors);
    if (!measured) {
      ++warmup_;
      return;
    }
    last_measured_completion_ = completed;
    std::int64_t latency = 0;
    if (outcome.ok()) {
      latency = static_cast<std::int64_t>(request_timing(intended, sent, completed).latency.count());
      latency_.record(latency);
      ++ok_;
    } else {
      ++errors_;
      if (outcome.kind == OutcomeKind::hresult)
        ++by_hresult_[outcome.hresult];
      else
        ++by_kind_[static_cast<std::size_t>(outcome.kind)];
    }
    if (!interval_latency_) return;
    // Completions on one thread come in time order, so intervals only move forward.
    const auto since = std::max(completed - measure_start_, Clock::duration::zero());
    const auto index = static_cast<std::uint64_t>(since / options_.interval);
    if (index != interval_index_) {
      flush_interval();
      interval_index_ = index;
    }
    if (outcome.ok()) {
      interval_latency_->record(latency);
      ++interval_ok_;
    } else {
      ++interval_errors_;
    }
  }

  void flush_interval() {
    if (!interval_latency_ || interval_ok_ + interval_errors_ == 0) return;
    IntervalRecord rec;
    rec.index = interval_index_;
    rec.length_s = seconds(options_.interval);
    rec.ok = interval_ok_;
    rec.errors = interval_errors_;
    rec.latency = interval_latency_->to_sparse();
    intervals_.push_back(std::move(rec));
    interval_latency_->reset();
    interval_ok_ = interval_errors_ = 0;
  }

  const LoadOptions& options_;
  std::atomic<bool>& stopping_;
  asio::io_context io_{1};  // one thread per io_context: the hint lets Asio skip internal locking
  asio::steady_timer pace_timer_{io_};
  asio::steady_timer slot_timer_{io_};
  std::unique_ptr<LoadTarget> target_;
  std::optional<ArrivalSchedule> schedule_;
  std::uint32_t closed_workers_ = 0;
  std::optional<std::uint64_t> quota_;
  std::uint64_t cap_ = 1;
  Clock::time_point run_start_, measure_start_, end_;

  std::uint64_t measured_issued_ = 0;
  std::uint64_t in_flight_ = 0;
  Histogram latency_{options_.layout};
  std::uint64_t ok_ = 0, errors_ = 0, warmup_ = 0, unsent_ = 0;
  std::array<std::uint64_t, kOutcomeKinds> by_kind_{};
  std::map<std::uint32_t, std::uint64_t> by_hresult_;
  std::optional<Clock::time_point> last_measured_completion_;

  std::optional<Histogram> interval_latency_;
  std::uint64_t interval_index_ = 0, interval_ok_ = 0, interval_errors_ = 0;
  std::vector<IntervalRecord> intervals_;

  Live live_;
  std::exception_ptr failure_;
};

LoadDriver::LoadDriver(LoadOptions options, TargetFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

LoadDriver::~LoadDriver() = default;

void LoadDriver::stop() noexcept {
  stopping_.store(true);
  std::lock_guard lock(mutex_);
  for (auto& worker : workers_) worker->post_cancel();
}

Progress LoadDriver::progress() const {
  Progress p;
  std::lock_guard lock(mutex_);
  if (workers_.empty()) return p;
  const auto now = Clock::now();
  p.elapsed = std::max(now - run_start_, Clock::duration::zero());
  p.planned = options_.duration.count() > 0 ? options_.warmup + options_.duration : std::chrono::nanoseconds(0);
  p.warming_up = now < measure_start_;
  for (const auto& worker : workers_) {
    const auto& live = worker->live();
    p.sent += live.sent.load(std::memory_order_relaxed);
    p.completed += live.completed.load(std::memory_order_relaxed);
    p.errors += live.errors.load(std::memory_order_relaxed);
    p.in_flight += live.in_flight.load(std::memory_order_relaxed);
  }
  return p;
}

Result<LoadReport> LoadDriver::run(const std::function<void(const Progress&)>& on_progress,
                                   std::chrono::nanoseconds progress_every) {
  if (auto ok = validate(options_); !ok) return ok.error();
  const std::uint32_t n = options_.threads;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<Worker::Plan> plans(n);
  for (std::uint32_t t = 0; t < n; ++t) {
    workers.push_back(std::make_unique<Worker>(options_, stopping_));
    Worker::Plan& plan = plans[t];
    plan.target = factory_ ? factory_(TargetContext{t, n, workers.back()->executor(), derive_seed(options_.seed, 1000 + t)})
                           : nullptr;
    if (!plan.target) return make_error(Errc::bad_argument, fmt::format("no target for thread {}", t));
    if (is_open_loop(options_.model)) {
      auto schedule = ArrivalSchedule::for_thread(options_.model, options_.seed, t, n);
      if (!schedule) return schedule.error();
      plan.schedule = std::move(*schedule);
      plan.cap = std::max<std::uint64_t>(1, (options_.max_in_flight + n - 1) / n);
    } else {
      const std::uint32_t c = concurrency_of(options_.model);
      plan.closed_workers = c / n + (t < c % n ? 1 : 0);
    }
    if (options_.requests > 0) plan.quota = options_.requests / n + (t < options_.requests % n ? 1 : 0);
  }

  const auto wall_start = std::chrono::system_clock::now();
  // A short lead lets every thread be running before the first request is due.
  run_start_ = Clock::now() + std::chrono::milliseconds(2);
  measure_start_ = run_start_ + options_.warmup;
  const Clock::time_point end =
      options_.duration.count() > 0 ? measure_start_ + options_.duration : Clock::time_point::max();
  for (std::uint32_t t = 0; t < n; ++t) {
    plans[t].run_start = run_start_;
    plans[t].measure_start = measure_start_;
    plans[t].end = end;
    workers[t]->arm(std::move(plans[t]));
  }
  {
    std::lock_guard lock(mutex_);
    workers_ = std::move(workers);
  }

  std::mutex done_mutex;
  std::condition_variable done_cv;
  std::uint32_t finished = 0;
  std::vector<std::thread> threads;
  for (auto& worker : workers_) {
    threads.emplace_back([&, w = worker.get()] {
      w->run();
      std::lock_guard lock(done_mutex);
      ++finished;
      done_cv.notify_all();
    });
  }
  if (stopping_) stop();  // a stop() before the workers existed
  {
    if (progress_every.count() <= 0) progress_every = std::chrono::seconds(1);
    std::unique_lock lock(done_mutex);
    std::uint64_t previous_completed = 0;
    auto previous_time = Clock::now();
    while (!done_cv.wait_for(lock, progress_every, [&] { return finished == n; })) {
      if (!on_progress) continue;
      lock.unlock();
      Progress p = progress();
      const auto now = Clock::now();
      const double dt = seconds(now - previous_time);
      p.recent_rate = dt > 0 ? static_cast<double>(p.completed - previous_completed) / dt : 0;
      previous_completed = p.completed;
      previous_time = now;
      on_progress(p);
      lock.lock();
    }
  }
  for (auto& thread : threads) thread.join();

  std::vector<LoadReport> parts;
  std::optional<Clock::time_point> last_completion;
  for (auto& worker : workers_) {
    if (worker->failure()) std::rethrow_exception(worker->failure());
    if (auto t = worker->last_measured_completion(); t && (!last_completion || *t > *last_completion))
      last_completion = t;
    parts.push_back(worker->report());
  }
  auto merged = merge(parts);
  if (!merged) return merged.error();
  LoadReport report = std::move(*merged);

  RunConfig config;
  config.target = options_.target_name;
  config.mode = std::string(mode_name(options_.model));
  config.rate_per_s = rate_of(options_.model);
  config.concurrency = concurrency_of(options_.model);
  config.duration_s = seconds(options_.duration);
  config.requests = options_.requests;
  config.warmup_s = seconds(options_.warmup);
  config.threads = n;
  config.seed = options_.seed;
  config.max_in_flight = is_open_loop(options_.model) ? options_.max_in_flight : config.concurrency;
  config.timeout_s = seconds(options_.timeout);
  config.started_at = fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(wall_start)));
  report.runs = {config};

  // The window as it really lasted: from the end of warm-up to the last measured completion.
  const Clock::time_point window_end = last_completion ? *last_completion : std::min(Clock::now(), end);
  report.elapsed_s = seconds(std::max(window_end - measure_start_, Clock::duration::zero()));
  report.achieved_rate = report.elapsed_s > 0 ? static_cast<double>(report.counts.requests) / report.elapsed_s : 0;

  // Threads keep only intervals in which something completed; give the log a record for every
  // interval of the window, so a stall shows as empty intervals rather than missing lines.
  if (options_.interval.count() > 0 && report.elapsed_s > 0) {
    const auto window = std::chrono::duration_cast<Clock::duration>(window_end - measure_start_);
    auto count = static_cast<std::uint64_t>((window + options_.interval - std::chrono::nanoseconds(1)) /
                                            options_.interval);
    if (!report.intervals.empty()) count = std::max(count, report.intervals.back().index + 1);
    std::vector<IntervalRecord> full;
    std::size_t next = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (next < report.intervals.size() && report.intervals[next].index == i) {
        full.push_back(std::move(report.intervals[next++]));
        continue;
      }
      IntervalRecord empty;
      empty.index = i;
      empty.length_s = seconds(options_.interval);
      empty.latency.layout = options_.layout;
      full.push_back(std::move(empty));
    }
    report.intervals = std::move(full);
  }
  return report;
}

}  // namespace kmslab::bench
