#include "kmslab/harness/scenario_loader.hpp"

#include "expect_reader.hpp"
#include "probe_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace kmslab::harness {

using config::ConfigNode;

namespace {

namespace fs = std::filesystem;

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

std::string default_name(const std::string& file) {
  std::string stem = fs::path(file).stem().string();
  std::transform(stem.begin(), stem.end(), stem.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return stem;
}

FaultChanges read_changes(const ConfigNode& n) {
  FaultChanges c;
  if (n.is_sequence()) {  // a bare list means "add these"
    for (const auto& f : n.items()) c.add.push_back(read_scenario_fault(f));
    return c;
  }
  n.expect_keys({"add", "remove", "clear"});
  c.clear = n.get_bool("clear", false);
  if (auto r = n.optional_child("remove")) c.remove = r->as_string_list();
  if (auto a = n.optional_child("add"))
    for (const auto& f : a->items()) c.add.push_back(read_scenario_fault(f));
  return c;
}

// Fault names must be unique among the active faults; a removal must name an active fault.
void check_fault_names(const Scenario& s, const ConfigNode& root) {
  std::vector<std::string> active;
  auto add_all = [&](const std::vector<FaultSpec>& faults, const ConfigNode& where) {
    for (std::size_t i = 0; i < faults.size(); ++i) {
      const auto& name = faults[i].name;
      if (std::find(active.begin(), active.end(), name) != active.end())
        where.items().at(i).fail(fmt::format("a fault named '{}' is already active; names must be unique", name));
      active.push_back(name);
    }
  };
  if (auto f = root.optional_child("faults")) add_all(s.faults, *f);
  auto steps = root.optional_child("steps");
  if (!steps) return;
  const auto items = steps->items();
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const auto& changes = s.steps[i].faults;
    const auto node = items.at(i).optional_child("faults");
    if (!node) continue;
    if (changes.clear) active.clear();
    for (const auto& name : changes.remove) {
      auto it = std::find(active.begin(), active.end(), name);
      if (it == active.end()) {
        std::string hint;
        if (auto guess = config::nearest(name, active)) hint = fmt::format(" (did you mean '{}'?)", *guess);
        node->child("remove").fail(fmt::format("no active fault named '{}' to remove{}", name, hint));
      }
      active.erase(it);
    }
    if (node->is_sequence())
      add_all(changes.add, *node);
    else if (node->has("add"))
      add_all(changes.add, node->child("add"));
  }
}

// A `filtered` fault in mode nftables changes the network itself, so it needs the scenario's own
// namespace: that sets netns; `isolation: none` with such a fault is a contradiction.
bool needs_netns(const FaultSpec& f) {
  if (f.target != simulator::FaultTarget::kms || f.action != "filtered" || !f.params.is_object()) return false;
  const auto mode = f.params.find("mode");
  return mode != f.params.end() && mode->is_string() && mode->get<std::string>() == "nftables";
}

void read_isolation(Scenario& s, const ConfigNode& root) {
  std::optional<std::string> needed_by;  // the first fault that needs it
  auto scan = [&](const std::vector<FaultSpec>& faults) {
    for (const auto& f : faults)
      if (!needed_by && needs_netns(f)) needed_by = f.name.empty() ? std::string("filtered") : f.name;
  };
  scan(s.faults);
  for (const auto& step : s.steps) scan(step.faults.add);
  if (auto node = root.optional_child("isolation")) {
    const auto text = node->as_string();
    if (text == "netns") {
      s.isolation = Isolation::netns;
    } else if (text == "none") {
      if (needed_by)
        node->fail(fmt::format("fault '{}' (filtered, mode nftables) needs `isolation: netns`", *needed_by));
    } else {
      node->fail(fmt::format("unknown isolation '{}' (one of: none, netns)", text));
    }
  }
  if (needed_by) s.isolation = Isolation::netns;
}

}  // namespace

std::string_view to_string(Isolation isolation) noexcept {
  return isolation == Isolation::netns ? "netns" : "none";
}

std::vector<std::string> scenario_causes() {
  return {std::string(kBaselineCause), "1a", "1b", "slow", "2", "3", "protocol"};
}

Scenario read_scenario(const ConfigNode& root) {
  root.expect_keys({"name", "description", "cause", "tags", "seed", "timeout", "isolation", "simulator", "faults",
                    "probe", "expect", "steps"});
  Scenario s;
  s.file = root.file();
  s.name = root.has("name") ? root.child("name").as_string() : default_name(root.file());
  if (!valid_name(s.name)) {
    const auto msg = fmt::format("scenario name '{}' must be 1..128 of a-z 0-9 . _ -", s.name);
    if (root.has("name")) root.child("name").fail(msg);
    root.fail(msg + " (add a `name:` key)");
  }
  s.description = root.get_string("description", "");
  {
    const auto cause = root.child("cause");
    const std::string text = cause.as_string();
    const auto causes = scenario_causes();
    if (std::find(causes.begin(), causes.end(), text) == causes.end()) {
      std::string list;
      for (const auto& c : causes) list += (list.empty() ? "" : ", ") + c;
      if (auto guess = config::nearest(text, causes))
        cause.fail(fmt::format("unknown cause '{}' (did you mean '{}'? one of: {})", text, *guess, list));
      cause.fail(fmt::format("unknown cause '{}' (one of: {})", text, list));
    }
    s.cause = text;
  }
  if (auto tags = root.optional_child("tags")) s.tags = tags->as_string_list();
  if (auto seed = root.optional_child("seed")) s.seed = static_cast<std::uint64_t>(seed->as_int(0, INT64_MAX));
  if (auto t = root.optional_child("timeout")) {
    const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t->as_duration("ms"));
    if (d < std::chrono::milliseconds(100) || d > kMaxScenarioTimeout)
      t->fail(fmt::format("expected a scenario timeout between 100ms and {}s", kMaxScenarioTimeout.count() / 1000));
    s.timeout = d;
  }
  const auto sim = root.child("simulator");
  s.simulator = simulator::read_simulator_config(sim);
  if (auto faults = root.optional_child("faults"))
    for (const auto& f : faults->items()) s.faults.push_back(read_scenario_fault(f));

  const ProbeSpec base = root.has("probe") ? detail::read_probe(root.child("probe"), ProbeSpec{}) : ProbeSpec{};
  if (auto steps = root.optional_child("steps")) {
    if (root.has("expect"))
      root.child("expect").fail("a scenario with steps has an `expect:` in each step, not at the top level");
    const auto items = steps->items();
    if (items.empty()) steps->fail("expected at least one step");
    if (items.size() > 32) steps->fail("at most 32 steps");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto& n = items[i];
      n.expect_keys({"name", "faults", "sleep", "probe", "expect"});
      Step step;
      step.name = n.get_string("name", fmt::format("step {}", i + 1));
      if (auto f = n.optional_child("faults")) step.faults = read_changes(*f);
      if (auto sl = n.optional_child("sleep")) {
        step.sleep = std::chrono::duration_cast<std::chrono::milliseconds>(sl->as_duration("ms"));
        if (step.sleep > std::chrono::seconds(10)) sl->fail("a step sleeps at most 10s");
      }
      step.probe = n.has("probe") ? detail::read_probe(n.child("probe"), base) : base;
      step.expect = detail::read_expectation(n.child("expect"));
      s.steps.push_back(std::move(step));
    }
  } else {
    Step step;
    step.name = "probe";
    step.probe = base;
    step.expect = detail::read_expectation(root.child("expect"));
    s.steps.push_back(std::move(step));
  }
  check_fault_names(s, root);
  read_isolation(s, root);
  // Cross-references against the site: host names, something to probe.
  const auto probe_node = root.optional_child("probe");
  auto steps_node = root.optional_child("steps");
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    std::optional<ConfigNode> where = probe_node;
    if (steps_node) {
      const auto item = steps_node->items().at(i);
      if (item.has("probe")) where = item.child("probe");
    }
    detail::check_probe(s.steps[i].probe, s.simulator, where ? *where : root);
  }
  return s;
}

config::ConfigResult<Scenario> load_scenario_file(const std::string& path, std::size_t max_bytes) {
  return config::load_config<Scenario>(path, read_scenario, max_bytes);
}

config::ConfigResult<Scenario> load_scenario_text(std::string_view text, const std::string& name) {
  return config::load_config_text<Scenario>(text, name, read_scenario);
}

ScenarioFiles find_scenario_files(const std::vector<std::string>& paths) {
  ScenarioFiles out;
  for (const auto& p : paths) {
    std::error_code ec;
    const auto status = fs::status(p, ec);
    if (ec || !fs::exists(status)) {
      out.errors.push_back({p, 0, 0, "", "no such file or directory"});
      continue;
    }
    if (!fs::is_directory(status)) {
      out.files.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto ext = it->path().extension().string();
      if (it->is_regular_file(ec) && (ext == ".yaml" || ext == ".yml")) found.push_back(it->path().string());
    }
    if (ec) out.errors.push_back({p, 0, 0, "", fmt::format("cannot list: {}", ec.message())});
    if (found.empty() && !ec) out.errors.push_back({p, 0, 0, "", "no scenario files (*.yaml, *.yml) under it"});
    std::sort(found.begin(), found.end());
    out.files.insert(out.files.end(), found.begin(), found.end());
  }
  return out;
}

LoadedSuite load_scenarios(const std::vector<std::string>& paths, std::size_t max_file_bytes) {
  LoadedSuite suite;
  auto files = find_scenario_files(paths);
  suite.errors = std::move(files.errors);
  std::set<std::string> seen_files;
  std::map<std::string, std::string> names;  // name -> file
  for (const auto& f : files.files) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(f, ec);
    if (!seen_files.insert(ec ? f : canonical.string()).second) continue;  // named twice
    auto s = load_scenario_file(f, max_file_bytes);
    if (!s) {
      suite.errors.push_back(s.error());
      continue;
    }
    if (auto [it, fresh] = names.emplace(s->name, f); !fresh) {
      suite.errors.push_back(
          {f, 0, 0, "name", fmt::format("scenario name '{}' is also used by {}", s->name, it->second)});
      continue;
    }
    suite.scenarios.push_back(std::move(*s));
  }
  return suite;
}

}  // namespace kmslab::harness
