// Fuzz target: BIND zone files as `kmslab serve --zone` reads them (simulator/zone_file.hpp), then
// the zone the responder would build from the result (simulator/dns_zone.hpp).
//
// Input: the zone file's text (at most 64 KiB), parsed with no origin given.
// Properties:
//   - nothing escapes as an exception and nothing crashes;
//   - an error names the file and a line and column inside the text (1-based);
//   - a loaded zone: every record carries typed rdata of its own type, owned by a name inside the
//     zone, with rdata no larger than kMaxZoneRdataOctets; Zone::from_config accepts the records
//     as the responder is handed them; and every record is found again by a lookup of its name
//     and type.
#include "fuzz_target.hpp"

#include "kmslab/protocol/dns_text.hpp"
#include "kmslab/simulator/dns_zone.hpp"
#include "kmslab/simulator/zone_file.hpp"

#include <algorithm>
#include <exception>

namespace {

namespace dns = kmslab::protocol::dns;
using kmslab::fuzz::fuzz_check;

constexpr const char* kFile = "fuzz.zone";
constexpr std::size_t kMaxInput = 64 * 1024;

std::size_t zone_line_count(std::string_view text) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

void check_zone(const kmslab::simulator::ZoneFile& z) {
  auto apex = dns::Name::parse(z.zone.origin);
  fuzz_check(apex.has_value() && !apex->is_root(), "a loaded zone without a proper apex");
  fuzz_check(z.record_lines.size() == z.zone.records.size(), "record_lines out of step with the records");
  kmslab::simulator::DnsZoneConfig config;
  config.apex = z.zone.origin;
  // As Site::build_zones hands them over: the SOA names made absolute.
  auto absolute = [](const std::string& name) { return name.ends_with('.') ? name : name + "."; };
  config.soa.mname = absolute(z.zone.soa_mname);
  config.soa.rname = absolute(z.zone.soa_rname);
  for (const auto& r : z.zone.records) {
    fuzz_check(r.rdata.has_value(), "a loaded record without typed rdata");
    fuzz_check(dns::type_of(*r.rdata) == dns::parse_type(r.type), "a record's rdata is of another type");
    auto owner = dns::Name::parse(r.name);
    fuzz_check(owner.has_value() && owner->is_subdomain_of(*apex), "a record outside its zone");
    config.records.push_back({r.name, r.type, r.ttl, "", r.rdata});
  }
  auto zone = kmslab::simulator::Zone::from_config(config);
  fuzz_check(zone.has_value(), "the responder refuses a zone the loader accepted");
  kmslab::simulator::ZoneSet zones;
  zones.add(std::move(*zone));
  for (const auto& r : z.zone.records) {
    const auto found = kmslab::simulator::lookup(zones, *dns::Name::parse(r.name), *dns::parse_type(r.type),
                                                 {.follow_cname = false});
    const bool present = std::any_of(found.answers.begin(), found.answers.end(), [&](const auto& rr) {
      // The zone drops a record equal to one it holds, names compared without case (RFC 4343):
      // "NS nS2.corp.example." and "NS ns2.corp.example." at one owner are one record.
      return dns::equal_ci(dns::format_rdata(rr.data), dns::format_rdata(*r.rdata));
    });
    fuzz_check(present, "a loaded record is not found by its name and type");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  const std::string_view text = kmslab::fuzz::as_text({data, size});
  try {
    auto z = kmslab::simulator::parse_zone_file(text, kFile);
    if (z) {
      check_zone(*z);
    } else {
      const auto& e = z.error();
      fuzz_check(e.file == kFile, "a zone error does not name the file");
      fuzz_check(e.line >= 1 && e.column >= 1, "a zone error without a line and column");
      fuzz_check(static_cast<std::size_t>(e.line) <= zone_line_count(text), "a zone error points past the last line");
      fuzz_check(!e.message.empty(), "an empty zone error message");
    }
  } catch (const std::exception& e) {
    kmslab::fuzz::fuzz_fail(std::string("exception escaped the zone-file loader: ") + e.what());
  }
  return 0;
}
