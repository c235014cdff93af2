// Fuzz target: what the control API does with a request body (simulator/control_api.hpp) — the
// JSON parse, the fault schema (simulator/fault.hpp, parse_fault_json) and the engine that stores
// and evaluates a fault (simulator/fault_engine.hpp), plus the listener-state body of
// PUT /listeners/{host}. ControlApi::handle() itself needs a running Site (Asio), so the target
// drives the same pure pieces in the same order; the HTTP framing is Beast's and is exercised by
// the hostile-input integration test instead.
//
// Properties:
//   - nothing throws: a bad body is a value (discarded JSON, a FaultError naming a field);
//   - a fault that validates round-trips: parse_fault_json(to_json(s)) == s;
//   - an engine accepts exactly the faults that validate (hosts kms1/kms2, else a "host" error),
//     lists one fault afterwards, and evaluating every stage, DNS and SNTP with it never throws;
//     the plans those hits make are built without throwing, and a listener state from the body
//     is applied to a known host and read back.
#include "fuzz_target.hpp"

#include "kmslab/simulator/fault.hpp"
#include "kmslab/simulator/fault_actions.hpp"
#include "kmslab/simulator/fault_engine.hpp"

#include <nlohmann/json.hpp>

namespace {

namespace sim = kmslab::simulator;
using kmslab::fuzz::fuzz_check;

// The control API's default body limit.
constexpr std::size_t kMaxInput = 64 * 1024;

void exercise_engine(const nlohmann::json& body, const kmslab::simulator::FaultResult<sim::FaultSpec>& parsed) {
  // A fixed clock: limit_for then depends on the input only.
  const auto epoch = std::chrono::steady_clock::time_point{};
  sim::FaultEngine engine(7, [epoch] { return epoch; });
  engine.set_kms_hosts({"kms1", "kms2"});
  auto added = engine.add_json(body);
  if (!parsed) {
    fuzz_check(!added, "the engine accepted a fault parse_fault_json rejected");
    return;
  }
  const bool known_host = parsed->host.empty() || parsed->host == "kms1" || parsed->host == "kms2";
  if (!added) {
    fuzz_check(!known_host || added.error().field == "name", "the engine rejected a valid fault on a known host");
    return;
  }
  fuzz_check(engine.size() == 1 && engine.list().size() == 1, "the engine does not list the fault it added");
  for (auto stage : {sim::KmsStage::listener, sim::KmsStage::accept, sim::KmsStage::bind, sim::KmsStage::request,
                     sim::KmsStage::response}) {
    const auto hits = engine.evaluate_kms("kms1", stage);
    (void)sim::plan_kms_stage(stage, hits);
  }
  (void)engine.evaluate_dns("_vlmcs._tcp.corp.example", "SRV");
  sim::SntpReplyPlan plan;
  const auto sntp_hits = engine.evaluate_sntp();
  sim::apply_sntp_faults(sntp_hits, plan);
  (void)engine.counters_json().dump();
  fuzz_check(engine.remove(added->spec.name), "the engine cannot remove the fault it added");
}

void exercise_listener_body(const nlohmann::json& body) {
  auto it = body.find("state");
  if (it == body.end() || !it->is_string()) return;
  auto state = sim::parse_listener_state(it->get<std::string>());
  if (!state) return;
  sim::FaultEngine engine(1);
  engine.set_kms_hosts({"kms1"});
  fuzz_check(static_cast<bool>(engine.set_listener_state("kms1", *state)), "a known host refused a listener state");
  fuzz_check(engine.listener_state("kms1") == *state, "the listener state does not read back");
  fuzz_check(!engine.set_listener_state("nope", *state), "an unknown host took a listener state");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  const std::string_view text = kmslab::fuzz::as_text({data, size});
  try {
    const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return 0;  // 400 before anything else runs
    exercise_listener_body(body);
    const auto parsed = sim::parse_fault_json(body);
    if (parsed) {
      const auto again = sim::parse_fault_json(sim::to_json(*parsed));
      fuzz_check(static_cast<bool>(again), "the canonical JSON of a valid fault does not validate");
      fuzz_check(*again == *parsed, "a fault does not round-trip through to_json");
    } else {
      fuzz_check(!parsed.error().message.empty(), "a fault error without a message");
    }
    exercise_engine(body, parsed);
  } catch (const std::exception& e) {
    kmslab::fuzz::fuzz_fail(std::string("exception escaped the control API's body handling: ") + e.what());
  }
  return 0;
}
