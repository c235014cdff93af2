// Recognisers for the known, reported and not yet fixed bugs the fuzz targets step around.
//
// Each predicate says whether an input is one that a known issue affects; targets skip only the
// property that issue breaks, and only outside KMSLAB_FUZZ_STRICT (see skip_known_issue). The ids
// and reproducers are listed in docs/fuzzing.md ("Known issues") and
// tests/fuzz/regressions/README.md. Delete a predicate and its uses when its bug is fixed.
#pragma once

#include "fuzz_target.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "kmslab/protocol/rpc_syntax.hpp"

namespace kmslab::fuzz {

// rpc-bind-syntax-version: decide_bind matches transfer syntaxes by GUID (as vlmcsd) and answers
// with the canonical SyntaxId, but interpret_bind_ack requires the exact SyntaxId offered, so it
// rejects the host's ack to a bind that offers NDR32 / NDR64 with a non-canonical version.
inline bool affected_by_bind_syntax_version(const protocol::rpc::Bind& bind) {
  using namespace protocol::rpc;
  for (const auto& ctx : bind.contexts)
    for (const auto& ts : ctx.transfer_syntaxes) {
      const auto kind = classify(ts.uuid);
      if ((kind == TransferSyntaxKind::ndr32 && ts != kNdr32Syntax) ||
          (kind == TransferSyntaxKind::ndr64 && ts != kNdr64Syntax))
        return skip_known_issue("rpc-bind-syntax-version");
    }
  return false;
}

}  // namespace kmslab::fuzz
