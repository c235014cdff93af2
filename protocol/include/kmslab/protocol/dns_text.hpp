// DNS presentation format (RFC 1035 §5 zone-file style) for types, classes, rcodes and rdata.
//
// Used by the simulator's zone configuration (records written as "0 100 1688 kms1" under an
// apex), by reports that show the records a probe saw, and by test failure messages. Parsing is
// pure and total: bad text gives an Error whose offset indexes into the text.
#pragma once

#include "kmslab/protocol/dns_message.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kmslab::protocol::dns {

// "SRV", "A", ... ; unnamed types as "TYPE65280" (RFC 3597).
std::string type_name(Type type);
// Case-insensitive; accepts the names type_name() prints, "TYPEnnn" included.
std::optional<Type> parse_type(std::string_view text);
std::string class_name(Class c);
// "NOERROR", "NXDOMAIN", ... ; unnamed codes as "RCODE23".
std::string rcode_name(Rcode code);

// Rdata of `type` from its presentation form; relative names are completed with `origin`.
//   A "192.0.2.1"  AAAA "2001:db8::1"  NS/CNAME/PTR "host"  MX "10 mail"
//   SOA "mname rname serial refresh retry expire minimum"  TXT "\"a b\" c" (quoted or bare words)
//   SRV "priority weight port target"   any type: "\# <length> <hex>" (RFC 3597)
// Errors: bad_value (malformed field, with its offset), too_large (a number out of range, a TXT
// string over 255 octets), bad_type (a structured form for a type without one).
Result<Rdata> parse_rdata(Type type, std::string_view text, const Name& origin = Name{});
std::string format_rdata(const Rdata& data);
// "_vlmcs._tcp.corp.example. 300 IN SRV 0 100 1688 kms1.corp.example."
std::string to_string(const ResourceRecord& rr);

}  // namespace kmslab::protocol::dns
