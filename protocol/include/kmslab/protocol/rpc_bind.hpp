// Presentation-context negotiation for KMS: what a host answers to a bind / alter_context, what
// a client offers, and how a client reads the answer. Pure functions, no I/O.
//
// Host side (decide_bind), per context element, as vlmcsd and Windows decide (kms-protocol §1.3):
//   - a BTFN transfer syntax -> negotiate-ack (3) with the requested bitmap & 0x3 when BTFN is
//     enabled (otherwise it is just an unsupported syntax). BTFN is recognised before the
//     interface check, as vlmcsd does (the abstract syntax of a BTFN item is not meaningful);
//   - interface not the KMS one (or, with check_interface_version, not v1.0) -> rejection reason 1;
//   - NDR64 -> accepted when the host enables NDR64;
//   - NDR32 -> accepted only when no NDR64 syntax was offered anywhere in the same PDU or the host
//     disables NDR64, otherwise rejected reason 2 (Windows' behaviour; the client then follows up
//     with an alter_context for NDR32);
//   - anything else -> rejection reason 2.
// With several transfer syntaxes in one element, the first acceptable one wins.
// vlmcsd answers reason 2 for a foreign interface offered with NDR64 when NDR64 is disabled;
// kmslab answers reason 1 there, as §1.3 and Windows do.
//
// Client side: make_client_bind() builds what vlmcs / Windows send; interpret_bind_ack() checks
// an ack against the bind it answers and says which contexts are usable and whether the client
// must send an alter_context (vlmcs does when NDR32 was not accepted but NDR64 was).
#pragma once

#include "kmslab/protocol/rpc_pdu.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kmslab::protocol::rpc {

struct HostRpcPolicy {
  bool ndr64 = true;  // vlmcsd enables it for emulated host builds >= 9200
  bool btfn = true;
  bool check_interface_version = false;  // vlmcsd does not check it
};

struct NegotiatedContext {
  std::uint16_t context_id = 0;
  NdrSyntax syntax = NdrSyntax::ndr32;
  friend bool operator==(const NegotiatedContext&, const NegotiatedContext&) = default;
};

struct BindDecision {
  std::vector<ContextResult> results;        // one per offered context, in order
  std::vector<NegotiatedContext> accepted;   // contexts requests may now use
  std::optional<std::uint16_t> btfn_features;  // the bitmap acknowledged, if BTFN was negotiated
};

// Works for bind and alter_context alike.
BindDecision decide_bind(const Bind& request, const HostRpcPolicy& policy);

// The ack for `request` carrying `decision`. Like vlmcsd: max frag sizes and call_id echoed;
// a bind_ack mirrors the request's PFC_CONC_MPX flag, an alter_context_resp carries first|last
// only. `secondary_address` is the listening port as text ("1688"); vlmcsd sends none
// (nullopt) in an alter_context_resp.
BindAck make_bind_ack(const Bind& request, const BindDecision& decision,
                      std::uint32_t assoc_group_id, std::optional<std::string> secondary_address);

// Which syntax each accepted context speaks, for the life of one connection (bind and every
// alter_context feed it). A request on a context not in the table gets fault nca_unk_if.
class ContextTable {
 public:
  void apply(const BindDecision& decision);
  std::optional<NdrSyntax> find(std::uint16_t context_id) const noexcept;
  std::size_t size() const noexcept { return contexts_.size(); }
  void clear() noexcept { contexts_.clear(); }

 private:
  std::vector<NegotiatedContext> contexts_;  // at most 65536 ids, in practice 1-3
};

// ---------------------------------------------------------------------------------------------
// Client side

struct ClientBindOptions {
  bool ndr32 = true;
  bool ndr64 = true;
  bool btfn = true;
  bool multiplexed = true;  // PFC_CONC_MPX, vlmcs' default (-p turns it off)
  std::uint16_t btfn_features = kBtfnKnownFeatures;
  std::uint16_t max_xmit_frag = 5840;
  std::uint16_t max_recv_frag = 5840;
  std::uint32_t call_id = 2;  // Windows and vlmcs start at 2
};

// Contexts numbered from 0 in the order NDR32, NDR64, BTFN (each only if enabled): the default
// is the 160-byte vlmcs/Windows bind, {.ndr64 = false, .btfn = false} the 72-byte NDR32-only one.
Bind make_client_bind(const ClientBindOptions& options = {});
// vlmcs' follow-up when NDR32 was refused: alter_context with ctx 0 / NDR32 only.
Bind make_client_alter_context(std::uint32_t call_id = 2, bool multiplexed = true);

struct ClientBindOutcome {
  std::optional<std::uint16_t> ndr32_context;
  std::optional<std::uint16_t> ndr64_context;
  std::optional<std::uint16_t> btfn_features;
  // Reason of each rejected context, by context id (for diagnosis: rpc.bind_rejected).
  std::vector<std::pair<std::uint16_t, std::uint16_t>> rejected;
  // NDR32 was refused but NDR64 accepted: vlmcs then sends make_client_alter_context().
  bool needs_alter_context = false;
  // Deviations from Windows that vlmcs would warn about but that do not break the call.
  std::vector<std::string> warnings;

  bool usable() const noexcept { return ndr32_context || ndr64_context; }
};

// Errors (the ack is not a valid answer to `sent`): wrong ptype (bad_type), call_id mismatch
// (bad_value; call_id 1 is tolerated with a warning, Wine's RPC always answers 1), result count
// differing from the context count (bad_value), an accepted syntax that was not offered or a
// negotiate-ack for a context without BTFN (bad_value), an unknown result value (bad_value).
// All contexts rejected is not an error: usable() is false.
Result<ClientBindOutcome> interpret_bind_ack(const Bind& sent, const BindAck& ack);

}  // namespace kmslab::protocol::rpc
