// Test helper: the zone the DNS tests share, built through DnsZoneConfig as a scenario would.
#pragma once

#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/simulator/dns_zone.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace kmslab::test {

// A name the test spells correctly (parse failures are test bugs).
inline protocol::dns::Name N(std::string_view text) { return protocol::dns::Name::parse(text).value(); }

// The wire form of a one-question query, optionally with an EDNS OPT advertising `edns` bytes.
inline protocol::Bytes query_bytes(std::string_view name, protocol::dns::Type type,
                                   std::optional<std::uint16_t> edns = std::nullopt,
                                   std::uint16_t id = 0x4242) {
  return protocol::dns::encode(protocol::dns::make_query(id, N(name), type, edns)).value();
}

// corp.example: SRV _vlmcs._tcp -> kms1 (A + AAAA), kms2 (A), kms3.elsewhere.example. (outside);
// www CNAME kms1; alias CNAME to a missing name; _big._tcp with 40 SRV records (~1.7 KB answer).
inline simulator::DnsZoneConfig corp_zone_config() {
  simulator::DnsZoneConfig z;
  z.apex = "corp.example";
  z.records = {
      {"@", "NS", 3600, "ns1"},
      {"ns1", "A", 3600, "127.0.0.53"},
      {"_vlmcs._tcp", "SRV", 300, "0 100 1688 kms1"},
      {"_vlmcs._tcp", "SRV", 300, "10 50 1689 kms2"},
      {"_vlmcs._tcp", "SRV", 300, "20 0 1688 kms3.elsewhere.example."},
      {"kms1", "A", 300, "127.0.0.1"},
      {"kms1", "AAAA", 300, "::1"},
      {"kms2", "A", 300, "127.0.0.2"},
      {"www", "CNAME", 300, "kms1"},
      {"alias", "CNAME", 300, "missing"},
      {"txt", "TXT", 300, "\"v=kms lab\""},
  };
  for (int i = 0; i < 40; ++i)
    z.records.push_back({"_big._tcp", "SRV", 300, fmt::format("0 10 1688 kms{:02d}.big", i)});
  return z;
}

inline simulator::ZoneSet corp_zones() {
  auto zone = simulator::Zone::from_config(corp_zone_config());
  if (!zone) throw std::runtime_error(zone.error().message());
  simulator::ZoneSet zones;
  zones.add(std::move(*zone));
  return zones;
}

}  // namespace kmslab::test
