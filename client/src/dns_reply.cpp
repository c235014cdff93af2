#include "kmslab/client/dns_reply.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kmslab::client {

using protocol::ByteReader;
using protocol::ByteSpan;
using protocol::Errc;
using protocol::make_error;
using protocol::Result;

std::string rcode_name(std::uint8_t rcode) {
  switch (rcode) {
    case kRcodeNoError: return "NOERROR";
    case kRcodeFormErr: return "FORMERR";
    case kRcodeServFail: return "SERVFAIL";
    case kRcodeNxDomain: return "NXDOMAIN";
    case kRcodeNotImp: return "NOTIMP";
    case kRcodeRefused: return "REFUSED";
    case 6: return "YXDOMAIN";
    case 7: return "YXRRSET";
    case 8: return "NXRRSET";
    case 9: return "NOTAUTH";
    case 10: return "NOTZONE";
    default: return fmt::format("RCODE{}", rcode);
  }
}

std::string type_name(std::uint16_t type) {
  switch (type) {
    case kDnsTypeA: return "A";
    case kDnsTypeNs: return "NS";
    case kDnsTypeCname: return "CNAME";
    case kDnsTypeSoa: return "SOA";
    case kDnsTypePtr: return "PTR";
    case kDnsTypeAaaa: return "AAAA";
    case kDnsTypeSrv: return "SRV";
    case kDnsTypeOpt: return "OPT";
    default: return fmt::format("TYPE{}", type);
  }
}

std::vector<const DnsReplyRecord*> DnsReply::section(DnsSection which) const {
  std::vector<const DnsReplyRecord*> out;
  for (const auto& r : records) {
    if (r.section == which) out.push_back(&r);
  }
  return out;
}

std::vector<const DnsReplyRecord*> DnsReply::answers_of_type(std::uint16_t type) const {
  std::vector<const DnsReplyRecord*> out;
  for (const auto& r : records) {
    if (r.section == DnsSection::answer && r.type == type) out.push_back(&r);
  }
  return out;
}

namespace {

struct NameRead {
  std::string text;
  std::size_t end = 0;  // offset just past the name's encoding where it started
};

void append_label(std::string& out, ByteSpan label) {
  if (!out.empty()) out.push_back('.');
  for (std::uint8_t c : label) {
    if (c == '.' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x21 || c > 0x7e) {
      out += fmt::format("\\{:03d}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

// Reads a possibly compressed name at `start`. Every pointer must go strictly below the lowest
// offset visited so far for this name, so the walk always terminates.
Result<NameRead> read_name(ByteSpan msg, std::size_t start, std::string_view field) {
  NameRead out;
  std::size_t pos = start;
  std::size_t lowest = start;
  std::size_t octets = 0;
  bool jumped = false;
  for (;;) {
    if (pos >= msg.size()) {
      return make_error(Errc::truncated, pos, fmt::format("{}: name runs past the end of the message", field));
    }
    const std::uint8_t len = msg[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= msg.size()) {
        return make_error(Errc::truncated, pos, fmt::format("{}: compression pointer cut off", field));
      }
      const std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | msg[pos + 1];
      if (target >= lowest) {
        return make_error(Errc::bad_value, pos,
                          fmt::format("{}: compression pointer to offset {} does not point backwards", field, target));
      }
      if (!jumped) out.end = pos + 2;
      jumped = true;
      lowest = target;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) {
      return make_error(Errc::bad_value, pos, fmt::format("{}: unsupported label type 0x{:02x}", field, len & 0xc0));
    }
    octets += 1u + len;
    if (octets > kDnsMaxNameOctets) {
      return make_error(Errc::bad_value, pos, fmt::format("{}: name longer than {} octets", field, kDnsMaxNameOctets));
    }
    if (len == 0) {
      if (!jumped) out.end = pos + 1;
      break;
    }
    if (pos + 1 + len > msg.size()) {
      return make_error(Errc::truncated, pos, fmt::format("{}: label of {} bytes runs past the end", field, len));
    }
    append_label(out.text, msg.subspan(pos + 1, len));
    pos += 1u + len;
  }
  if (out.text.empty()) out.text = ".";
  return out;
}

// Names inside rdata may point back anywhere into the message, but their own bytes must stay
// inside the rdata: they are read from a view of the message that ends where the rdata ends.
Result<DnsRdata> decode_rdata(ByteSpan msg, std::uint16_t type, std::uint16_t rclass, std::size_t start,
                              std::size_t length) {
  const std::size_t end = start + length;
  const ByteSpan rdata = msg.subspan(start, length);
  auto wrong_length = [&](std::string_view what) {
    return make_error(Errc::bad_length, start,
                      fmt::format("{} rdata of {} bytes: {}", type_name(type), length, what));
  };
  switch (type) {
    case kDnsTypeA:
      if (rclass != kDnsClassIn) break;
      if (length != 4) return wrong_length("must be 4");
      {
        DnsIpv4Data a;
        std::copy(rdata.begin(), rdata.end(), a.octets.begin());
        return DnsRdata{a};
      }
    case kDnsTypeAaaa:
      if (rclass != kDnsClassIn) break;
      if (length != 16) return wrong_length("must be 16");
      {
        DnsIpv6Data a;
        std::copy(rdata.begin(), rdata.end(), a.octets.begin());
        return DnsRdata{a};
      }
    case kDnsTypeCname:
    case kDnsTypeNs:
    case kDnsTypePtr: {
      auto name = read_name(msg.first(end), start, "rdata name");
      if (!name) return name.error();
      if (name->end != end) return wrong_length("name does not end where the rdata ends");
      return DnsRdata{DnsNameData{std::move(name->text)}};
    }
    case kDnsTypeSrv: {
      if (length < 7) return wrong_length("needs priority, weight, port and a target");
      ByteReader r(rdata, start);
      DnsSrvData srv;
      srv.priority = r.u16_be("srv priority").value();
      srv.weight = r.u16_be("srv weight").value();
      srv.port = r.u16_be("srv port").value();
      auto name = read_name(msg.first(end), start + 6, "srv target");
      if (!name) return name.error();
      if (name->end != end) return wrong_length("target does not end where the rdata ends");
      srv.target = std::move(name->text);
      return DnsRdata{std::move(srv)};
    }
    case kDnsTypeSoa: {
      auto mname = read_name(msg.first(end), start, "soa mname");
      if (!mname) return mname.error();
      auto rname = read_name(msg.first(end), mname->end, "soa rname");
      if (!rname) return rname.error();
      if (end - rname->end != 20) return wrong_length("needs 20 bytes of counters after the names");
      ByteReader r(msg.subspan(rname->end, 20), rname->end);
      DnsSoaData soa{std::move(mname->text), std::move(rname->text)};
      soa.serial = r.u32_be("soa serial").value();
      soa.refresh = r.u32_be("soa refresh").value();
      soa.retry = r.u32_be("soa retry").value();
      soa.expire = r.u32_be("soa expire").value();
      soa.minimum = r.u32_be("soa minimum").value();
      return DnsRdata{std::move(soa)};
    }
    default:
      break;
  }
  return DnsRdata{DnsRawData{protocol::Bytes(rdata.begin(), rdata.end())}};
}

Result<DnsReplyRecord> read_record(ByteReader& r, ByteSpan msg, DnsSection section) {
  auto name = read_name(msg, r.position(), "record name");
  if (!name) return name.error();
  if (auto s = r.seek(name->end, "record name"); !s) return s.error();
  DnsReplyRecord rec;
  rec.section = section;
  rec.name = std::move(name->text);
  auto type = r.u16_be("record type");
  if (!type) return type.error();
  auto rclass = r.u16_be("record class");
  if (!rclass) return rclass.error();
  auto ttl = r.u32_be("record ttl");
  if (!ttl) return ttl.error();
  auto rdlength = r.u16_be("rdlength");
  if (!rdlength) return rdlength.error();
  const std::size_t start = r.position();
  if (auto rdata = r.bytes(*rdlength, "rdata"); !rdata) return rdata.error();
  rec.type = *type;
  rec.rclass = *rclass;
  rec.ttl = (*type != kDnsTypeOpt && *ttl > 0x7fffffffu) ? 0u : *ttl;
  auto data = decode_rdata(msg, rec.type, rec.rclass, start, *rdlength);
  if (!data) return data.error();
  rec.data = std::move(*data);
  return rec;
}

}  // namespace

Result<DnsReply> parse_dns_reply(ByteSpan message) {
  if (message.size() > kDnsMaxMessageSize) {
    return make_error(Errc::too_large, kDnsMaxMessageSize,
                      fmt::format("DNS message of {} bytes exceeds {}", message.size(), kDnsMaxMessageSize));
  }
  ByteReader r(message);
  DnsReply reply;
  auto id = r.u16_be("header id");
  if (!id) return id.error();
  auto flags = r.u16_be("header flags");
  if (!flags) return flags.error();
  std::array<std::uint16_t, 4> counts{};
  for (auto& c : counts) {
    auto v = r.u16_be("header counts");
    if (!v) return v.error();
    c = *v;
  }
  if ((*flags & 0x8000) == 0) return make_error(Errc::bad_value, 2, "QR bit clear: a query, not a response");
  reply.id = *id;
  reply.opcode = static_cast<std::uint8_t>((*flags >> 11) & 0x0f);
  reply.authoritative = (*flags & 0x0400) != 0;
  reply.truncated = (*flags & 0x0200) != 0;
  reply.recursion_desired = (*flags & 0x0100) != 0;
  reply.recursion_available = (*flags & 0x0080) != 0;
  reply.rcode = static_cast<std::uint8_t>(*flags & 0x000f);
  reply.question_count = counts[0];

  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    auto name = read_name(message, r.position(), "question name");
    if (!name) return name.error();
    if (auto s = r.seek(name->end, "question name"); !s) return s.error();
    auto qtype = r.u16_be("question type");
    if (!qtype) return qtype.error();
    auto qclass = r.u16_be("question class");
    if (!qclass) return qclass.error();
    if (i == 0) {
      reply.question_name = std::move(name->text);
      reply.question_type = *qtype;
      reply.question_class = *qclass;
    }
  }
  // Every record needs at least 11 bytes, so the counts bound the work by the message size.
  constexpr std::array<DnsSection, 3> kSections{DnsSection::answer, DnsSection::authority, DnsSection::additional};
  for (std::size_t s = 0; s < kSections.size(); ++s) {
    for (std::uint16_t i = 0; i < counts[s + 1]; ++i) {
      auto rec = read_record(r, message, kSections[s]);
      if (!rec) return rec.error();
      reply.records.push_back(std::move(*rec));
    }
  }
  if (!r.empty()) {
    return make_error(Errc::trailing_data, r.offset(),
                      fmt::format("{} bytes after the last record", r.remaining()));
  }
  return reply;
}

}  // namespace kmslab::client
