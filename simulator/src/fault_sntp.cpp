// SNTP fault actions: each edits the SntpReplyPlan the responder hands its fault hook.
#include "fault_params.hpp"

#include "kmslab/protocol/sntp.hpp"
#include "kmslab/simulator/fault_actions.hpp"

#include <fmt/format.h>

namespace kmslab::simulator {

namespace {

namespace sntp = protocol::sntp;
using detail::ParamReader;
using nlohmann::json;

constexpr std::int64_t kMaxSkewMs = 100ll * 365 * 86400 * 1000;

// The NTP timestamp difference for a signed number of milliseconds (wraps like the era does).
std::uint64_t ntp_delta(std::int64_t ms) {
  const bool negative = ms < 0;
  const auto magnitude = static_cast<std::uint64_t>(negative ? -ms : ms);
  const std::uint64_t delta = ((magnitude / 1000) << 32) + (((magnitude % 1000) << 32) / 1000);
  return negative ? ~delta + 1 : delta;
}

sntp::Timestamp shifted(sntp::Timestamp t, std::uint64_t delta) {
  if (t.is_zero()) return t;  // "unknown" stays unknown
  return sntp::Timestamp::from_raw(t.raw() + delta);
}

// skew: the server's clock reads offset_ms away from the simulator's. The transmit stamp is the
// skewed receive time (not restamped at send), so a later delay in the chain looks like network
// delay rather than server hold time.
void skew(SntpReplyPlan& plan, const FaultParams& params, FaultDraw) {
  const auto delta = ntp_delta(std::get<SntpSkewParams>(params).offset_ms);
  plan.reply.reference = shifted(plan.reply.reference, delta);
  plan.reply.receive = shifted(plan.reply.receive, delta);
  plan.reply.transmit = plan.reply.receive;
  plan.restamp_transmit = false;
}

void drop(SntpReplyPlan& plan, const FaultParams&, FaultDraw) { plan.drop = true; }

void delay(SntpReplyPlan& plan, const FaultParams& params, FaultDraw draw) {
  plan.delay += delay_of(std::get<DelayParams>(params), draw);
}

// kiss_of_death: stratum 0, LI alarm, the kiss code in the reference id (RFC 5905 §7.4).
void kiss_of_death(SntpReplyPlan& plan, const FaultParams& params, FaultDraw) {
  plan.reply.stratum = 0;
  plan.reply.leap = sntp::LeapIndicator::alarm;
  plan.reply.reference_id = sntp::reference_id_from_code(std::get<SntpKissParams>(params).code).value();
}

// stratum_16: the server says it is not synchronised (stratum 16, LI alarm).
void stratum_16(SntpReplyPlan& plan, const FaultParams&, FaultDraw) {
  plan.reply.stratum = sntp::kUnsynchronisedStratum;
  plan.reply.leap = sntp::LeapIndicator::alarm;
}

FaultResult<FaultParams> parse_skew(const json& params, std::string_view action) {
  ParamReader r(params, action, {"offset_ms"});
  SntpSkewParams p;
  r.i64("offset_ms", p.offset_ms, -kMaxSkewMs, kMaxSkewMs, true);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json skew_json(const FaultParams& params) { return {{"offset_ms", std::get<SntpSkewParams>(params).offset_ms}}; }

FaultResult<FaultParams> parse_kiss(const json& params, std::string_view action) {
  ParamReader r(params, action, {"code"});
  SntpKissParams p;
  r.string("code", p.code);
  if (r.ok()) {
    if (auto id = sntp::reference_id_from_code(p.code); !id)
      r.fail("code", fmt::format("'{}' is not a kiss code of 1..4 printable ASCII characters (RATE, DENY, RSTR)", p.code));
  }
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json kiss_json(const FaultParams& params) { return {{"code", std::get<SntpKissParams>(params).code}}; }

FaultAction sntp_action(std::string name, std::string summary, void (*on)(SntpReplyPlan&, const FaultParams&, FaultDraw),
                        std::vector<std::string> params = {},
                        FaultResult<FaultParams> (*parse)(const json&, std::string_view) = detail::parse_no_params,
                        json (*to_json)(const FaultParams&) = detail::no_params_json) {
  FaultAction a;
  a.target = FaultTarget::sntp;
  a.name = std::move(name);
  a.summary = std::move(summary);
  a.params = std::move(params);
  a.parse = parse;
  a.params_to_json = to_json;
  a.on_sntp = on;
  return a;
}

}  // namespace

void register_sntp_actions(std::vector<FaultAction>& registry) {
  registry.push_back(sntp_action("skew", "the server's timestamps run offset_ms ahead (negative: behind)", skew,
                                 {"offset_ms"}, parse_skew, skew_json));
  registry.push_back(sntp_action("drop", "never answer", drop));
  registry.push_back(sntp_action("delay", "hold the reply delay_ms (+ up to jitter_ms)", delay,
                                 {"delay_ms", "jitter_ms"}, detail::parse_delay, detail::delay_json));
  registry.push_back(sntp_action("kiss_of_death", "answer a kiss-o'-death (stratum 0) with `code`", kiss_of_death,
                                 {"code"}, parse_kiss, kiss_json));
  registry.push_back(sntp_action("stratum_16", "answer as an unsynchronised server (stratum 16, LI alarm)",
                                 stratum_16));
}

}  // namespace kmslab::simulator
