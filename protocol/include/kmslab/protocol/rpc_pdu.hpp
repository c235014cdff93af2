// DCE/RPC connection-oriented PDUs as KMS uses them: bind / alter_context, their acks, bind_nak,
// request, response and fault. Pure codecs: bytes in, value or typed Error out.
//
// Promises:
//   - Decoders take exactly one complete PDU (frag_length bytes; see rpc_header.hpp for framing),
//     validate every count and length against the bytes present before using it, never read out
//     of bounds and never throw. Leftover bytes after a body are Errc::trailing_data.
//   - decode(encode(x)) == x, and encode(decode(bytes)) == bytes for every well-formed PDU kmslab
//     reads (reserved bytes are written as zero; the arbitrary pad after a bind_ack's secondary
//     address is kept in `address_pad` so captured acks re-encode byte for byte).
//   - Encoders compute frag_length and return Errc::too_large when a PDU would not fit its u16,
//     Errc::bad_type when header.type does not match the struct, and Errc::bad_value for counts
//     the wire cannot carry (more than 255 contexts, results or transfer syntaxes).
// Each PDU struct owns its data (stubs are copied out of the input).
#pragma once

#include "kmslab/protocol/rpc_header.hpp"
#include "kmslab/protocol/rpc_syntax.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace kmslab::protocol::rpc {

// One presentation context offered in a bind / alter_context.
struct ContextElement {
  std::uint16_t context_id = 0;
  SyntaxId abstract_syntax;                // the interface and its version
  std::vector<SyntaxId> transfer_syntaxes; // in the client's order of preference
  friend bool operator==(const ContextElement&, const ContextElement&) = default;
};

// bind (11) and alter_context (14) share one layout; header.type says which.
struct Bind {
  Header header{.type = PacketType::bind, .flags = kPfcSingleFragment | kPfcConcMpx};
  std::uint16_t max_xmit_frag = 5840;
  std::uint16_t max_recv_frag = 5840;
  std::uint32_t assoc_group_id = 0;
  std::vector<ContextElement> contexts;
  friend bool operator==(const Bind&, const Bind&) = default;
};

// p_cont_def_result_t values.
inline constexpr std::uint16_t kResultAcceptance = 0;
inline constexpr std::uint16_t kResultUserRejection = 1;
inline constexpr std::uint16_t kResultProviderRejection = 2;
inline constexpr std::uint16_t kResultNegotiateAck = 3;  // BTFN: "reason" carries the feature bitmap
// p_provider_reason_t values.
inline constexpr std::uint16_t kReasonNotSpecified = 0;
inline constexpr std::uint16_t kReasonAbstractSyntaxNotSupported = 1;
inline constexpr std::uint16_t kReasonTransferSyntaxesNotSupported = 2;
inline constexpr std::uint16_t kReasonLocalLimitExceeded = 3;

struct ContextResult {
  std::uint16_t result = kResultAcceptance;
  std::uint16_t reason = kReasonNotSpecified;
  SyntaxId transfer_syntax;  // all-zero unless accepted
  friend bool operator==(const ContextResult&, const ContextResult&) = default;
};

// bind_ack (12) and alter_context_resp (15); header.type says which.
struct BindAck {
  Header header{.type = PacketType::bind_ack, .flags = kPfcSingleFragment};
  std::uint16_t max_xmit_frag = 5840;
  std::uint16_t max_recv_frag = 5840;
  std::uint32_t assoc_group_id = 0;
  // The port string without its NUL ("1688"). nullopt = length 0 (alter_context_resp);
  // "" = a lone NUL (length 1).
  std::optional<std::string> secondary_address;
  // Bytes that pad the address to a 4-byte boundary. Their content is arbitrary on the wire
  // (vlmcsd leaves stale buffer bytes there); only the first (4 - pos % 4) % 4 are written.
  std::array<std::uint8_t, 3> address_pad{};
  std::vector<ContextResult> results;
  friend bool operator==(const BindAck&, const BindAck&) = default;
};

// bind_nak reject reasons (p_reject_reason_t).
inline constexpr std::uint16_t kRejectNotSpecified = 0;
inline constexpr std::uint16_t kRejectTemporaryCongestion = 1;
inline constexpr std::uint16_t kRejectLocalLimitExceeded = 2;
inline constexpr std::uint16_t kRejectProtocolVersionNotSupported = 4;

struct RpcVersion {
  std::uint8_t major = 5;
  std::uint8_t minor = 0;
  friend bool operator==(const RpcVersion&, const RpcVersion&) = default;
};

struct BindNak {
  Header header{.type = PacketType::bind_nak, .flags = kPfcSingleFragment};
  std::uint16_t reject_reason = kRejectNotSpecified;
  std::vector<RpcVersion> versions{RpcVersion{}};
  // MS-RPCE lets a bind_nak carry padding, a signature and extended error data after the
  // versions; kmslab keeps those bytes opaque so a captured nak re-encodes unchanged.
  Bytes extension;
  friend bool operator==(const BindNak&, const BindNak&) = default;
};

struct Request {
  Header header{.type = PacketType::request};
  std::uint32_t alloc_hint = 0;  // stub bytes of the whole call (0 = unknown)
  std::uint16_t context_id = 0;
  std::uint16_t opnum = 0;
  // Present exactly when kPfcObjectUuid is set; the encoder sets or clears that flag from it.
  std::optional<Guid> object;
  Bytes stub;
  friend bool operator==(const Request&, const Request&) = default;
};

struct Response {
  Header header{.type = PacketType::response};
  std::uint32_t alloc_hint = 0;
  std::uint16_t context_id = 0;
  std::uint8_t cancel_count = 0;
  Bytes stub;
  friend bool operator==(const Response&, const Response&) = default;
};

// Fault statuses vlmcsd sends.
inline constexpr std::uint32_t kNcaOpRangeError = 0x1C010002;  // unknown opnum
inline constexpr std::uint32_t kNcaUnknownInterface = 0x1C010003;  // request on an unbound context
inline constexpr std::uint32_t kNcaProtocolError = 0x1C01000B;

struct Fault {
  Header header{.type = PacketType::fault, .flags = kPfcSingleFragment | kPfcDidNotExecute};
  std::uint32_t alloc_hint = 0;
  std::uint16_t context_id = 0;
  std::uint8_t cancel_count = 0;
  std::uint32_t status = 0;
  Bytes stub;  // optional fault stub data after the 8 fixed bytes (vlmcsd sends none)
  friend bool operator==(const Fault&, const Fault&) = default;
};

// auth3, shutdown, co_cancel, orphaned: KMS never needs them; kept whole so a host can log and
// ignore them instead of failing to parse.
struct OtherPdu {
  Header header;
  Bytes body;
  friend bool operator==(const OtherPdu&, const OtherPdu&) = default;
};

using Pdu = std::variant<Request, Response, Fault, Bind, BindAck, BindNak, OtherPdu>;

// Body sizes that follow the header, used by the fragmenter and by tests.
inline constexpr std::size_t kRequestFixedSize = kHeaderSize + 8;  // + 16 with an object UUID
inline constexpr std::size_t kResponseFixedSize = kHeaderSize + 8;
inline constexpr std::size_t kFaultFixedSize = kHeaderSize + 16;

// Decoders: `pdu` is one complete PDU. Each checks the ptype (bad_type if it is another kind).
Result<Bind> decode_bind(ByteSpan pdu);         // bind or alter_context
Result<BindAck> decode_bind_ack(ByteSpan pdu);  // bind_ack or alter_context_resp
Result<BindNak> decode_bind_nak(ByteSpan pdu);
Result<Request> decode_request(ByteSpan pdu);
Result<Response> decode_response(ByteSpan pdu);
Result<Fault> decode_fault(ByteSpan pdu);
Result<Pdu> decode_pdu(ByteSpan pdu);

Result<Bytes> encode(const Bind& pdu);
Result<Bytes> encode(const BindAck& pdu);
Result<Bytes> encode(const BindNak& pdu);
Result<Bytes> encode(const Request& pdu);
Result<Bytes> encode(const Response& pdu);
Result<Bytes> encode(const Fault& pdu);
Result<Bytes> encode(const OtherPdu& pdu);
Result<Bytes> encode(const Pdu& pdu);

const Header& header_of(const Pdu& pdu) noexcept;

}  // namespace kmslab::protocol::rpc
