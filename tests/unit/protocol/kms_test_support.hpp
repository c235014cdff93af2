// Test helpers for the KMS codec tests: slice the KMS payload out of a captured RPC PDU and read
// the documented intermediate values. Deliberately tiny and test-only (the RPC codec proper is
// another module's job).
#pragma once

#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/hex.hpp"
#include "vectors.hpp"

#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kmslab::test {

// The KMS bytes inside a request (ptype 0) or response (ptype 2) PDU, NDR32 or NDR64; nullopt
// for a response that carries no array (an in-band HRESULT refusal). Throws on anything else.
inline std::optional<protocol::Bytes> kms_payload_of_pdu(const protocol::Bytes& pdu) {
  using protocol::ByteReader;
  auto check = [](auto r) {
    if (!r) throw std::runtime_error("PDU: " + r.error().message());
    return *r;
  };
  // 24-byte header for both ptypes: 16 common + alloc_hint + (ctx, opnum | ctx, cancel, rsvd).
  ByteReader r(pdu);
  check(r.skip(2, "version"));
  const std::uint8_t ptype = check(r.u8("ptype"));
  check(r.skip(21, "rest of header"));
  const std::uint32_t first = check(r.u32("stub word 0"));
  const std::uint32_t second = check(r.u32("stub word 1"));
  std::uint64_t size = 0;
  if (ptype == 0) {
    if (second == first) {  // NDR32: u32 N, u32 N
      size = first;
    } else {                // NDR64: u64 N, u64 N
      size = first | (std::uint64_t{second} << 32);
      if (check(r.u64("NDR64 max count")) != size) throw std::runtime_error("NDR64 request counts differ");
    }
  } else if (ptype == 2) {
    if (first == 0) return std::nullopt;  // null pointer: HRESULT only
    if (second == 0x20000) {              // NDR32: u32 M, u32 referent, u32 M
      size = first;
      if (check(r.u32("NDR32 count")) != size) throw std::runtime_error("NDR32 response counts differ");
    } else {                              // NDR64: u64 M, u64 referent, u64 M
      size = first | (std::uint64_t{second} << 32);
      if (check(r.u64("NDR64 referent")) != 0x20000) throw std::runtime_error("NDR64 referent");
      if (check(r.u64("NDR64 count")) != size) throw std::runtime_error("NDR64 response counts differ");
    }
  } else {
    throw std::runtime_error("PDU type " + std::to_string(ptype) + " carries no KMS payload");
  }
  const auto bytes = check(r.bytes(static_cast<std::size_t>(size), "KMS payload"));
  return protocol::Bytes(bytes.begin(), bytes.end());
}

inline protocol::Bytes kms_payload(const std::string& vector_name) {
  auto p = kms_payload_of_pdu(load_vector(vector_name));
  if (!p) throw std::runtime_error(vector_name + " holds no KMS payload");
  return *p;
}

// Value after "<key> " on the first line of an intermediates file that starts with the key.
inline std::string intermediate(const std::string& file, const std::string& key) {
  std::istringstream in(read_text_file(vector_path(file)));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
  throw std::runtime_error(file + ": no line starting with " + key);
}

inline protocol::Bytes hex(const std::string& text) {
  auto b = protocol::from_hex(text);
  if (!b) throw std::runtime_error("bad hex in test: " + b.error().message());
  return *b;
}

template <class Container>
std::string hex_of(const Container& c) {
  return protocol::to_hex(protocol::ByteSpan(c.data(), c.size()));
}

}  // namespace kmslab::test
