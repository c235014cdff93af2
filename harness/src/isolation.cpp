#include "kmslab/harness/isolation.hpp"

#include "kmslab/harness/scenario_loader.hpp"
#include "kmslab/net/netns.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace kmslab::harness {

namespace {

using nlohmann::json;
using FromJson = boost::system::result<ScenarioResult, std::string>;

// The tail of a child's stderr, for an error message that fits a table row and a JUnit body.
std::string tail(std::string text, std::size_t max = 2000) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > max) text = "..." + text.substr(text.size() - max);
  return text;
}

}  // namespace

std::vector<std::string> isolated_child_args(const IsolatedRun& run) {
  std::vector<std::string> args = {kNetnsChildCommand,  "--file",   run.file,
                                   "--name",            run.name,   "--seed",
                                   std::to_string(run.seed), "--repeat", std::to_string(run.repeat)};
  if (run.mutant) args.emplace_back("--mutant");
  return args;
}

std::string netns_unavailable_reason() { return net::cached_netns_support().reason; }

json executor_result_to_json(const ScenarioResult& r) {
  json steps = json::array();
  for (const auto& s : r.steps)
    steps.push_back({{"name", s.name},
                     {"passed", s.passed},
                     {"failures", s.failures},
                     {"expected", s.expected},
                     {"actual", s.actual},
                     {"report_text", s.report_text},
                     {"report_json", s.report_json},
                     {"duration_us", s.duration.count()}});
  return {{"status", to_string(r.status)}, {"error", r.error}, {"steps", std::move(steps)}};
}

FromJson executor_result_from_json(const json& j) {
  // nlohmann's get<> throws on a wrong type; the child is our own binary, but its output is still
  // input, so a wrong shape becomes one sentence.
  try {
    if (!j.is_object()) return FromJson(boost::system::in_place_error, "the result is not a JSON object");
    ScenarioResult r;
    const auto status = j.at("status").get<std::string>();
    bool known = false;
    for (auto s : {Status::passed, Status::failed, Status::error, Status::not_run, Status::skipped})
      if (to_string(s) == status) r.status = s, known = true;
    if (!known) return FromJson(boost::system::in_place_error, fmt::format("unknown status '{}'", status));
    r.error = j.at("error").get<std::string>();
    for (const auto& s : j.at("steps")) {
      StepResult step;
      step.name = s.at("name").get<std::string>();
      step.passed = s.at("passed").get<bool>();
      step.failures = s.at("failures").get<std::vector<std::string>>();
      step.expected = s.at("expected").get<std::string>();
      step.actual = s.at("actual").get<std::string>();
      step.report_text = s.at("report_text").get<std::string>();
      step.report_json = s.at("report_json");
      step.duration = std::chrono::microseconds(s.at("duration_us").get<std::int64_t>());
      r.steps.push_back(std::move(step));
    }
    return r;
  } catch (const json::exception& e) {
    return FromJson(boost::system::in_place_error, fmt::format("malformed result: {}", e.what()));
  }
}

ScenarioResult run_scenario_in_netns(const Scenario& s, const RunContext& ctx, const IsolationOptions& options) {
  ScenarioResult r;
  if (auto why = netns_unavailable_reason(); !why.empty()) {
    r.status = Status::skipped;
    r.error = "needs isolation: netns, but " + why;
    return r;
  }
  if (s.file.empty()) {
    r.status = Status::error;
    r.error = "a scenario with isolation: netns must be loaded from a file (the namespace child reloads it)";
    return r;
  }
  std::vector<std::string> argv = {options.program};
  const auto args = isolated_child_args({s.file, s.name, ctx.seed, ctx.repeat, ctx.mutant});
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = net::spawn_in_new_netns(argv);
  if (!child) {
    r.status = Status::error;
    r.error = "cannot start the scenario's network namespace: " + child.error();
    return r;
  }
  const auto outcome = (*child)->wait(s.timeout + options.grace, ctx.stop);
  if (outcome.stopped) {
    r.status = Status::not_run;
    r.error = kNotRunInterrupted;
    return r;
  }
  if (outcome.exit_code != 0) {
    r.status = Status::error;
    r.error = fmt::format("the namespace child ended with {}: {}", outcome.describe(), tail(outcome.err));
    return r;
  }
  const auto parsed = json::parse(outcome.out, nullptr, false);
  auto result = executor_result_from_json(parsed);
  if (!result) {
    r.status = Status::error;
    r.error = fmt::format("the namespace child's result: {}{}", result.error(),
                          outcome.err.empty() ? "" : "; stderr: " + tail(outcome.err));
    return r;
  }
  return std::move(*result);
}

ScenarioExecutor make_executor(IsolationOptions options) {
  return [options = std::move(options)](const Scenario& s, const RunContext& ctx) {
    return s.isolation == Isolation::netns ? run_scenario_in_netns(s, ctx, options) : run_scenario(s, ctx);
  };
}

int run_isolated_child(const IsolatedRun& run) {
  if (!net::in_private_netns()) {
    std::fprintf(stderr, "kmslab %s: not inside a network namespace kmslab created; `kmslab run` starts this\n",
                 kNetnsChildCommand);
    return 2;
  }
  auto loaded = load_scenario_file(run.file);
  if (!loaded) {
    std::fprintf(stderr, "kmslab %s: %s\n", kNetnsChildCommand, loaded.error().format().c_str());
    return 2;
  }
  Scenario scenario = std::move(*loaded);
  if (scenario.name != run.name) {
    std::fprintf(stderr, "kmslab %s: %s holds scenario '%s', not '%s'\n", kNetnsChildCommand, run.file.c_str(),
                 scenario.name.c_str(), run.name.c_str());
    return 2;
  }
  if (run.mutant) {
    std::string description;  // the parent has it; the mutation is deterministic for the seed
    scenario = make_mutant(scenario, run.seed, description);
  }
  std::atomic<bool> never{false};
  const RunContext ctx{run.seed, run.repeat, run.mutant, &never};
  ScenarioResult result;
  try {
    result = run_scenario(scenario, ctx);
  } catch (const std::exception& e) {
    result.status = Status::error;
    result.error = fmt::format("internal error: {}", e.what());
  }
  const auto text = executor_result_to_json(result).dump() + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace kmslab::harness
