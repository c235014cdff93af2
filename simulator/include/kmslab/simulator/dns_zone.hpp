// Authoritative zone data for the simulator's DNS responder, and the lookup rules it answers by.
//
// A Zone holds the records under one apex (its SOA is created with it); a ZoneSet holds the
// zones the responder is authoritative for. lookup() is pure and follows RFC 1034 §4.3.2 for an
// authoritative server, without wildcards or delegations:
//   - a name under no zone                  -> REFUSED, not authoritative
//   - records of the asked type (or ANY)    -> NOERROR, AA, the records
//   - a CNAME at the name (asked type other than CNAME, follow_cname set) -> the CNAME, then the
//     lookup continues at its target while that target is in one of the zones (bounded chain);
//     the final rcode is the target's (RFC 6604)
//   - the name exists (or is an empty non-terminal, RFC 8020) but not that type -> NODATA: NOERROR,
//     AA, no answer, the zone's SOA in the authority section
//   - the name does not exist              -> NXDOMAIN, AA, the SOA in the authority section
// Negative answers carry the SOA with TTL min(SOA TTL, SOA minimum) (RFC 2308 §3). For SRV, NS and
// MX answers, A and AAAA records of their targets that lie in any of the zones are added to the
// additional section. Names compare case-insensitively.
//
// Storage is indexed by owner name and type, so a query looks only at the records it answers with,
// and whether a name exists (or is an empty non-terminal) is one hash look-up: a query's cost does
// not grow with the zone, and memory is proportional to the records held.
//
// Zones are plain values, not thread-safe: the responder owns its ZoneSet and changes it on its
// own executor (see DnsResponder::update).
#pragma once

#include "kmslab/protocol/dns_message.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kmslab::simulator {

namespace dns = protocol::dns;

// Configuration, as the scenario/YAML loader fills it. Names without a trailing dot are relative
// to the apex, "@" is the apex; data is the record's presentation form (see dns_text.hpp):
//   {"_vlmcs._tcp", "SRV", 300, "0 100 1688 kms1"}   {"kms1", "A", 300, "127.0.0.1"}
struct DnsRecordConfig {
  std::string name;
  std::string type;
  std::uint32_t ttl = 300;
  std::string data;
  // Set: the rdata itself (a zone file's record, parsed once), served as is; `data` is unused.
  std::optional<dns::Rdata> rdata{};
};

struct DnsSoaConfig {
  std::string mname = "ns1";
  std::string rname = "hostmaster";
  std::uint32_t serial = 1;
  std::uint32_t refresh = 3600;
  std::uint32_t retry = 600;
  std::uint32_t expire = 86400;
  std::uint32_t minimum = 60;  // negative-caching TTL
  std::uint32_t ttl = 3600;
};

struct DnsZoneConfig {
  std::string apex;  // "corp.example"
  DnsSoaConfig soa;
  std::vector<DnsRecordConfig> records;
};

class Zone {
 public:
  Zone(dns::Name apex, dns::SoaData soa, std::uint32_t soa_ttl);

  // Errors (protocol::Error, detail naming the record by index, name and type): a bad apex, an
  // unknown type, bad rdata text, or anything add() refuses.
  static protocol::Result<Zone> from_config(const DnsZoneConfig& config);
  // As above, taking the records' data instead of copying it (a large zone file is held once).
  static protocol::Result<Zone> from_config(DnsZoneConfig&& config);

  const dns::Name& apex() const noexcept { return apex_; }
  const dns::ResourceRecord& soa() const noexcept { return soa_; }

  // Adds one record; an identical record (same owner, type and rdata) is not added twice.
  // Errors: bad_value for an owner outside the apex, a class other than IN, a second SOA, or a
  // CNAME beside other data at the same owner (RFC 2181 §10.1); bad_type for OPT.
  protocol::Result<void> add(dns::ResourceRecord record);
  // Removes the records at `owner` (of `type` only, if given); returns how many went. The SOA
  // stays. Records removed this way may leave an empty non-terminal behind, as in any zone.
  std::size_t remove(const dns::Name& owner, std::optional<dns::Type> type = std::nullopt);

  // Records at exactly `owner`, the SOA included at the apex; empty when there are none.
  std::vector<dns::ResourceRecord> records_at(const dns::Name& owner) const;
  // The records of `type` at exactly `owner`, without a copy; empty when there are none. Valid
  // until the zone changes.
  std::span<const dns::ResourceRecord> rrset(const dns::Name& owner, dns::Type type) const;
  // True when `name` owns records or is an empty non-terminal (a name below it owns records).
  bool has_name(const dns::Name& name) const;
  std::size_t size() const noexcept { return size_; }  // records, the SOA included

 private:
  struct RRset {
    dns::Type type;
    std::vector<dns::ResourceRecord> records;
  };
  // Adds `delta` to the count of records at or below each name from `owner` up to the apex.
  void count_below(const dns::Name& owner, std::ptrdiff_t delta);

  dns::Name apex_;
  dns::ResourceRecord soa_;
  std::unordered_map<std::string, std::vector<RRset>> nodes_;  // Name::key() -> its RRsets, one per type
  // Name::key() of every owner and of every name between an owner and the apex -> how many records
  // lie at or below it; a name is present exactly when has_name() is true.
  std::unordered_map<std::string, std::size_t> names_;
  std::size_t size_ = 0;
};

class ZoneSet {
 public:
  // All of `configs` as zones; the first bad zone's error (see Zone::from_config). Two configs
  // with the same apex are an error too (bad_value), since the second would silently win.
  static protocol::Result<ZoneSet> from_config(std::span<const DnsZoneConfig> configs);

  // Adds `zone`, replacing a zone with the same apex.
  void add(Zone zone);
  bool remove(const dns::Name& apex);
  // The zone with the longest apex that `name` lies in; nullptr when none.
  const Zone* find(const dns::Name& name) const;
  Zone* find(const dns::Name& name);
  const std::vector<Zone>& zones() const noexcept { return zones_; }

 private:
  std::vector<Zone> zones_;
};

struct LookupOptions {
  bool follow_cname = true;
  std::size_t max_cname_chain = 8;
  bool additional_addresses = true;  // A/AAAA of SRV, NS and MX targets
};

struct LookupResult {
  dns::Rcode rcode = dns::Rcode::noerror;
  bool authoritative = false;
  std::vector<dns::ResourceRecord> answers;
  std::vector<dns::ResourceRecord> authority;
  std::vector<dns::ResourceRecord> additional;
  // Work done: stored records the lookup looked at (for tests that pin the cost of a query in a
  // large zone, without timing it).
  std::size_t examined = 0;
};

LookupResult lookup(const ZoneSet& zones, const dns::Name& name, dns::Type type,
                    const LookupOptions& options = {});

}  // namespace kmslab::simulator
