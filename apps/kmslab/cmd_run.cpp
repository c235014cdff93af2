// kmslab run: run scenario suites (embedded simulator + probe per scenario), print the summary
// table, write JUnit XML and JSON.
#include "commands.hpp"
#include "stop_signals.hpp"

#include "kmslab/harness/isolation.hpp"
#include "kmslab/harness/reports.hpp"
#include "kmslab/harness/runner.hpp"
#include "kmslab/harness/scenario_loader.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <set>

namespace kmslab::cli {

namespace {

static_assert(harness::kExitInterrupted == kExitInterrupted, "one exit code for an interrupted batch command");

struct RunCliOptions {
  std::vector<std::string> paths;
  int jobs = 1;
  std::string filter;
  std::string junit;
  std::string json;
  int repeat = 1;
  std::uint64_t seed = 1;
  bool mutate = false;
  bool fail_on_skip = false;
  bool list = false;
  bool verbose = false;
  bool quiet = false;
  std::size_t max_scenario_bytes = harness::kMaxScenarioFileBytes;
};

// The progress line on a terminal: done/total, failures so far, what is running now.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  void started(const harness::ScenarioResult& r) {
    running_.insert(r.display_name());
    draw();
  }
  void finished(const harness::ScenarioResult& r, std::size_t done, std::size_t total) {
    running_.erase(r.display_name());
    done_ = done;
    total_ = total;
    if (r.status != harness::Status::passed && r.status != harness::Status::skipped) ++bad_;
    draw();
  }
  void clear() const {
    if (enabled_) fmt::print(stderr, "\r\033[K");
  }

 private:
  void draw() const {
    if (!enabled_) return;
    std::string names;
    for (const auto& n : running_) names += (names.empty() ? "" : ", ") + n;
    if (names.size() > 60) names = names.substr(0, 57) + "...";
    fmt::print(stderr, "\r\033[K[{}/{}] {} not passed; running: {}", done_, total_, bad_, names);
    std::fflush(stderr);
  }
  bool enabled_;
  std::set<std::string> running_;
  std::size_t done_ = 0, total_ = 0, bad_ = 0;
};

int run_run(const RunCliOptions& o) {
  auto loaded = harness::load_scenarios(o.paths, o.max_scenario_bytes);
  for (const auto& e : loaded.errors) fmt::print(stderr, "kmslab run: {}\n", e.format());
  if (!loaded.errors.empty()) {
    fmt::print(stderr, "kmslab run: {} scenario error(s); nothing was run\n", loaded.errors.size());
    return kExitUsage;
  }
  std::vector<harness::Scenario> selected;
  for (const auto& s : loaded.scenarios)
    if (harness::matches_filter(s, o.filter)) selected.push_back(s);
  if (selected.empty()) {
    fmt::print(stderr, "kmslab run: no scenario matches --filter '{}' ({} loaded)\n", o.filter, loaded.scenarios.size());
    return kExitUsage;
  }
  if (o.list) {
    for (const auto& s : selected)
      fmt::print("{:<40} {:<9} {}  {}{}\n", s.name, s.cause, s.file, s.description,
                 s.isolation == harness::Isolation::netns ? " [isolation: netns]" : "");
    return kExitOk;
  }

  // Before the first line and the runner's threads: once the line is out, a signal is an interrupt.
  StopSignals signals("run");
  const bool tty = ::isatty(STDERR_FILENO) == 1 && !o.quiet;
  if (!o.quiet)
    fmt::print(stderr, "kmslab run: {} scenario(s){}, jobs {}, seed {}{}\n", selected.size(),
               o.repeat > 1 ? fmt::format(" x {}", o.repeat) : "", o.jobs, o.seed, o.mutate ? ", with mutants" : "");
  Progress progress(tty);
  harness::RunOptions options;
  options.jobs = o.jobs;
  options.repeat = o.repeat;
  options.seed = o.seed;
  options.mutate = o.mutate;
  options.stop = signals.flag();
  options.on_start = [&](const harness::ScenarioResult& r) { progress.started(r); };
  options.on_finish = [&](const harness::ScenarioResult& r, std::size_t done, std::size_t total) {
    progress.finished(r, done, total);
  };
  const auto suite = harness::run_suite(selected, options, harness::make_executor());
  progress.clear();

  fmt::print("{}", harness::render_table(suite, {::isatty(STDOUT_FILENO) == 1, true}));
  if (o.verbose) {
    for (const auto& r : suite.results) {
      if (r.status == harness::Status::passed) continue;
      for (const auto& s : r.steps)
        fmt::print("\n--- {} / step '{}': probe report\n{}", r.display_name(), s.name, s.report_text);
    }
  }
  int status = harness::suite_exit_code(suite, o.fail_on_skip);
  auto write = [&](const std::string& path, const std::string& content) {
    if (path.empty()) return;
    if (auto error = harness::write_file_atomic(path, content); !error.empty()) {
      fmt::print(stderr, "kmslab run: {}\n", error);
      status = kExitUsage;
    } else if (!o.quiet) {
      fmt::print(stderr, "kmslab run: wrote {}\n", path);
    }
  };
  write(o.junit, harness::render_junit(suite));
  write(o.json, harness::suite_to_json(suite).dump(2) + "\n");
  if (suite.interrupted) fmt::print(stderr, "kmslab run: interrupted; unfinished scenarios are marked not run (interrupted)\n");
  return status;
}

}  // namespace

void add_run_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<RunCliOptions>();
  auto* cmd = app.add_subcommand("run", "Run scenario suites: an embedded simulator and the probe per scenario");
  cmd->footer(
      "Each scenario runs its own simulator on ephemeral loopback ports, so --jobs runs them in parallel.\n"
      "Exit status: 0 all passed (skips allowed unless --fail-on-skip), 1 any failed, 2 usage or\n"
      "scenario error, 130 interrupted (SIGINT/SIGTERM): the reports are still written, marked\n"
      "\"interrupted\", with every unfinished scenario \"not run (interrupted)\" (JUnit: skipped). A scenario this machine cannot run (isolation: netns without\n"
      "CAP_NET_ADMIN or nft) is SKIP, with the reason printed under the table.\n"
      "Every run's seed is printed; replay one with --seed S --filter NAME. See docs/scenarios.md.\n"
      "Example: kmslab run scenarios/ --jobs 2 --junit build/suite-junit.xml --json build/suite.json");
  cmd->add_option("paths", o->paths, "Scenario files or directories (searched recursively for *.yaml)")
      ->required();
  cmd->add_option("-j,--jobs", o->jobs, "Scenarios run in parallel")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--filter", o->filter, "Only scenarios whose name, cause or a tag matches this glob (e.g. 'dns.*')");
  cmd->add_option("--junit", o->junit, "Write JUnit XML here (atomically)");
  cmd->add_option("--json", o->json, "Write the JSON results here (atomically)");
  cmd->add_option("--repeat", o->repeat, "Run every scenario N times (each with its own seed)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Suite seed every run's seed derives from")->capture_default_str();
  cmd->add_flag("--mutate", o->mutate,
                "Also run every scenario with its expected findings altered; each such mutant must fail");
  cmd->add_flag("--fail-on-skip", o->fail_on_skip,
                "Exit 1 when a scenario was skipped (CI that must run every scenario, e.g. as root)");
  cmd->add_option("--max-scenario-bytes", o->max_scenario_bytes, "A larger scenario file is an error, not read")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{16} << 20))
      ->capture_default_str();
  cmd->add_flag("--list", o->list, "List the selected scenarios and exit");
  cmd->add_flag("-v,--verbose", o->verbose, "Print the probe report of every run that did not pass");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress or status lines on stderr");
  cmd->callback([&action, o] { action = [o] { return run_run(*o); }; });

  // Internal: how `kmslab run` runs an `isolation: netns` scenario inside the namespace it made
  // (harness/isolation.hpp). Hidden from --help (empty group).
  auto child = std::make_shared<harness::IsolatedRun>();
  auto* internal = app.add_subcommand(harness::kNetnsChildCommand, "internal: one scenario inside a network namespace");
  internal->group("");
  internal->add_option("--file", child->file)->required();
  internal->add_option("--name", child->name)->required();
  internal->add_option("--seed", child->seed)->required();
  internal->add_option("--repeat", child->repeat);
  internal->add_flag("--mutant", child->mutant);
  internal->callback([&action, child] { action = [child] { return harness::run_isolated_child(*child); }; });
}

}  // namespace kmslab::cli
