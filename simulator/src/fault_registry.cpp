// The action registry and the functions that apply a list of hits, in order, to a plan.
#include "kmslab/simulator/fault_actions.hpp"

namespace kmslab::simulator {

void register_builtin_actions(std::vector<FaultAction>& registry) {
  register_dns_actions(registry);
  register_kms_actions(registry);
  register_sntp_actions(registry);
}

const std::vector<FaultAction>& registered_actions() {
  static const std::vector<FaultAction> registry = [] {
    std::vector<FaultAction> r;
    register_builtin_actions(r);
    return r;
  }();
  return registry;
}

const FaultAction* find_action(FaultTarget target, std::string_view name) {
  for (const auto& a : registered_actions())
    if (a.target == target && a.name == name) return &a;
  return nullptr;
}

std::vector<std::string> action_names(FaultTarget target) {
  std::vector<std::string> out;
  for (const auto& a : registered_actions())
    if (a.target == target) out.push_back(a.name);
  return out;
}

std::chrono::milliseconds delay_of(const DelayParams& params, FaultDraw draw) noexcept {
  return std::chrono::milliseconds(params.delay_ms + (params.jitter_ms ? draw.upto(params.jitter_ms) : 0));
}

void apply_dns_faults(std::span<const FaultHit> hits, DnsExchange& exchange) {
  for (const auto& hit : hits) {
    if (!hit.action || !hit.action->on_dns || !hit.params) continue;
    hit.action->on_dns(exchange, *hit.params, hit.draw);
    if (exchange.action != DnsAction::reply) return;  // nothing is left to edit
  }
}

void apply_sntp_faults(std::span<const FaultHit> hits, SntpReplyPlan& plan) {
  for (const auto& hit : hits) {
    if (!hit.action || !hit.action->on_sntp || !hit.params) continue;
    hit.action->on_sntp(plan, *hit.params, hit.draw);
    if (plan.drop) return;
  }
}

KmsStagePlan plan_kms_stage(KmsStage stage, std::span<const FaultHit> hits) {
  KmsStagePlan plan;
  for (const auto& hit : hits) {
    if (!hit.action || !hit.action->on_kms || !hit.params) continue;
    hit.action->on_kms(stage, plan, *hit.params, hit.draw);
    plan.applied.push_back(hit.name);
  }
  return plan;
}

}  // namespace kmslab::simulator
