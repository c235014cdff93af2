#include "kmslab/harness/results.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kmslab::harness {

std::string_view to_string(Status status) noexcept {
  switch (status) {
    case Status::passed: return "passed";
    case Status::failed: return "failed";
    case Status::error: return "error";
    case Status::not_run: return "not_run";
    case Status::skipped: return "skipped";
  }
  return "unknown";
}

std::string ScenarioResult::display_name() const {
  std::string out = name;
  if (repeat > 0) out += fmt::format("#{}", repeat + 1);
  if (mutant) out += " [mutant]";
  return out;
}

std::size_t SuiteResult::count(Status status) const {
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [&](const auto& r) { return r.status == status; }));
}

int suite_exit_code(const SuiteResult& suite, bool fail_on_skip) {
  if (suite.interrupted) return kExitInterrupted;
  const auto skipped = fail_on_skip ? 0 : suite.count(Status::skipped);
  return suite.count(Status::passed) + skipped == suite.results.size() ? 0 : 1;
}

}  // namespace kmslab::harness
