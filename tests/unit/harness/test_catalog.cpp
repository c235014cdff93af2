// The scenario catalog (scenarios/) is complete and well-formed: it loads; every finding code,
// every fault action and every simulated runbook row has scenarios; healthy baselines exist for
// v4, v5 and v6; every phase has a within-budget and an over-budget scenario; failover is covered
// by priority and by weight; timing windows are robust (a lower bound always has an upper bound).
#include "kmslab/harness/fault_bridge.hpp"
#include "kmslab/harness/scenario_loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace kmslab::harness {
namespace {

const std::vector<Scenario>& catalog() {
  static const std::vector<Scenario> scenarios = [] {
    auto suite = load_scenarios({std::string(KMSLAB_SOURCE_DIR) + "/scenarios"});
    for (const auto& e : suite.errors) ADD_FAILURE() << e.format();
    return suite.scenarios;
  }();
  return scenarios;
}

template <class F>
std::vector<std::string> steps_where(F predicate) {
  std::vector<std::string> out;
  for (const auto& s : catalog())
    for (const auto& step : s.steps)
      if (predicate(s, step)) out.push_back(s.name + " / " + step.name);
  return out;
}

bool expects(const Step& step, client::FindingCode code) {
  return std::any_of(step.expect.findings.begin(), step.expect.findings.end(),
                     [&](const auto& f) { return f.code == code; });
}

// The code cannot be reported: listed absent, or excluded by an exact expectation.
bool excludes(const Step& step, client::FindingCode code) {
  if (expects(step, code)) return false;
  return step.expect.exact_findings ||
         std::find(step.expect.absent.begin(), step.expect.absent.end(), code) != step.expect.absent.end();
}

TEST(Catalog, LoadsWithoutErrors) { EXPECT_GE(catalog().size(), 30u); }

TEST(Catalog, EveryFindingCodeIsExpectedSomewhere) {
  for (const auto code : client::all_finding_codes()) {
    const auto where = steps_where([&](const Scenario&, const Step& st) { return expects(st, code); });
    EXPECT_FALSE(where.empty()) << "no scenario expects " << client::to_string(code);
  }
}

TEST(Catalog, EveryFaultActionIsUsed) {
  std::set<std::string> used;
  for (const auto& s : catalog()) {
    for (const auto& f : s.faults) used.insert(fault_action(f));
    for (const auto& step : s.steps)
      for (const auto& f : step.faults.add) used.insert(fault_action(f));
  }
  for (const auto& action : known_fault_actions()) EXPECT_TRUE(used.count(action)) << "no scenario uses " << action;
}

TEST(Catalog, EverySimulatedRunbookRowHasScenarios) {
  for (const auto& cause : scenario_causes()) {
    const auto n = std::count_if(catalog().begin(), catalog().end(), [&](const auto& s) { return s.cause == cause; });
    EXPECT_GE(n, 2) << "runbook row '" << cause << "' needs scenarios";
  }
}

TEST(Catalog, HealthyBaselinesForEveryProtocol) {
  for (const int v : {4, 5, 6}) {
    const auto where = steps_where([&](const Scenario& s, const Step& st) {
      return s.cause == kBaselineCause && st.probe.protocol == std::optional<std::uint16_t>(static_cast<std::uint16_t>(v)) && st.expect.verdict == client::Verdict::healthy &&
             st.expect.findings.empty() && st.expect.exact_findings;
    });
    EXPECT_FALSE(where.empty()) << "no healthy baseline for KMS v" << v;
  }
}

TEST(Catalog, EveryPhaseWithinAndOverBudget) {
  for (const auto phase : client::kAllPhases) {
    const auto slow = client::slow_code(phase);
    const auto over = steps_where([&](const Scenario&, const Step& st) {
      return st.probe.budgets.count(phase) && expects(st, slow);
    });
    const auto within = steps_where([&](const Scenario&, const Step& st) {
      return st.probe.budgets.count(phase) && excludes(st, slow) && !st.expect.phases.empty();
    });
    EXPECT_FALSE(over.empty()) << "no over-budget scenario for " << client::to_string(phase);
    EXPECT_FALSE(within.empty()) << "no slow-but-within-budget scenario (with a time window) for "
                                 << client::to_string(phase);
  }
}

TEST(Catalog, FailoverByPriorityAndByWeight) {
  // (priority, weight) of every SRV record the site serves: published hosts and raw records.
  auto published = [](const Scenario& s) {
    std::vector<simulator::PublishSpec> out;
    for (const auto& h : s.simulator.kms_hosts) out.insert(out.end(), h.publish.begin(), h.publish.end());
    for (const auto& z : s.simulator.dns.zones)
      for (const auto& r : z.records)
        if (r.type == "SRV") out.push_back({z.origin, r.priority, r.weight});
    return out;
  };
  const auto by_priority = steps_where([&](const Scenario& s, const Step& st) {
    const auto p = published(s);
    return expects(st, client::FindingCode::failover_used) && p.size() >= 2 && p[0].priority != p[1].priority;
  });
  const auto by_weight = steps_where([&](const Scenario& s, const Step& st) {
    const auto p = published(s);
    return expects(st, client::FindingCode::failover_used) && p.size() >= 2 && p[0].priority == p[1].priority &&
           p[0].weight != p[1].weight;
  });
  EXPECT_FALSE(by_priority.empty()) << "no failover between SRV priorities";
  EXPECT_FALSE(by_weight.empty()) << "no failover inside one priority (by weight)";
  const auto with_steps = std::count_if(catalog().begin(), catalog().end(), [](const auto& s) {
    return s.steps.size() > 1 && std::any_of(s.steps.begin(), s.steps.end(), [](const Step& st) {
             return !st.faults.add.empty() || !st.faults.remove.empty() || st.faults.clear;
           });
  });
  EXPECT_GE(with_steps, 1) << "no scenario changes faults between probe runs";
}

TEST(Catalog, TimingWindowsAreRobust) {
  for (const auto& s : catalog()) {
    std::chrono::milliseconds sleeps{0};
    for (const auto& step : s.steps) {
      sleeps += step.sleep;
      for (const auto& w : step.expect.phases) {
        // A lower bound proves a delay happened; without an upper bound the window proves little,
        // and an upper bound under 200 ms is a flake waiting for a loaded CI machine.
        if (w.min) {
          EXPECT_TRUE(w.max) << s.name << ": " << client::to_string(w.phase) << " has min without max";
        }
        if (w.max) {
          EXPECT_GE(*w.max, std::chrono::milliseconds(200)) << s.name << ": " << client::to_string(w.phase);
        }
      }
    }
    EXPECT_LE(sleeps, std::chrono::seconds(1)) << s.name << ": keep real waits short";
    EXPECT_LE(s.timeout, std::chrono::seconds(30)) << s.name;
    EXPECT_FALSE(s.description.empty()) << s.name << " needs a description";
  }
}

}  // namespace
}  // namespace kmslab::harness
