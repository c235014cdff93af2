// BIND-format zone files (RFC 1035 §5 master files) for `kmslab serve --zone db.corp.example`, so a
// team can rehearse a migration against a copy of its own DNS export.
//
// Understood: $ORIGIN, $TTL (seconds or BIND units: 1h30m, 2d, 1w), "@", names relative to the
// current origin, a blank owner meaning the previous owner, TTL and class (IN only) in either
// order, ';' comments, "quoted strings", and records spread over lines with ( ). Loaded types:
// SOA, NS, A, AAAA, SRV, TXT, CNAME, by name or as RFC 3597 "TYPEnnn", with their usual rdata or
// RFC 3597's generic "\# <length> <hex>" (read as the type's wire rdata). Any other type (MX, PTR,
// CAA ...) is listed in `unsupported` with its line, not fatal: the rehearsal only needs the KMS
// records. $INCLUDE and $GENERATE are refused, since a copy for the lab should be one
// self-contained file.
// The zone's apex is the SOA owner (else the first $ORIGIN, else `origin`); every record must lie
// inside it, and the apex cannot be the root. Each record's rdata is parsed once, here, into its
// typed form (DnsRecordSpec::rdata), which is what the responder serves; the responder's zone
// rules (a CNAME alone at its name) are checked here too. So every problem is reported with
// file:line:column and what was expected, never later when the responder starts or answers.
//
// Pure: text in, ConfigResult out (config::ConfigError carries file, line, column and message);
// never throws on bad input; input size is bounded by the caller (load_zone_file reads at most
// kMaxZoneFileBytes).
#pragma once

#include "kmslab/config/yaml_node.hpp"
#include "kmslab/simulator/sim_config.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::simulator {

inline constexpr std::size_t kMaxZoneFileBytes = 4u << 20;
// The largest rdata one record may have: an answer with it, the longest question and owner names
// and an EDNS0 OPT record still fits one DNS message (65,535 octets over TCP). Larger is a load
// error, not a SERVFAIL at query time.
inline constexpr std::size_t kMaxZoneRdataOctets =
    protocol::dns::kMaxMessageSize - protocol::dns::kHeaderSize - (protocol::dns::kMaxNameLength + 4) -
    (protocol::dns::kMaxNameLength + 10) - 11;
static_assert(kMaxZoneRdataOctets == 64'988);

struct UnsupportedRecord {
  int line = 0;
  std::string owner;
  std::string type;
};

struct ZoneFile {
  ZoneSpec zone;                  // origin without the trailing dot; record names absolute ("x.corp.example.")
  std::vector<int> record_lines;  // line of each zone.records entry
  bool has_soa = false;
  std::vector<UnsupportedRecord> unsupported;
};

// `origin`: the origin before any $ORIGIN (named or not, with or without the trailing dot);
// empty: the file must set one with $ORIGIN or an absolute SOA owner.
config::ConfigResult<ZoneFile> parse_zone_file(std::string_view text, const std::string& file, std::string_view origin = {});
config::ConfigResult<ZoneFile> load_zone_file(const std::string& path, std::string_view origin = {});

// Parses a TTL field: digits, or BIND units (s m h d w, combinable: "1h30m"). nullopt when malformed
// or above 2^31 - 1 (RFC 2181 §8).
std::optional<std::uint32_t> parse_zone_ttl(std::string_view text);

}  // namespace kmslab::simulator
