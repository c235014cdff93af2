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

// (none open: rpc-bind-syntax-version was fixed by matching NDR syntaxes by GUID and version)

}  // namespace kmslab::fuzz
