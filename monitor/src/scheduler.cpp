// The scheduler's target loops and the slot pool that bounds concurrency.
#include "kmslab/monitor/scheduler.hpp"

#include <deque>

#include "kmslab/monitor/probe_summary.hpp"
#include "kmslab/net/deadline.hpp"
#include "kmslab/net/spawn.hpp"

namespace kmslab::monitor {

namespace asio = net::asio;
using Steady = std::chrono::steady_clock;

std::uint64_t target_seed(std::uint64_t seed, std::string_view target_name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char ch : target_name) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ull;
  }
  std::uint64_t z = seed ^ h;
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::chrono::milliseconds jitter_delay(std::mt19937_64& rng, std::chrono::milliseconds jitter) {
  if (jitter.count() <= 0) return std::chrono::milliseconds{0};
  std::uniform_int_distribution<std::int64_t> pick(0, jitter.count() - 1);
  return std::chrono::milliseconds{pick(rng)};
}

asio::awaitable<std::optional<client::ProbeRun>> run_with_deadline(const ProbeFunction& probe,
                                                                   client::ProbeConfig config,
                                                                   std::chrono::milliseconds timeout) {
  co_return co_await net::with_timeout(probe(std::move(config)), timeout);
}

// Everything the loops of one start() share. Stopping moves the stop event's expiry into the past,
// so a loop that starts waiting on it afterwards wakes at once as well.
struct Scheduler::Generation {
  explicit Generation(const asio::any_io_executor& executor, WatchConfig c)
      : config(std::move(c)), stop_event(net::make_stop_event(executor)), free_slots(config.concurrency) {}

  WatchConfig config;
  asio::steady_timer stop_event;
  bool stopped = false;
  std::size_t free_slots;
  std::deque<std::shared_ptr<asio::steady_timer>> waiting;  // each cancelled when handed a slot

  void stop() {
    stopped = true;
    stop_event.expires_at(Steady::time_point::min());
    for (auto& w : waiting) w->cancel();
    waiting.clear();
  }

  // True with a slot held; false when stopped while waiting.
  asio::awaitable<bool> acquire() {
    if (stopped) co_return false;
    if (free_slots > 0) {
      --free_slots;
      co_return true;
    }
    auto ticket = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, Steady::time_point::max());
    waiting.push_back(ticket);
    co_await ticket->async_wait(asio::as_tuple(asio::use_awaitable));
    co_return !stopped;  // release() cancelled it: the slot is ours
  }

  void release() {
    if (!waiting.empty()) {
      auto next = std::move(waiting.front());
      waiting.pop_front();
      next->cancel();  // hands the slot over without freeing it
      return;
    }
    ++free_slots;
  }
};

namespace {

asio::awaitable<void> target_loop(std::shared_ptr<Scheduler::Generation> gen, WatchTarget target, WatchModule module,
                                  ProbeFunction probe, WallClockNow now, WatchMetrics& metrics,
                                  std::shared_ptr<std::uint64_t> runs) {
  std::mt19937_64 rng(target_seed(gen->config.seed, target.name));
  const bool first_due = co_await net::sleep_unless(jitter_delay(rng, target.jitter), gen->stop_event);
  if (!first_due) co_return;
  auto due = Steady::now();
  while (!gen->stopped) {
    const std::uint64_t run_seed = rng();
    const bool got_slot = co_await gen->acquire();
    if (!got_slot) co_return;
    auto config = probe_config_for(module, target.target, run_seed);
    const auto started = Steady::now();
    std::optional<client::ProbeRun> run;
    if (config) {
      try {
        run = co_await run_with_deadline(probe, std::move(*config), module.timeout);
      } catch (...) {
        gen->release();
        throw;
      }
    }
    gen->release();
    if (gen->stopped) co_return;  // reloaded meanwhile: this target may be gone
    ++*runs;
    if (run) metrics.record(target, summarize(*run), now());
    else metrics.record_timeout(target, Steady::now() - started, now());

    due += target.interval;
    const auto current = Steady::now();
    if (due < current) due = current;  // overran: run again now, drop the missed ticks
    const auto wait = (due - current) + jitter_delay(rng, target.jitter);
    const bool next_due = co_await net::sleep_unless(wait, gen->stop_event);
    if (!next_due) co_return;
  }
}

}  // namespace

Scheduler::Scheduler(asio::any_io_executor executor, WatchMetrics& metrics, ProbeFunction probe, WallClockNow now)
    : executor_(std::move(executor)), metrics_(metrics), probe_(std::move(probe)), now_(std::move(now)) {
  if (!probe_) probe_ = [](client::ProbeConfig c) { return client::run_probe(std::move(c)); };
  if (!now_) now_ = [] { return std::chrono::system_clock::now(); };
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start(const WatchConfig& config) {
  stop();
  current_ = std::make_shared<Generation>(executor_, config);
  for (const auto& t : config.targets) {
    const auto& module = config.modules.at(t.module);
    net::spawn_logged(executor_, target_loop(current_, t, module, probe_, now_, metrics_, runs_), "watch " + t.name);
  }
}

void Scheduler::stop() {
  if (current_) current_->stop();
  current_.reset();
}

std::uint64_t Scheduler::runs() const noexcept { return *runs_; }

}  // namespace kmslab::monitor
