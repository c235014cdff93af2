// DCE/RPC connection-oriented common header (16 bytes), as KMS clients and hosts use it.
//
// Every PDU on a KMS TCP connection starts with this header. kmslab speaks only what Windows and
// vlmcsd speak: RPC version 5.0 (5.1 is read too), little-endian integers with ASCII characters
// and IEEE floats in the data representation, no authentication (auth_length 0). Anything else
// is reported as a typed error, never guessed at:
//   - rpc_vers not 5 or minor not 0/1          -> Errc::bad_version
//   - big-endian / EBCDIC / non-IEEE drep      -> Errc::unsupported
//   - connectionless or unknown ptype          -> Errc::bad_type
//   - auth_length != 0                         -> Errc::unsupported
//   - frag_length < 16                         -> Errc::bad_length
//   - frag_length above the caller's maximum   -> Errc::too_large
//   - complete-PDU decoders given fewer bytes than frag_length -> Errc::truncated, more -> trailing_data
// pdu_length() is the stream-framing entry point: a TCP reader reads 10 bytes, asks how long the
// PDU is (which also rejects garbage before reading more), then reads the rest.
// All functions are pure and thread-compatible.
#pragma once

#include "kmslab/protocol/bytes.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kmslab::protocol::rpc {

enum class PacketType : std::uint8_t {
  request = 0,
  response = 2,
  fault = 3,
  bind = 11,
  bind_ack = 12,
  bind_nak = 13,
  alter_context = 14,
  alter_context_resp = 15,
  auth3 = 16,
  shutdown = 17,
  co_cancel = 18,
  orphaned = 19,
};

std::string_view to_string(PacketType type) noexcept;
// True for the ptypes of the connection-oriented protocol (the enumerators above).
bool is_connection_oriented(std::uint8_t ptype) noexcept;

// pfc_flags bits.
inline constexpr std::uint8_t kPfcFirstFrag = 0x01;
inline constexpr std::uint8_t kPfcLastFrag = 0x02;
inline constexpr std::uint8_t kPfcPendingCancel = 0x04;
inline constexpr std::uint8_t kPfcConcMpx = 0x10;         // "multiplexed" bind (vlmcs default)
inline constexpr std::uint8_t kPfcDidNotExecute = 0x20;   // fault: the call never ran
inline constexpr std::uint8_t kPfcMaybe = 0x40;
inline constexpr std::uint8_t kPfcObjectUuid = 0x80;      // request carries an object UUID
inline constexpr std::uint8_t kPfcSingleFragment = kPfcFirstFrag | kPfcLastFrag;

inline constexpr std::uint8_t kRpcVersion = 5;
inline constexpr std::size_t kHeaderSize = 16;
// Bytes a stream reader needs before pdu_length() can answer (through frag_length).
inline constexpr std::size_t kFramingPrefixSize = 10;
// KMS PDUs are at most ~320 bytes and Windows / vlmcs negotiate 5840-byte fragments; 16 KiB
// leaves room for any sane peer while refusing a 64 KiB allocation per connection on a whim.
inline constexpr std::size_t kDefaultMaxPduSize = 16 * 1024;

using DataRepresentation = std::array<std::uint8_t, 4>;
// Little-endian integers, ASCII characters, IEEE floats: the only representation supported.
inline constexpr DataRepresentation kLittleEndianDrep{0x10, 0x00, 0x00, 0x00};

struct Header {
  std::uint8_t rpc_vers_minor = 0;
  PacketType type = PacketType::request;
  std::uint8_t flags = kPfcSingleFragment;
  DataRepresentation drep = kLittleEndianDrep;
  std::uint16_t frag_length = 0;  // set by encoders from the PDU they produce
  std::uint16_t auth_length = 0;
  std::uint32_t call_id = 0;

  bool first_fragment() const noexcept { return (flags & kPfcFirstFrag) != 0; }
  bool last_fragment() const noexcept { return (flags & kPfcLastFrag) != 0; }

  friend bool operator==(const Header&, const Header&) = default;
};

// Stream framing. REQUIRES nothing; given at least kFramingPrefixSize bytes of a PDU, validates
// version, ptype and data representation and returns frag_length (the whole PDU's size).
// Fewer than 10 bytes -> truncated; frag_length < 16 -> bad_length; > max_pdu_size -> too_large.
Result<std::size_t> pdu_length(ByteSpan prefix, std::size_t max_pdu_size = kDefaultMaxPduSize);

// Decodes the header of one complete PDU: `pdu` must hold exactly frag_length bytes.
Result<Header> decode_header(ByteSpan pdu);

// Writes the 16 header bytes as given (frag_length included); PDU encoders patch frag_length.
void encode_header(ByteWriter& w, const Header& header);

}  // namespace kmslab::protocol::rpc
