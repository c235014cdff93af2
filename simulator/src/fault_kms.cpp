// KMS / TCP fault actions: each edits the plan of one stage of a connection (KmsStagePlan); the
// KMS host's session carries the plan out (kms_host.cpp). refused / filtered are listener states.
#include "fault_params.hpp"

#include "kmslab/simulator/fault_actions.hpp"
#include "kmslab/simulator/kms_host_policy.hpp"

#include <fmt/format.h>

namespace kmslab::simulator {

namespace {

using detail::ParamReader;
using nlohmann::json;
using S = KmsStage;

constexpr std::uint64_t kMaxReplyBytes = 1 << 20;

void silence(S, KmsStagePlan& plan, const FaultParams&, FaultDraw) { plan.silence = true; }

void reset(S stage, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  const auto& p = std::get<KmsResetParams>(params);
  switch (stage) {
    case S::bind:  // the bind is answered, then the connection is reset ("reset after bind")
      plan.write.reset_after_reply = true;
      break;
    case S::response:  // part of the response, then the reset ("mid-response")
      if (p.after_bytes) plan.write.reset_after_bytes = *p.after_bytes;
      else plan.write.reset_half = true;
      break;
    default:  // accept, request: reset at once
      plan.reset = true;
  }
}

void delay(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw draw) {
  plan.delay += delay_of(std::get<DelayParams>(params), draw);
}

void trickle(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  plan.write.trickle = std::get<KmsTrickleParams>(params);
}

void truncate(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  const auto& p = std::get<KmsTruncateParams>(params);
  if (p.bytes) plan.write.truncate_bytes = *p.bytes;
  else plan.write.truncate_half = true;
}

void corrupt_hash(S, KmsStagePlan& plan, const FaultParams&, FaultDraw) { plan.pdu.corrupt = KmsCorruption::hash; }
void corrupt_mac(S, KmsStagePlan& plan, const FaultParams&, FaultDraw) { plan.pdu.corrupt = KmsCorruption::mac; }

void rpc_fault(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  plan.pdu.rpc_fault_status = std::get<KmsRpcFaultParams>(params).status;
}

void bind_nak(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  plan.pdu.bind_nak_reason = std::get<KmsBindNakParams>(params).reason;
}

void hresult(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  plan.pdu.hresult = std::get<KmsHresultParams>(params).hresult;
}

void clock_skew(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  plan.pdu.overrides.clock_skew = std::chrono::seconds(std::get<KmsClockSkewParams>(params).skew_s);
}

void count(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  plan.pdu.overrides.count = std::get<KmsCountParams>(params).count;
}

void products(S, KmsStagePlan& plan, const FaultParams& params, FaultDraw) {
  const auto& p = std::get<KmsProductsParams>(params);
  plan.pdu.overrides.served = p.served;
  plan.pdu.overrides.serve_any = p.serve_any;
}

// ---- params ----

FaultResult<FaultParams> parse_reset(const json& params, std::string_view action) {
  ParamReader r(params, action, {"after_bytes"});
  KmsResetParams p;
  r.optional_unsigned("after_bytes", p.after_bytes, 0, kMaxReplyBytes);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json reset_json(const FaultParams& params) {
  const auto& p = std::get<KmsResetParams>(params);
  return p.after_bytes ? json{{"after_bytes", *p.after_bytes}} : json::object();
}

FaultResult<FaultParams> parse_trickle(const json& params, std::string_view action) {
  ParamReader r(params, action, {"bytes", "interval_ms"});
  KmsTrickleParams p;
  r.unsigned_field("bytes", p.bytes, 1, kMaxReplyBytes);
  r.unsigned_field("interval_ms", p.interval_ms, 0, 60'000);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json trickle_json(const FaultParams& params) {
  const auto& p = std::get<KmsTrickleParams>(params);
  return {{"bytes", p.bytes}, {"interval_ms", p.interval_ms}};
}

FaultResult<FaultParams> parse_truncate(const json& params, std::string_view action) {
  ParamReader r(params, action, {"bytes"});
  KmsTruncateParams p;
  r.optional_unsigned("bytes", p.bytes, 0, kMaxReplyBytes);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json truncate_json(const FaultParams& params) {
  const auto& p = std::get<KmsTruncateParams>(params);
  return p.bytes ? json{{"bytes", *p.bytes}} : json::object();
}

FaultResult<FaultParams> parse_rpc_fault(const json& params, std::string_view action) {
  ParamReader r(params, action, {"status"});
  KmsRpcFaultParams p;
  r.unsigned_field("status", p.status, 0, 0xFFFFFFFFull, false, true);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json rpc_fault_json(const FaultParams& params) {
  return {{"status", fmt::format("0x{:08X}", std::get<KmsRpcFaultParams>(params).status)}};
}

FaultResult<FaultParams> parse_bind_nak(const json& params, std::string_view action) {
  ParamReader r(params, action, {"reason"});
  KmsBindNakParams p;
  r.unsigned_field("reason", p.reason, 0, 65535);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json bind_nak_json(const FaultParams& params) { return {{"reason", std::get<KmsBindNakParams>(params).reason}}; }

FaultResult<FaultParams> parse_hresult(const json& params, std::string_view action) {
  ParamReader r(params, action, {"hresult"});
  KmsHresultParams p;
  // 0 would claim success without a response payload, which no host sends.
  r.unsigned_field("hresult", p.hresult, 1, 0xFFFFFFFFull, true, true);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json hresult_json(const FaultParams& params) {
  return {{"hresult", fmt::format("0x{:08X}", std::get<KmsHresultParams>(params).hresult)}};
}

FaultResult<FaultParams> parse_clock_skew(const json& params, std::string_view action) {
  ParamReader r(params, action, {"skew_s"});
  KmsClockSkewParams p;
  constexpr std::int64_t kMax = 100ll * 365 * 86400;  // SkewedClock's clamp
  r.i64("skew_s", p.skew_s, -kMax, kMax, true);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json clock_skew_json(const FaultParams& params) { return {{"skew_s", std::get<KmsClockSkewParams>(params).skew_s}}; }

FaultResult<FaultParams> parse_count(const json& params, std::string_view action) {
  ParamReader r(params, action, {"count"});
  KmsCountParams p;
  r.unsigned_field("count", p.count, 0, 0xFFFFFFFFull, true);
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json count_json(const FaultParams& params) { return {{"count", std::get<KmsCountParams>(params).count}}; }

FaultResult<FaultParams> parse_products(const json& params, std::string_view action) {
  ParamReader r(params, action, {"products"});
  KmsProductsParams p;
  r.string_list("products", p.products, true);
  for (std::size_t i = 0; r.ok() && i < p.products.size(); ++i) {
    if (p.products[i] == "any") {
      p.serve_any = true;
      continue;
    }
    std::string error;
    auto ids = KmsHostPolicy::resolve_products(p.products[i], error);
    if (ids.empty()) r.fail(fmt::format("products[{}]", i), error.empty() ? "names no product" : error);
    p.served.insert(ids.begin(), ids.end());
  }
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json products_json(const FaultParams& params) { return {{"products", std::get<KmsProductsParams>(params).products}}; }

FaultResult<FaultParams> parse_filtered(const json& params, std::string_view action) {
  ParamReader r(params, action, {"mode"});
  std::optional<std::string> mode;
  r.optional_string("mode", mode);
  KmsFilteredParams p;
  if (mode && *mode == "nftables") p.mode = KmsFilterMode::nftables;
  else if (mode && *mode != "backlog")
    r.fail("mode", fmt::format("expected 'backlog' (no root needed) or 'nftables' (a drop rule in a private network "
                               "namespace), got '{}'", *mode));
  if (!r.ok()) return r.error();
  return FaultParams{p};
}
json filtered_json(const FaultParams& params) {
  return std::get<KmsFilteredParams>(params).mode == KmsFilterMode::nftables ? json{{"mode", "nftables"}}
                                                                             : json::object();
}

FaultAction kms_action(std::string name, std::string summary, std::vector<KmsStage> stages,
                       void (*on)(KmsStage, KmsStagePlan&, const FaultParams&, FaultDraw),
                       std::vector<std::string> params = {},
                       FaultResult<FaultParams> (*parse)(const json&, std::string_view) = detail::parse_no_params,
                       json (*to_json)(const FaultParams&) = detail::no_params_json) {
  FaultAction a;
  a.target = FaultTarget::kms;
  a.name = std::move(name);
  a.summary = std::move(summary);
  a.stages = std::move(stages);
  a.params = std::move(params);
  a.parse = parse;
  a.params_to_json = to_json;
  a.on_kms = on;
  return a;
}

}  // namespace

void register_kms_actions(std::vector<FaultAction>& registry) {
  auto refused = kms_action("refused", "the listener is closed: connects are refused (RST)", {S::listener}, nullptr);
  refused.listener_refused = true;
  registry.push_back(std::move(refused));
  auto filtered = kms_action("filtered", "the listener never answers SYNs: connects time out (mode: backlog | nftables)",
                             {S::listener}, nullptr, {"mode"}, parse_filtered, filtered_json);
  filtered.listener_filtered = true;
  registry.push_back(std::move(filtered));
  registry.push_back(kms_action("silence", "accept, then answer nothing until the client or the idle deadline gives up",
                                {S::accept, S::bind, S::request}, silence));
  registry.push_back(kms_action("reset", "reset the connection (RST): at accept, after the bind, at the request, or "
                                         "mid-response after after_bytes",
                                {S::accept, S::bind, S::request, S::response}, reset, {"after_bytes"}, parse_reset,
                                reset_json));
  registry.push_back(kms_action("delay", "wait delay_ms (+ up to jitter_ms) at the stage",
                                {S::response, S::accept, S::bind, S::request}, delay, {"delay_ms", "jitter_ms"},
                                detail::parse_delay, detail::delay_json));
  registry.push_back(kms_action("trickle", "write the reply `bytes` at a time, interval_ms apart",
                                {S::response, S::bind}, trickle, {"bytes", "interval_ms"}, parse_trickle, trickle_json));
  registry.push_back(kms_action("truncate", "write only the first `bytes` of the reply (default half), then close",
                                {S::response, S::bind}, truncate, {"bytes"}, parse_truncate, truncate_json));
  registry.push_back(kms_action("corrupt_hash", "damage the response's hash (v4: its MAC)", {S::response}, corrupt_hash));
  registry.push_back(kms_action("corrupt_mac", "damage the response's MAC (v6: HMAC; v5 has none: its hash)",
                                {S::response}, corrupt_mac));
  registry.push_back(kms_action("rpc_fault", "answer the request with an RPC fault PDU carrying `status`",
                                {S::request}, rpc_fault, {"status"}, parse_rpc_fault, rpc_fault_json));
  registry.push_back(kms_action("bind_nak", "reject the bind with bind_nak (`reason`), then close", {S::bind},
                                bind_nak, {"reason"}, parse_bind_nak, bind_nak_json));
  registry.push_back(kms_action("hresult", "answer in-band with this HRESULT and no response", {S::request}, hresult,
                                {"hresult"}, parse_hresult, hresult_json));
  registry.push_back(kms_action("clock_skew", "decide as if the host's clock were skew_s ahead", {S::request},
                                clock_skew, {"skew_s"}, parse_clock_skew, clock_skew_json));
  registry.push_back(kms_action("count", "report this current count", {S::request}, count, {"count"}, parse_count,
                                count_json));
  registry.push_back(kms_action("products", "serve only these products ([] = none, \"any\" = every ID)",
                                {S::request}, products, {"products"}, parse_products, products_json));
}

}  // namespace kmslab::simulator
