#include "kmslab/protocol/rpc_header.hpp"

#include <fmt/format.h>

namespace kmslab::protocol::rpc {

std::string_view to_string(PacketType type) noexcept {
  switch (type) {
    case PacketType::request: return "request";
    case PacketType::response: return "response";
    case PacketType::fault: return "fault";
    case PacketType::bind: return "bind";
    case PacketType::bind_ack: return "bind_ack";
    case PacketType::bind_nak: return "bind_nak";
    case PacketType::alter_context: return "alter_context";
    case PacketType::alter_context_resp: return "alter_context_resp";
    case PacketType::auth3: return "auth3";
    case PacketType::shutdown: return "shutdown";
    case PacketType::co_cancel: return "co_cancel";
    case PacketType::orphaned: return "orphaned";
  }
  return "unknown";
}

bool is_connection_oriented(std::uint8_t ptype) noexcept {
  return ptype == 0 || ptype == 2 || ptype == 3 || (ptype >= 11 && ptype <= 19);
}

namespace {

// Checks the fields every PDU prefix of 10 bytes carries and returns frag_length.
Result<std::uint16_t> check_fixed_fields(ByteSpan data, std::size_t max_pdu_size) {
  if (data.size() < kFramingPrefixSize)
    return make_error(Errc::truncated, data.size(),
                      fmt::format("need {} bytes for the RPC header prefix, {} given",
                                  kFramingPrefixSize, data.size()));
  if (data[0] != kRpcVersion)
    return make_error(Errc::bad_version, 0,
                      fmt::format("rpc_vers {} is not DCE/RPC connection-oriented version 5", data[0]));
  if (data[1] > 1)
    return make_error(Errc::bad_version, 1,
                      fmt::format("rpc_vers_minor {} is not 0 or 1", data[1]));
  if (!is_connection_oriented(data[2])) {
    const bool connectionless = data[2] <= 10;
    return make_error(Errc::bad_type, 2,
                      connectionless
                          ? fmt::format("ptype {} belongs to connectionless RPC, not valid on TCP", data[2])
                          : fmt::format("unknown ptype {}", data[2]));
  }
  const std::uint8_t int_rep = static_cast<std::uint8_t>(data[4] >> 4);
  if (int_rep == 0)
    return make_error(Errc::unsupported, 4, "big-endian NDR data representation is not supported");
  if (int_rep != 1)
    return make_error(Errc::unsupported, 4,
                      fmt::format("unknown NDR integer representation {}", int_rep));
  if ((data[4] & 0x0F) != 0)
    return make_error(Errc::unsupported, 4, "EBCDIC NDR character representation is not supported");
  if (data[5] != 0)
    return make_error(Errc::unsupported, 5,
                      fmt::format("NDR floating-point representation {} is not supported (only IEEE)",
                                  data[5]));
  const auto frag_length = static_cast<std::uint16_t>(data[8] | (data[9] << 8));
  if (frag_length < kHeaderSize)
    return make_error(Errc::bad_length, 8,
                      fmt::format("frag_length {} is shorter than the 16-byte header", frag_length));
  if (frag_length > max_pdu_size)
    return make_error(Errc::too_large, 8,
                      fmt::format("frag_length {} exceeds the maximum PDU size {}", frag_length,
                                  max_pdu_size));
  return frag_length;
}

}  // namespace

Result<std::size_t> pdu_length(ByteSpan prefix, std::size_t max_pdu_size) {
  auto len = check_fixed_fields(prefix, max_pdu_size);
  if (!len) return len.error();
  return std::size_t{*len};
}

Result<Header> decode_header(ByteSpan pdu) {
  // frag_length is a u16, so any complete PDU fits under this bound.
  auto frag_length = check_fixed_fields(pdu, 0xFFFF);
  if (!frag_length) return frag_length.error();
  if (pdu.size() < *frag_length)
    return make_error(Errc::truncated, pdu.size(),
                      fmt::format("frag_length {} but only {} bytes given", *frag_length, pdu.size()));
  if (pdu.size() > *frag_length)
    return make_error(Errc::trailing_data, *frag_length,
                      fmt::format("frag_length {} but {} bytes given", *frag_length, pdu.size()));
  ByteReader r(pdu);
  Header h;
  (void)r.skip(1, "rpc_vers");  // sizes checked above: frag_length >= 16 bytes are present
  h.rpc_vers_minor = *r.u8("rpc_vers_minor");
  h.type = static_cast<PacketType>(*r.u8("ptype"));
  h.flags = *r.u8("pfc_flags");
  h.drep = *r.array<4>("drep");
  h.frag_length = *r.u16("frag_length");
  h.auth_length = *r.u16("auth_length");
  h.call_id = *r.u32("call_id");
  if (h.auth_length != 0)
    return make_error(Errc::unsupported, 10,
                      fmt::format("auth_length {}: authenticated RPC is not supported (KMS uses none)",
                                  h.auth_length));
  return h;
}

void encode_header(ByteWriter& w, const Header& header) {
  w.u8(kRpcVersion);
  w.u8(header.rpc_vers_minor);
  w.u8(static_cast<std::uint8_t>(header.type));
  w.u8(header.flags);
  w.bytes(header.drep);
  w.u16(header.frag_length);
  w.u16(header.auth_length);
  w.u32(header.call_id);
}

}  // namespace kmslab::protocol::rpc
