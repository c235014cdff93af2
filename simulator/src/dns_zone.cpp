// Zone storage and the authoritative lookup rules documented in dns_zone.hpp.
#include "kmslab/simulator/dns_zone.hpp"

#include "kmslab/protocol/dns_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

namespace kmslab::simulator {

using protocol::Errc;
using protocol::make_error;

namespace {

bool same_record(const dns::ResourceRecord& a, const dns::ResourceRecord& b) {
  return a.type == b.type && a.name == b.name &&
         dns::equal_ci(dns::format_rdata(a.data), dns::format_rdata(b.data));
}

dns::ResourceRecord negative_soa(const Zone& zone) {
  dns::ResourceRecord soa = zone.soa();
  soa.ttl = std::min(soa.ttl, std::get<dns::SoaData>(soa.data).minimum);
  return soa;
}

const dns::Name* additional_target(const dns::ResourceRecord& rr) {
  if (const auto* srv = std::get_if<dns::SrvData>(&rr.data)) return &srv->target;
  if (const auto* ns = std::get_if<dns::NsData>(&rr.data)) return &ns->host;
  if (const auto* mx = std::get_if<dns::MxData>(&rr.data)) return &mx->exchange;
  return nullptr;
}

void add_addresses(const ZoneSet& zones, LookupResult& out) {
  std::set<std::string> seen;
  for (const auto& rr : out.answers) seen.insert(rr.name.key() + "/" + std::to_string(static_cast<unsigned>(rr.type)));
  std::vector<dns::ResourceRecord> extra;
  for (const auto& rr : out.answers) {
    const dns::Name* target = additional_target(rr);
    if (!target) continue;
    const Zone* zone = zones.find(*target);
    if (!zone) continue;
    for (const dns::Type t : {dns::Type::a, dns::Type::aaaa}) {
      const std::string key = target->key() + "/" + std::to_string(static_cast<unsigned>(t));
      if (!seen.insert(key).second) continue;
      const auto addresses = zone->rrset(*target, t);
      extra.insert(extra.end(), addresses.begin(), addresses.end());
    }
  }
  out.additional = std::move(extra);
}

}  // namespace

Zone::Zone(dns::Name apex, dns::SoaData soa, std::uint32_t soa_ttl)
    : apex_(std::move(apex)), soa_(dns::ResourceRecord::make(apex_, soa_ttl, std::move(soa))) {
  nodes_[apex_.key()].push_back(RRset{dns::Type::soa, {soa_}});
  count_below(apex_, 1);
  size_ = 1;
}

void Zone::count_below(const dns::Name& owner, std::ptrdiff_t delta) {
  for (dns::Name n = owner;; n = n.parent()) {
    auto it = names_.try_emplace(n.key(), 0).first;
    it->second = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(it->second) + delta);
    if (it->second == 0) names_.erase(it);
    if (n == apex_ || n.is_root()) break;
  }
}

protocol::Result<Zone> Zone::from_config(const DnsZoneConfig& config) { return from_config(DnsZoneConfig(config)); }

protocol::Result<Zone> Zone::from_config(DnsZoneConfig&& config) {
  auto fail = [&](const protocol::Error& e, std::size_t index, std::string_view what) {
    return make_error(e.code, index, fmt::format("zone {}: {}: {}", config.apex, what, e.message()));
  };
  auto apex = dns::Name::parse(config.apex);
  if (!apex) return fail(apex.error(), 0, "apex");
  auto mname = dns::Name::parse(config.soa.mname, *apex);
  if (!mname) return fail(mname.error(), 0, "SOA mname");
  auto rname = dns::Name::parse(config.soa.rname, *apex);
  if (!rname) return fail(rname.error(), 0, "SOA rname");
  const auto& s = config.soa;
  Zone zone(*apex, dns::SoaData{*mname, *rname, s.serial, s.refresh, s.retry, s.expire, s.minimum}, s.ttl);
  for (std::size_t i = 0; i < config.records.size(); ++i) {
    auto& rec = config.records[i];
    const std::string what = fmt::format("record {} ({} {})", i, rec.name.empty() ? "@" : rec.name, rec.type);
    auto owner = dns::Name::parse(rec.name.empty() ? std::string_view("@") : std::string_view(rec.name), *apex);
    if (!owner) return fail(owner.error(), i, what);
    const auto type = dns::parse_type(rec.type);
    if (!type) return make_error(Errc::bad_type, i, fmt::format("zone {}: {}: unknown type '{}'", config.apex, what, rec.type));
    auto data = rec.rdata ? protocol::Result<dns::Rdata>(std::move(*rec.rdata)) : dns::parse_rdata(*type, rec.data, *apex);
    if (!data) return fail(data.error(), i, what);
    auto added = zone.add(dns::ResourceRecord{std::move(*owner), *type, dns::Class::in, rec.ttl, std::move(*data)});
    if (!added) return fail(added.error(), i, what);
  }
  return zone;
}

protocol::Result<void> Zone::add(dns::ResourceRecord record) {
  const std::string owner = record.name.to_string();
  if (!record.name.is_subdomain_of(apex_))
    return make_error(Errc::bad_value, 0, fmt::format("{} is outside the zone {}", owner, apex_.to_string()));
  if (record.type == dns::Type::opt) return make_error(Errc::bad_type, 0, "OPT is not zone data");
  if (record.rclass != dns::Class::in)
    return make_error(Errc::bad_value, 0, fmt::format("{}: only class IN is served", owner));
  if (record.type == dns::Type::soa)
    return make_error(Errc::bad_value, 0, fmt::format("{}: the zone has its SOA already", owner));
  const bool is_cname = record.type == dns::Type::cname;
  auto cname_clash = [&] {
    return make_error(Errc::bad_value, 0, fmt::format("{}: a CNAME cannot share its name with other records", owner));
  };
  const dns::Name name = record.name;
  auto& node = nodes_[name.key()];
  RRset* same_type = nullptr;
  for (auto& set : node) {
    if (is_cname != (set.type == dns::Type::cname)) return cname_clash();
    if (set.type == record.type) same_type = &set;
  }
  if (same_type) {
    for (const auto& existing : same_type->records)
      if (same_record(existing, record)) return {};
    if (is_cname) return cname_clash();
    same_type->records.push_back(std::move(record));
  } else {
    const dns::Type type = record.type;
    node.push_back(RRset{type, {std::move(record)}});
  }
  ++size_;
  count_below(name, 1);
  return {};
}

std::size_t Zone::remove(const dns::Name& owner, std::optional<dns::Type> type) {
  auto it = nodes_.find(owner.key());
  if (it == nodes_.end()) return 0;
  std::size_t removed = 0;
  std::erase_if(it->second, [&](const RRset& set) {
    if (set.type == dns::Type::soa || (type && set.type != *type)) return false;
    removed += set.records.size();
    return true;
  });
  if (it->second.empty()) nodes_.erase(it);
  if (removed > 0) {
    size_ -= removed;
    count_below(owner, -static_cast<std::ptrdiff_t>(removed));
  }
  return removed;
}

std::vector<dns::ResourceRecord> Zone::records_at(const dns::Name& owner) const {
  auto it = nodes_.find(owner.key());
  if (it == nodes_.end()) return {};
  std::vector<dns::ResourceRecord> out;
  for (const auto& set : it->second) out.insert(out.end(), set.records.begin(), set.records.end());
  return out;
}

std::span<const dns::ResourceRecord> Zone::rrset(const dns::Name& owner, dns::Type type) const {
  auto it = nodes_.find(owner.key());
  if (it == nodes_.end()) return {};
  for (const auto& set : it->second)
    if (set.type == type) return set.records;
  return {};
}

bool Zone::has_name(const dns::Name& name) const { return names_.contains(name.key()); }

protocol::Result<ZoneSet> ZoneSet::from_config(std::span<const DnsZoneConfig> configs) {
  ZoneSet set;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    auto zone = Zone::from_config(configs[i]);
    if (!zone) return zone.error();
    for (const auto& existing : set.zones_)
      if (existing.apex() == zone->apex())
        return make_error(Errc::bad_value, i, fmt::format("zone {} is configured twice", configs[i].apex));
    set.zones_.push_back(std::move(*zone));
  }
  return set;
}

void ZoneSet::add(Zone zone) {
  for (auto& z : zones_) {
    if (z.apex() == zone.apex()) {
      z = std::move(zone);
      return;
    }
  }
  zones_.push_back(std::move(zone));
}

bool ZoneSet::remove(const dns::Name& apex) {
  return std::erase_if(zones_, [&](const Zone& z) { return z.apex() == apex; }) > 0;
}

const Zone* ZoneSet::find(const dns::Name& name) const {
  const Zone* best = nullptr;
  for (const auto& z : zones_)
    if (name.is_subdomain_of(z.apex()) &&
        (!best || z.apex().labels().size() > best->apex().labels().size()))
      best = &z;
  return best;
}

Zone* ZoneSet::find(const dns::Name& name) {
  return const_cast<Zone*>(std::as_const(*this).find(name));
}

LookupResult lookup(const ZoneSet& zones, const dns::Name& name, dns::Type type, const LookupOptions& options) {
  LookupResult out;
  const Zone* zone = zones.find(name);
  if (!zone) {
    out.rcode = dns::Rcode::refused;
    return out;
  }
  out.authoritative = true;
  dns::Name current = name;
  for (std::size_t hop = 0;; ++hop) {
    if (type == dns::Type::any) {
      const auto records = zone->records_at(current);
      out.examined += records.size();
      out.answers.insert(out.answers.end(), records.begin(), records.end());
      if (!records.empty()) break;
    } else {
      const auto records = zone->rrset(current, type);
      out.examined += records.size();
      out.answers.insert(out.answers.end(), records.begin(), records.end());
      if (!records.empty()) break;
    }
    const auto cname = zone->rrset(current, dns::Type::cname);
    out.examined += cname.size();
    if (!cname.empty() && options.follow_cname && hop < options.max_cname_chain) {
      out.answers.push_back(cname.front());
      current = std::get<dns::CnameData>(cname.front().data).target;
      zone = zones.find(current);
      if (!zone) break;  // the target is someone else's: the client resolves it
      continue;
    }
    if (zone->has_name(current)) {
      out.authority.push_back(negative_soa(*zone));  // NODATA
    } else {
      out.rcode = dns::Rcode::nxdomain;
      out.authority.push_back(negative_soa(*zone));
    }
    break;
  }
  if (options.additional_addresses) add_addresses(zones, out);
  return out;
}

}  // namespace kmslab::simulator
