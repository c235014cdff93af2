// Multi-fragment calls: reassembling request or response fragments into one call, and splitting
// a large stub into fragments no larger than the negotiated max_xmit_frag.
//
// KMS clients and vlmcsd always send single-fragment PDUs, but a host or probe that meets a
// fragmented call must neither misparse it nor let a peer grow memory without bound, and the
// fault engine needs real fragments to send. Rules enforced by Reassembler (DCE 1.1 / MS-RPCE):
//   - the first fragment has PFC_FIRST_FRAG, the last PFC_LAST_FRAG, the ones between neither;
//   - every fragment has the call_id (and context id, and for requests opnum) of the first;
//   - total stub bytes <= limits.max_stub_size and fragments <= limits.max_fragments, checked
//     before appending (and the first fragment's alloc_hint is checked as an early warning).
// Violations return typed errors: sequence errors (missing FIRST, a FIRST in the middle, a
// call_id / context change) are Errc::bad_value, limits Errc::too_large. After any error the
// reassembler is reset and expects a new FIRST fragment.
// Not thread-safe; one instance per connection and direction.
#pragma once

#include "kmslab/protocol/rpc_pdu.hpp"

#include <cstddef>
#include <optional>
#include <vector>

namespace kmslab::protocol::rpc {

struct ReassemblyLimits {
  std::size_t max_stub_size = 64 * 1024;  // a KMS stub is ~300 bytes
  std::size_t max_fragments = 64;
};

template <class Call>
class Reassembler {
 public:
  explicit Reassembler(ReassemblyLimits limits = {}) : limits_(limits) {}

  // Feeds the next fragment of the call. Returns the whole call (flags FIRST|LAST, alloc_hint =
  // total stub size, stub = concatenation) when `fragment` is the last one, nullopt while more
  // fragments are needed.
  Result<std::optional<Call>> add(const Call& fragment);

  bool in_progress() const noexcept { return partial_.has_value(); }
  std::size_t fragments() const noexcept { return fragments_; }
  void reset() noexcept;

 private:
  Result<std::optional<Call>> fail(Error error);

  ReassemblyLimits limits_;
  std::optional<Call> partial_;
  std::size_t fragments_ = 0;
};

using RequestReassembler = Reassembler<Request>;
using ResponseReassembler = Reassembler<Response>;

// Splits one call into encoded fragments of at most max_xmit_frag bytes. Every fragment but the
// last carries a multiple of 8 stub bytes (NDR alignment survives reassembly); alloc_hint of each
// is the stub bytes remaining from it on, as Windows writes it. An empty stub gives one fragment.
// Errors: max_xmit_frag too small for the fixed part plus 8 stub bytes, or above 65535 (bad_value).
Result<std::vector<Bytes>> encode_fragments(const Request& call, std::size_t max_xmit_frag);
Result<std::vector<Bytes>> encode_fragments(const Response& call, std::size_t max_xmit_frag);

extern template class Reassembler<Request>;
extern template class Reassembler<Response>;

}  // namespace kmslab::protocol::rpc
