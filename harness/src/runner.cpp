#include "kmslab/harness/runner.hpp"

#include "kmslab/harness/expectations.hpp"

#include <fnmatch.h>

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace kmslab::harness {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

bool glob(std::string_view pattern, const std::string& text) {
  const std::string p(pattern);
  return ::fnmatch(p.c_str(), text.c_str(), 0) == 0;
}

struct PlannedRun {
  const Scenario* scenario = nullptr;
  Scenario mutant;  // used when is_mutant
  bool is_mutant = false;
  std::string mutation;
  int repeat = 0;
  std::uint64_t seed = 0;
};

ScenarioResult identity(const PlannedRun& run) {
  const Scenario& s = *run.scenario;
  ScenarioResult r;
  r.name = s.name;
  r.file = s.file;
  r.cause = s.cause;
  r.tags = s.tags;
  r.description = s.description;
  r.repeat = run.repeat;
  r.mutant = run.is_mutant;
  r.mutation = run.mutation;
  r.seed = run.seed;
  r.status = Status::not_run;
  std::string expected;
  for (const auto& step : (run.is_mutant ? run.mutant : s).steps)
    expected += (expected.empty() ? "" : " | ") + describe_expectation(step.expect);
  r.expected = run.is_mutant ? "must fail: " + expected : expected;
  return r;
}

// A mutant is killed (passes) when every step's mutated expectation failed.
void invert_for_mutant(ScenarioResult& r) {
  if (r.status != Status::passed && r.status != Status::failed) return;
  const bool killed =
      !r.steps.empty() && std::none_of(r.steps.begin(), r.steps.end(), [](const StepResult& s) { return s.passed; });
  r.status = killed ? Status::passed : Status::failed;
}

}  // namespace

bool matches_filter(const Scenario& s, std::string_view pattern) {
  if (pattern.empty()) return true;
  if (glob(pattern, s.name) || glob(pattern, s.cause)) return true;
  return std::any_of(s.tags.begin(), s.tags.end(), [&](const auto& t) { return glob(pattern, t); });
}

std::uint64_t derive_seed(std::uint64_t suite_seed, std::string_view name, int repeat) {
  return splitmix64(splitmix64(suite_seed ^ fnv1a(name)) + static_cast<std::uint64_t>(repeat));
}

Scenario make_mutant(const Scenario& scenario, std::uint64_t seed, std::string& description) {
  Scenario m = scenario;
  description.clear();
  for (std::size_t i = 0; i < m.steps.size(); ++i) {
    auto mutation = mutate_expectation(m.steps[i].expect, seed + i);
    m.steps[i].expect = std::move(mutation.expect);
    description += (description.empty() ? "" : "; ") +
                   (m.steps.size() > 1 ? fmt::format("step '{}': ", m.steps[i].name) : std::string()) +
                   mutation.description;
  }
  return m;
}

SuiteResult run_suite(const std::vector<Scenario>& scenarios, const RunOptions& options,
                      const ScenarioExecutor& executor) {
  SuiteResult suite;
  suite.seed = options.seed;
  suite.jobs = std::max(1, options.jobs);
  suite.repeat = std::max(1, options.repeat);
  suite.mutate = options.mutate;
  suite.started_at = std::chrono::system_clock::now();
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<PlannedRun> plan;
  for (const auto& s : scenarios) {
    if (!matches_filter(s, options.filter)) continue;
    for (int r = 0; r < suite.repeat; ++r) {
      const std::uint64_t seed = s.seed ? (r == 0 ? *s.seed : derive_seed(*s.seed, s.name, r))
                                        : derive_seed(options.seed, s.name, r);
      plan.push_back(PlannedRun{&s, {}, false, {}, r, seed});
    }
    if (options.mutate) {
      PlannedRun m{&s, {}, true, {}, 0, s.seed.value_or(derive_seed(options.seed, s.name, 0))};
      m.mutant = make_mutant(s, m.seed, m.mutation);
      plan.push_back(std::move(m));
    }
  }
  suite.results.reserve(plan.size());
  for (const auto& run : plan) suite.results.push_back(identity(run));

  std::atomic<bool> never{false};
  const std::atomic<bool>* stop = options.stop != nullptr ? options.stop : &never;
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::mutex mutex;  // guards `done`, the callbacks and result slots while publishing

  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= plan.size() || stop->load()) return;
      const PlannedRun& run = plan[i];
      ScenarioResult started;
      {
        std::lock_guard lock(mutex);
        started = suite.results[i];
        if (options.on_start) options.on_start(started);
      }
      RunContext ctx{run.seed, run.repeat, run.is_mutant, stop};
      const auto begin = std::chrono::steady_clock::now();
      ScenarioResult r;
      try {
        r = executor(run.is_mutant ? run.mutant : *run.scenario, ctx);
      } catch (const std::exception& e) {
        r.status = Status::error;
        r.error = fmt::format("internal error: {}", e.what());
      }
      ScenarioResult merged = std::move(started);
      merged.status = r.status;
      merged.error = std::move(r.error);
      merged.steps = std::move(r.steps);
      merged.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - begin);
      if (merged.mutant) invert_for_mutant(merged);
      std::lock_guard lock(mutex);
      suite.results[i] = std::move(merged);
      ++done;
      if (options.on_finish) options.on_finish(suite.results[i], done, plan.size());
    }
  };
  const int threads = std::min<int>(suite.jobs, static_cast<int>(std::max<std::size_t>(1, plan.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  suite.interrupted = stop->load();
  for (auto& r : suite.results)
    if (r.status == Status::not_run && r.error.empty())
      r.error = suite.interrupted ? std::string(kNotRunInterrupted) : "not run";
  suite.wall = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  return suite;
}

}  // namespace kmslab::harness
