// Fuzz target: the scenario loader (harness/scenario_loader.hpp) on a document as `kmslab run`
// reads it from a scenario file: YAML syntax, keys, types, expectations, steps, probe settings,
// the embedded `simulator:` section and `faults:` entries, and the cross-checks between them.
// Asio-free: the loader, its readers and the client's finding/verdict tables are compiled into
// the target (tests/fuzz/CMakeLists.txt) without the harness's runner or the simulator's servers.
//
// Properties:
//   - nothing escapes as an exception: every problem is a ConfigError (the loader's contract);
//   - an error names the document and a line that is 0 or inside the text, with a message;
//   - a loaded scenario keeps what the loader promises: a non-empty name, between 1 and 32 steps,
//     a timeout of 100 ms .. the maximum, no step sleeping over 10 s, fault names unique in the
//     scenario's initial faults.
#include "fuzz_target.hpp"

#include "kmslab/harness/scenario_loader.hpp"

#include <algorithm>
#include <set>

namespace {

using kmslab::fuzz::fuzz_check;

constexpr const char* kName = "fuzz-scenario.yaml";
// Files are bounded by kMaxScenarioFileBytes (256 KiB); 16 KiB keeps each execution fast.
constexpr std::size_t kMaxInput = 16 * 1024;

std::size_t count_lines(std::string_view text) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

void check_scenario(const kmslab::harness::Scenario& s) {
  fuzz_check(!s.name.empty(), "a scenario without a name was accepted");
  fuzz_check(!s.steps.empty() && s.steps.size() <= 32, "a scenario with 0 or more than 32 steps was accepted");
  fuzz_check(s.timeout >= std::chrono::milliseconds(100), "a scenario timeout below 100 ms was accepted");
  for (const auto& step : s.steps)
    fuzz_check(step.sleep <= std::chrono::seconds(10), "a step sleeping over 10 s was accepted");
  std::set<std::string> names;
  for (const auto& f : s.faults)
    if (!f.name.empty()) fuzz_check(names.insert(f.name).second, "duplicate fault names were accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  const std::string_view text = kmslab::fuzz::as_text({data, size});
  try {
    auto scenario = kmslab::harness::load_scenario_text(text, kName);
    if (scenario) {
      check_scenario(*scenario);
    } else {
      const auto& e = scenario.error();
      fuzz_check(e.file == kName, "a scenario error does not name the document");
      fuzz_check(e.line >= 0 && e.column >= 0, "a negative line or column");
      fuzz_check(static_cast<std::size_t>(e.line) <= count_lines(text) + 1, "a scenario error points past the last line");
      fuzz_check(!e.message.empty(), "an empty scenario error message");
    }
  } catch (const std::exception& e) {
    kmslab::fuzz::fuzz_fail(std::string("exception escaped the scenario loader: ") + e.what());
  }
  return 0;
}
