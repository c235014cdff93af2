#include "kmslab/protocol/rpc_fragment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>

namespace kmslab::protocol::rpc {

namespace {

// What must stay equal across the fragments of one call besides call_id.
bool same_call(const Request& a, const Request& b) {
  return a.context_id == b.context_id && a.opnum == b.opnum;
}
bool same_call(const Response& a, const Response& b) { return a.context_id == b.context_id; }

}  // namespace

template <class Call>
void Reassembler<Call>::reset() noexcept {
  partial_.reset();
  fragments_ = 0;
}

template <class Call>
Result<std::optional<Call>> Reassembler<Call>::fail(Error error) {
  reset();
  return error;
}

template <class Call>
Result<std::optional<Call>> Reassembler<Call>::add(const Call& fragment) {
  const Header& h = fragment.header;
  if (!partial_) {
    if (!h.first_fragment())
      return fail(make_error(Errc::bad_value, 3,
                             fmt::format("call {}: fragment without PFC_FIRST_FRAG while no call is "
                                         "in progress",
                                         h.call_id)));
    if (fragment.alloc_hint > limits_.max_stub_size)
      return fail(make_error(Errc::too_large, 16,
                             fmt::format("call {}: alloc_hint announces {} stub bytes, limit {}",
                                         h.call_id, fragment.alloc_hint, limits_.max_stub_size)));
  } else {
    const Header& first = partial_->header;
    if (h.first_fragment())
      return fail(make_error(Errc::bad_value, 3,
                             fmt::format("call {}: PFC_FIRST_FRAG again after {} fragment{}",
                                         first.call_id, fragments_, fragments_ == 1 ? "" : "s")));
    if (h.call_id != first.call_id)
      return fail(make_error(Errc::bad_value, 12,
                             fmt::format("fragment of call {} arrived while call {} is incomplete",
                                         h.call_id, first.call_id)));
    if (!same_call(*partial_, fragment))
      return fail(make_error(Errc::bad_value, 20,
                             fmt::format("call {}: context id or opnum changed between fragments",
                                         first.call_id)));
  }
  if (fragments_ + 1 > limits_.max_fragments)
    return fail(make_error(Errc::too_large, 0,
                           fmt::format("call {}: more than {} fragments", h.call_id,
                                       limits_.max_fragments)));
  const std::size_t have = partial_ ? partial_->stub.size() : 0;
  if (fragment.stub.size() > limits_.max_stub_size - have)
    return fail(make_error(Errc::too_large, 0,
                           fmt::format("call {}: stub grows past the limit of {} bytes", h.call_id,
                                       limits_.max_stub_size)));
  if (!partial_) {
    partial_ = fragment;
  } else {
    partial_->stub.insert(partial_->stub.end(), fragment.stub.begin(), fragment.stub.end());
  }
  ++fragments_;
  if (!h.last_fragment()) return std::optional<Call>{};

  Call whole = std::move(*partial_);
  reset();
  whole.header.flags = static_cast<std::uint8_t>(whole.header.flags | kPfcLastFrag);
  whole.header.frag_length = 0;
  whole.alloc_hint = static_cast<std::uint32_t>(whole.stub.size());
  return std::optional<Call>{std::move(whole)};
}

template class Reassembler<Request>;
template class Reassembler<Response>;

namespace {

template <class Call>
Result<std::vector<Bytes>> split(const Call& call, std::size_t fixed, std::size_t max_xmit_frag) {
  if (max_xmit_frag > 0xFFFF)
    return make_error(Errc::bad_value, 0,
                      fmt::format("max_xmit_frag {} exceeds the u16 frag_length", max_xmit_frag));
  if (max_xmit_frag < fixed + 8)
    return make_error(Errc::bad_value, 0,
                      fmt::format("max_xmit_frag {} leaves no room for stub data after {} fixed bytes",
                                  max_xmit_frag, fixed));
  const std::size_t chunk = (max_xmit_frag - fixed) / 8 * 8;
  const std::size_t total = call.stub.size();
  if (total > 0xFFFFFFFFu)
    return make_error(Errc::too_large, 0, "stub larger than alloc_hint can describe");
  std::vector<Bytes> out;
  out.reserve(total / chunk + 1);
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(chunk, total - at);
    Call frag;
    frag.header = call.header;
    std::uint8_t flags = static_cast<std::uint8_t>(call.header.flags & ~kPfcSingleFragment);
    if (at == 0) flags |= kPfcFirstFrag;
    if (at + n == total) flags |= kPfcLastFrag;
    frag.header.flags = flags;
    frag.alloc_hint = static_cast<std::uint32_t>(total - at);
    frag.context_id = call.context_id;
    if constexpr (std::is_same_v<Call, Request>) {
      frag.opnum = call.opnum;
      frag.object = call.object;
    } else {
      frag.cancel_count = call.cancel_count;
    }
    const auto first = call.stub.begin() + static_cast<std::ptrdiff_t>(at);
    frag.stub.assign(first, first + static_cast<std::ptrdiff_t>(n));
    auto bytes = encode(frag);
    if (!bytes) return bytes.error();
    out.push_back(std::move(*bytes));
    at += n;
  } while (at < total);
  return out;
}

}  // namespace

Result<std::vector<Bytes>> encode_fragments(const Request& call, std::size_t max_xmit_frag) {
  return split(call, kRequestFixedSize + (call.object ? 16 : 0), max_xmit_frag);
}

Result<std::vector<Bytes>> encode_fragments(const Response& call, std::size_t max_xmit_frag) {
  return split(call, kResponseFixedSize, max_xmit_frag);
}

}  // namespace kmslab::protocol::rpc
