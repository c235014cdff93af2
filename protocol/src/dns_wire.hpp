// Private to the DNS codec: name reading with pointer checks and name writing with compression.
#pragma once

#include "kmslab/protocol/dns_message.hpp"

#include <map>

namespace kmslab::protocol::dns::detail {

// Reads a possibly compressed name at r's position. `r` must span the whole message, because
// pointers are offsets from its start. On success r is left after the name's in-place octets
// (after the first pointer, if any).
Result<Name> read_name(ByteReader& r, std::string_view field);

// Reads `rdlength` octets of rdata of `type` at r's position into its typed form (RawData for a
// type without one). The caller has checked that rdlength octets are there.
Result<Rdata> read_rdata(ByteReader& r, Type type, std::size_t rdlength);

// Writes names, remembering where each suffix was written so later names can point to it.
// Suffixes are matched case-insensitively, as DNS servers do.
class NameCompressor {
 public:
  void write(ByteWriter& w, const Name& name, bool compress);

 private:
  std::map<std::string, std::uint16_t> offsets_;  // lowercased suffix -> offset in the message
};

}  // namespace kmslab::protocol::dns::detail
