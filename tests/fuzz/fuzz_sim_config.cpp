// Fuzz target: the simulator's YAML configuration loader (simulator/sim_config.hpp), through
// config::ConfigNode and yaml-cpp — the same path `kmslab serve --config` and the control API take.
// The scenario loader joins this target (or gets its own) once it exists.
//
// Properties:
//   - nothing escapes as an exception: every problem is a ConfigError (the loader's contract);
//   - an error names the document it was given and a line/column that is 0 or inside the text;
//   - a loaded config keeps the invariants the loader validates: unique host names, SNTP stratum
//     and leap in range, KMS protocols 4..6, each host's hwid 16 hex digits.
#include "fuzz_target.hpp"

#include "kmslab/simulator/sim_config.hpp"

#include <algorithm>
#include <set>

namespace {

using kmslab::fuzz::fuzz_check;

constexpr const char* kName = "fuzz.yaml";
// A config is read from a file bounded by config::kDefaultMaxConfigBytes; fuzz well below that so
// each execution stays fast (yaml-cpp is not instrumented, only our code is).
constexpr std::size_t kMaxInput = 16 * 1024;

std::size_t count_lines(std::string_view text) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

void check_config(const kmslab::simulator::SimulatorConfig& c) {
  std::set<std::string> names;
  for (const auto& h : c.kms_hosts) {
    fuzz_check(!h.name.empty(), "a KMS host without a name was accepted");
    fuzz_check(names.insert(h.name).second, "duplicate KMS host names were accepted");
    for (int p : h.protocols) fuzz_check(p >= 4 && p <= 6, "a KMS protocol outside 4..6 was accepted");
    fuzz_check(h.hwid.size() == 16, "an hwid that is not 16 hex digits was accepted");
    fuzz_check(h.activation_interval_min >= 1 && h.renewal_interval_min >= 1,
               "an interval below one minute was accepted");
  }
  fuzz_check(c.sntp.stratum <= 16 && c.sntp.leap <= 3, "SNTP stratum or leap out of range");
  fuzz_check(c.sntp.reference_id.size() <= 4, "an SNTP reference id over 4 characters");
  for (const auto& z : c.dns.zones) fuzz_check(!z.origin.empty(), "a zone without an origin");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  const std::string_view text = kmslab::fuzz::as_text({data, size});
  try {
    auto config = kmslab::simulator::load_simulator_config_text(text, kName);
    if (config) {
      check_config(*config);
    } else {
      const auto& e = config.error();
      fuzz_check(e.file == kName, "a config error does not name the document");
      fuzz_check(e.line >= 0 && e.column >= 0, "a negative line or column");
      fuzz_check(static_cast<std::size_t>(e.line) <= count_lines(text) + 1,
                 "a config error points past the last line");
      fuzz_check(!e.format().empty() && !e.message.empty(), "an empty config error message");
    }
  } catch (const std::exception& e) {
    kmslab::fuzz::fuzz_fail(std::string("exception escaped the config loader: ") + e.what());
  }
  return 0;
}
