// The fault actions: one params struct per action (units in the names), the registry mapping
// action names to {target, stages, param parser, behaviour}, and the pure functions that apply a
// list of hits to a DNS exchange, an SNTP reply plan or one stage of a KMS connection.
//
// The model is Toxiproxy's toxics: generic knobs (name, match, probability, limits) live in
// FaultSpec and the engine; an action only parses its params and changes a plan. Behaviours never
// sleep and never touch sockets: they edit a plan (DnsExchange, SntpReplyPlan, KmsStagePlan) and
// the transport carries it out. Randomness (jitter) comes only from the hit's `draw`, which the
// engine takes from the fault's own seeded RNG, so a run replays exactly for a given seed.
//
// The registry is built once by register_builtin_actions() (an explicit function, no static
// initialisation tricks) and is immutable afterwards: safe to read from any thread.
#pragma once

#include "kmslab/simulator/dns_handler.hpp"
#include "kmslab/simulator/fault.hpp"
#include "kmslab/simulator/kms_connection.hpp"
#include "kmslab/simulator/sntp_handler.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace kmslab::simulator {

// ---- params -----------------------------------------------------------------------------------

struct NoParams {
  friend bool operator==(const NoParams&, const NoParams&) = default;
};
struct DelayParams {  // dns / kms / sntp delay
  std::uint32_t delay_ms = 0;
  std::uint32_t jitter_ms = 0;  // plus a uniform 0..jitter_ms from the fault's RNG
  friend bool operator==(const DelayParams&, const DelayParams&) = default;
};
struct DnsRewriteSrvParams {
  std::optional<std::string> target;  // new SRV target (absolute or relative to nothing)
  std::optional<std::uint16_t> port;
  friend bool operator==(const DnsRewriteSrvParams&, const DnsRewriteSrvParams&) = default;
};
struct DnsTtlParams {
  std::uint32_t ttl_s = 0;
  friend bool operator==(const DnsTtlParams&, const DnsTtlParams&) = default;
};
struct KmsResetParams {
  // response stage: bytes of the response written before the reset (none: half of it)
  std::optional<std::uint32_t> after_bytes;
  friend bool operator==(const KmsResetParams&, const KmsResetParams&) = default;
};
struct KmsTrickleParams {
  std::uint32_t bytes = 1;         // per write
  std::uint32_t interval_ms = 10;  // between writes
  friend bool operator==(const KmsTrickleParams&, const KmsTrickleParams&) = default;
};
struct KmsTruncateParams {
  std::optional<std::uint32_t> bytes;  // bytes written before closing (none: half of the reply)
  friend bool operator==(const KmsTruncateParams&, const KmsTruncateParams&) = default;
};
struct KmsRpcFaultParams {
  std::uint32_t status = 0x1C01000B;  // nca_proto_error
  friend bool operator==(const KmsRpcFaultParams&, const KmsRpcFaultParams&) = default;
};
struct KmsBindNakParams {
  std::uint16_t reason = 0;  // p_reject_reason_t; 0 = not specified
  friend bool operator==(const KmsBindNakParams&, const KmsBindNakParams&) = default;
};
struct KmsHresultParams {
  std::uint32_t hresult = 0;
  friend bool operator==(const KmsHresultParams&, const KmsHresultParams&) = default;
};
struct KmsClockSkewParams {
  std::int64_t skew_s = 0;  // the host's clock runs this far ahead (negative: behind)
  friend bool operator==(const KmsClockSkewParams&, const KmsClockSkewParams&) = default;
};
struct KmsCountParams {
  std::uint32_t count = 0;
  friend bool operator==(const KmsCountParams&, const KmsCountParams&) = default;
};
struct KmsProductsParams {
  std::vector<std::string> products;  // as given; [] = serves nothing
  std::set<protocol::Guid> served;    // resolved KMS count IDs
  bool serve_any = false;             // "any" was listed
  friend bool operator==(const KmsProductsParams&, const KmsProductsParams&) = default;
};
// filtered: how SYNs go unanswered. backlog: the rootless full-accept-queue listener (default);
// nftables: an nftables drop rule, only inside a network namespace kmslab created (net/netns.hpp).
enum class KmsFilterMode : std::uint8_t { backlog, nftables };
struct KmsFilteredParams {
  KmsFilterMode mode = KmsFilterMode::backlog;
  friend bool operator==(const KmsFilteredParams&, const KmsFilteredParams&) = default;
};
struct SntpSkewParams {
  std::int64_t offset_ms = 0;  // the server's timestamps run this far ahead (negative: behind)
  friend bool operator==(const SntpSkewParams&, const SntpSkewParams&) = default;
};
struct SntpKissParams {
  std::string code = "RATE";  // 1..4 ASCII characters: RATE, DENY, RSTR, ...
  friend bool operator==(const SntpKissParams&, const SntpKissParams&) = default;
};

using FaultParams =
    std::variant<NoParams, DelayParams, DnsRewriteSrvParams, DnsTtlParams, KmsResetParams, KmsTrickleParams,
                 KmsTruncateParams, KmsRpcFaultParams, KmsBindNakParams, KmsHresultParams, KmsClockSkewParams,
                 KmsCountParams, KmsProductsParams, KmsFilteredParams, SntpSkewParams, SntpKissParams>;

// ---- what a KMS stage does ----------------------------------------------------------------------

// How the bytes of one reply (a bind_ack, or an activation response) go out.
struct KmsWriteShaping {
  std::optional<KmsTrickleParams> trickle;
  std::optional<std::uint32_t> truncate_bytes;  // write this many, then close (FIN)
  bool truncate_half = false;                   // truncate at half of the reply
  std::optional<std::uint32_t> reset_after_bytes;  // write this many, then reset (RST)
  bool reset_half = false;
  bool reset_after_reply = false;  // write the whole reply, then reset
  bool any() const noexcept {
    return trickle || truncate_bytes || truncate_half || reset_after_bytes || reset_half || reset_after_reply;
  }
};

// The plan for one stage of one connection, built from the hits in order.
struct KmsStagePlan {
  std::chrono::milliseconds delay{0};  // before anything else at this stage
  bool reset = false;    // SO_LINGER 0 + close at once (RST)
  bool silence = false;  // answer nothing from here on; hold the connection open
  KmsPduFaults pdu;      // bind_nak / rpc_fault / hresult / overrides / corruption
  KmsWriteShaping write;
  std::vector<std::string> applied;  // names of the faults that acted, for logs
};

// ---- registry ---------------------------------------------------------------------------------

// One draw of the fault's RNG per hit, for behaviours that need randomness (jitter).
struct FaultDraw {
  std::uint64_t value = 0;
  // Uniform in [0, max] (inclusive).
  std::uint64_t upto(std::uint64_t max) const noexcept { return max == UINT64_MAX ? value : value % (max + 1); }
};

struct FaultAction {
  FaultTarget target = FaultTarget::kms;
  std::string name;
  std::string summary;               // one line, for docs and `GET /actions`
  std::vector<KmsStage> stages;      // kms: the stages it may act at; the first is the default
  std::vector<std::string> params;   // the param names it accepts, for error messages and docs
  FaultResult<FaultParams> (*parse)(const nlohmann::json& params, std::string_view action) = nullptr;
  nlohmann::json (*params_to_json)(const FaultParams& params) = nullptr;
  void (*on_dns)(DnsExchange& exchange, const FaultParams& params, FaultDraw draw) = nullptr;
  void (*on_sntp)(SntpReplyPlan& plan, const FaultParams& params, FaultDraw draw) = nullptr;
  void (*on_kms)(KmsStage stage, KmsStagePlan& plan, const FaultParams& params, FaultDraw draw) = nullptr;
  // refused / filtered: the action is a listener state, held while the fault exists.
  bool listener_refused = false;
  bool listener_filtered = false;
};

// Every registered action, in registration order (DNS, KMS, SNTP).
const std::vector<FaultAction>& registered_actions();
const FaultAction* find_action(FaultTarget target, std::string_view name);
std::vector<std::string> action_names(FaultTarget target);

// Appends the built-in actions to `registry`; registered_actions() calls it once.
void register_builtin_actions(std::vector<FaultAction>& registry);
// Per target, defined in fault_dns.cpp / fault_kms.cpp / fault_sntp.cpp.
void register_dns_actions(std::vector<FaultAction>& registry);
void register_kms_actions(std::vector<FaultAction>& registry);
void register_sntp_actions(std::vector<FaultAction>& registry);

// ---- applying hits ----------------------------------------------------------------------------

// A fault the engine decided to apply to one event.
struct FaultHit {
  std::string name;
  const FaultAction* action = nullptr;
  std::shared_ptr<const FaultParams> params;
  FaultDraw draw;
};

void apply_dns_faults(std::span<const FaultHit> hits, DnsExchange& exchange);
void apply_sntp_faults(std::span<const FaultHit> hits, SntpReplyPlan& plan);
KmsStagePlan plan_kms_stage(KmsStage stage, std::span<const FaultHit> hits);

// The delay a DelayParams asks for with this draw.
std::chrono::milliseconds delay_of(const DelayParams& params, FaultDraw draw) noexcept;

}  // namespace kmslab::simulator
