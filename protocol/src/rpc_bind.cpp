#include "kmslab/protocol/rpc_bind.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kmslab::protocol::rpc {

namespace {

ContextResult rejection(std::uint16_t reason) {
  return ContextResult{kResultProviderRejection, reason, SyntaxId{}};
}

bool offers_ndr64(const Bind& request) {
  return std::any_of(request.contexts.begin(), request.contexts.end(), [](const ContextElement& c) {
    return std::any_of(c.transfer_syntaxes.begin(), c.transfer_syntaxes.end(), [](const SyntaxId& s) {
      return s == kNdr64Syntax;
    });
  });
}

}  // namespace

BindDecision decide_bind(const Bind& request, const HostRpcPolicy& policy) {
  BindDecision d;
  d.results.reserve(request.contexts.size());
  const bool ndr64_usable = policy.ndr64 && offers_ndr64(request);
  for (const auto& ctx : request.contexts) {
    const bool interface_ok =
        ctx.abstract_syntax.uuid == kKmsInterface.uuid &&
        (!policy.check_interface_version || ctx.abstract_syntax.version == kKmsInterface.version);
    std::optional<ContextResult> result;
    for (const auto& ts : ctx.transfer_syntaxes) {
      const TransferSyntaxKind kind = classify(ts.uuid);
      if (kind == TransferSyntaxKind::btfn && policy.btfn) {
        const auto features = static_cast<std::uint16_t>(btfn_features(ts.uuid) & kBtfnKnownFeatures);
        result = ContextResult{kResultNegotiateAck, features, SyntaxId{}};
        d.btfn_features = features;
        break;
      }
      if (!interface_ok) continue;
      // NDR syntaxes match by GUID and version, as the RPC runtime does (vlmcsd compares the
      // GUID only): the ack then always names exactly what the client offered.
      if (kind == TransferSyntaxKind::ndr64 && ts == kNdr64Syntax && ndr64_usable) {
        result = ContextResult{kResultAcceptance, kReasonNotSpecified, kNdr64Syntax};
        d.accepted.push_back({ctx.context_id, NdrSyntax::ndr64});
        break;
      }
      if (kind == TransferSyntaxKind::ndr32 && ts == kNdr32Syntax && !ndr64_usable) {
        result = ContextResult{kResultAcceptance, kReasonNotSpecified, kNdr32Syntax};
        d.accepted.push_back({ctx.context_id, NdrSyntax::ndr32});
        break;
      }
    }
    if (!result)
      result = rejection(interface_ok ? kReasonTransferSyntaxesNotSupported
                                      : kReasonAbstractSyntaxNotSupported);
    d.results.push_back(*result);
  }
  return d;
}

BindAck make_bind_ack(const Bind& request, const BindDecision& decision,
                      std::uint32_t assoc_group_id, std::optional<std::string> secondary_address) {
  BindAck ack;
  ack.header = request.header;
  ack.header.frag_length = 0;
  if (request.header.type == PacketType::alter_context) {
    ack.header.type = PacketType::alter_context_resp;
    ack.header.flags = kPfcSingleFragment;
  } else {
    ack.header.type = PacketType::bind_ack;
    ack.header.flags = static_cast<std::uint8_t>(kPfcSingleFragment | (request.header.flags & kPfcConcMpx));
  }
  ack.max_xmit_frag = request.max_xmit_frag;
  ack.max_recv_frag = request.max_recv_frag;
  ack.assoc_group_id = assoc_group_id;
  ack.secondary_address = std::move(secondary_address);
  ack.results = decision.results;
  return ack;
}

void ContextTable::apply(const BindDecision& decision) {
  for (const auto& c : decision.accepted) {
    auto it = std::find_if(contexts_.begin(), contexts_.end(),
                           [&](const NegotiatedContext& n) { return n.context_id == c.context_id; });
    if (it != contexts_.end())
      it->syntax = c.syntax;
    else
      contexts_.push_back(c);
  }
}

std::optional<NdrSyntax> ContextTable::find(std::uint16_t context_id) const noexcept {
  for (const auto& c : contexts_)
    if (c.context_id == context_id) return c.syntax;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Client side

namespace {

Bind client_pdu(PacketType type, std::uint32_t call_id, bool multiplexed) {
  Bind b;
  b.header.type = type;
  b.header.call_id = call_id;
  b.header.flags = static_cast<std::uint8_t>(kPfcSingleFragment | (multiplexed ? kPfcConcMpx : 0));
  return b;
}

void add_context(Bind& b, const SyntaxId& transfer_syntax) {
  b.contexts.push_back(ContextElement{static_cast<std::uint16_t>(b.contexts.size()), kKmsInterface,
                                      {transfer_syntax}});
}

}  // namespace

Bind make_client_bind(const ClientBindOptions& options) {
  Bind b = client_pdu(PacketType::bind, options.call_id, options.multiplexed);
  b.max_xmit_frag = options.max_xmit_frag;
  b.max_recv_frag = options.max_recv_frag;
  if (options.ndr32) add_context(b, kNdr32Syntax);
  if (options.ndr64) add_context(b, kNdr64Syntax);
  if (options.btfn) add_context(b, btfn_syntax(options.btfn_features));
  return b;
}

Bind make_client_alter_context(std::uint32_t call_id, bool multiplexed) {
  Bind b = client_pdu(PacketType::alter_context, call_id, multiplexed);
  add_context(b, kNdr32Syntax);
  return b;
}

Result<ClientBindOutcome> interpret_bind_ack(const Bind& sent, const BindAck& ack) {
  const PacketType expected = sent.header.type == PacketType::alter_context
                                  ? PacketType::alter_context_resp
                                  : PacketType::bind_ack;
  if (ack.header.type != expected)
    return make_error(Errc::bad_type, 2,
                      fmt::format("answer to a {} is a {}, expected {}", to_string(sent.header.type),
                                  to_string(ack.header.type), to_string(expected)));
  ClientBindOutcome out;
  if (ack.header.call_id != sent.header.call_id) {
    if (ack.header.call_id != 1)
      return make_error(Errc::bad_value, 12,
                        fmt::format("sent call_id {} but the ack answers call_id {}",
                                    sent.header.call_id, ack.header.call_id));
    out.warnings.emplace_back("ack call_id is 1 (Wine's RPC answers every call with 1)");
  }
  if (ack.results.size() != sent.contexts.size())
    return make_error(Errc::bad_value, 0,
                      fmt::format("offered {} contexts but the ack has {} results",
                                  sent.contexts.size(), ack.results.size()));
  if (expected == PacketType::bind_ack &&
      (ack.header.flags & kPfcConcMpx) != (sent.header.flags & kPfcConcMpx))
    out.warnings.emplace_back("PFC_CONC_MPX of the bind and its ack differ");
  if (expected == PacketType::alter_context_resp && (ack.header.flags & kPfcConcMpx) != 0)
    out.warnings.emplace_back("alter_context_resp should not set PFC_CONC_MPX");

  for (std::size_t i = 0; i < ack.results.size(); ++i) {
    const ContextElement& ctx = sent.contexts[i];
    const ContextResult& res = ack.results[i];
    const auto& offered = ctx.transfer_syntaxes;
    switch (res.result) {
      case kResultUserRejection:
      case kResultProviderRejection:
        out.rejected.emplace_back(ctx.context_id, res.reason);
        if (!res.transfer_syntax.uuid.is_nil() || res.transfer_syntax.version != 0)
          out.warnings.push_back(fmt::format("context {} rejected but the result names a syntax",
                                             ctx.context_id));
        break;
      case kResultNegotiateAck: {
        auto btfn = std::find_if(offered.begin(), offered.end(),
                                 [](const SyntaxId& s) { return is_btfn(s.uuid); });
        if (btfn == offered.end())
          return make_error(Errc::bad_value, 0,
                            fmt::format("negotiate-ack for context {} which offered no BTFN",
                                        ctx.context_id));
        if ((res.reason & ~btfn_features(btfn->uuid)) != 0)
          out.warnings.push_back(fmt::format("BTFN ack 0x{:x} grants features not requested (0x{:x})",
                                             res.reason, btfn_features(btfn->uuid)));
        out.btfn_features = res.reason;
        break;
      }
      case kResultAcceptance: {
        if (std::find(offered.begin(), offered.end(), res.transfer_syntax) == offered.end())
          return make_error(Errc::bad_value, 0,
                            fmt::format("context {} accepted with {}, which was not offered",
                                        ctx.context_id, to_string(res.transfer_syntax)));
        if (res.reason != 0)
          out.warnings.push_back(
              fmt::format("context {} accepted with reason {} (Windows sends 0)", ctx.context_id,
                          res.reason));
        const TransferSyntaxKind kind = classify(res.transfer_syntax.uuid);
        if (kind == TransferSyntaxKind::ndr32 && !out.ndr32_context)
          out.ndr32_context = ctx.context_id;
        else if (kind == TransferSyntaxKind::ndr64 && !out.ndr64_context)
          out.ndr64_context = ctx.context_id;
        else if (kind == TransferSyntaxKind::btfn)
          return make_error(Errc::bad_value, 0,
                            fmt::format("context {} 'accepted' BTFN as a transfer syntax",
                                        ctx.context_id));
        break;
      }
      default:
        return make_error(Errc::bad_value, 0,
                          fmt::format("context {} has unknown result {}", ctx.context_id, res.result));
    }
  }
  out.needs_alter_context = sent.header.type == PacketType::bind && !out.ndr32_context &&
                            out.ndr64_context.has_value();
  return out;
}

}  // namespace kmslab::protocol::rpc
