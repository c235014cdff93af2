// DNS message codec: header, questions, resource records, EDNS0, truncation to a size limit.
#include "dns_wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace kmslab::protocol::dns {

namespace {

constexpr std::size_t kMinQuestionSize = 5;  // root name, type, class
constexpr std::size_t kMinRecordSize = 11;   // root name, type, class, ttl, rdlength
constexpr const char* kSectionNames[] = {"answer", "authority", "additional"};

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

std::uint16_t flags_of(const Header& h) {
  unsigned f = 0;
  if (h.qr) f |= 0x8000u;
  f |= (static_cast<unsigned>(h.opcode) & 0xFu) << 11;
  if (h.aa) f |= 0x0400u;
  if (h.tc) f |= 0x0200u;
  if (h.rd) f |= 0x0100u;
  if (h.ra) f |= 0x0080u;
  if (h.z) f |= 0x0040u;
  if (h.ad) f |= 0x0020u;
  if (h.cd) f |= 0x0010u;
  f |= h.rcode & 0xFu;
  return static_cast<std::uint16_t>(f);
}

}  // namespace

Result<Rdata> detail::read_rdata(ByteReader& r, Type type, std::size_t rdlength) {
  const std::size_t start = r.position();
  const std::size_t end = start + rdlength;  // the caller checked it lies inside the message
  auto fixed = [&](std::size_t want, std::string_view what) -> Result<void> {
    if (rdlength != want)
      return make_error(Errc::bad_length, r.offset(),
                        fmt::format("{} rdata of {} octets (must be {})", what, rdlength, want));
    return {};
  };
  auto name = [&](std::string_view field) { return detail::read_name(r, field); };
  Rdata out;
  switch (type) {
    case Type::a: {
      if (auto ok = fixed(4, "A"); !ok) return ok.error();
      auto a = r.array<4>("A address");
      if (!a) return a.error();
      out = AData{*a};
      break;
    }
    case Type::aaaa: {
      if (auto ok = fixed(16, "AAAA"); !ok) return ok.error();
      auto a = r.array<16>("AAAA address");
      if (!a) return a.error();
      out = AaaaData{*a};
      break;
    }
    case Type::ns:
    case Type::cname:
    case Type::ptr: {
      auto n = name("rdata name");
      if (!n) return n.error();
      if (type == Type::ns) out = NsData{std::move(*n)};
      else if (type == Type::cname) out = CnameData{std::move(*n)};
      else out = PtrData{std::move(*n)};
      break;
    }
    case Type::mx: {
      auto pref = r.u16_be("MX preference");
      if (!pref) return pref.error();
      auto n = name("MX exchange");
      if (!n) return n.error();
      out = MxData{*pref, std::move(*n)};
      break;
    }
    case Type::soa: {
      SoaData soa;
      auto m = name("SOA mname");
      if (!m) return m.error();
      auto rn = name("SOA rname");
      if (!rn) return rn.error();
      soa.mname = std::move(*m);
      soa.rname = std::move(*rn);
      for (auto* field : {&soa.serial, &soa.refresh, &soa.retry, &soa.expire, &soa.minimum}) {
        auto v = r.u32_be("SOA timers");
        if (!v) return v.error();
        *field = *v;
      }
      out = std::move(soa);
      break;
    }
    case Type::srv: {
      SrvData srv;
      for (auto* field : {&srv.priority, &srv.weight, &srv.port}) {
        auto v = r.u16_be("SRV priority/weight/port");
        if (!v) return v.error();
        *field = *v;
      }
      auto t = name("SRV target");
      if (!t) return t.error();
      srv.target = std::move(*t);
      out = std::move(srv);
      break;
    }
    case Type::txt: {
      TxtData txt;
      while (r.position() < end) {
        const std::uint8_t len = *r.u8("TXT string length");
        if (r.position() + len > end)
          return make_error(Errc::bad_length, r.offset() - 1,
                            fmt::format("TXT string of {} octets runs past its rdata", len));
        auto b = r.bytes(len, "TXT string");
        txt.strings.emplace_back(reinterpret_cast<const char*>(b->data()), b->size());
      }
      out = std::move(txt);
      break;
    }
    default: {
      auto b = r.bytes(rdlength, "rdata");
      if (!b) return b.error();
      out = RawData{Bytes(b->begin(), b->end())};
      break;
    }
  }
  if (r.position() != end)
    return make_error(Errc::bad_length, r.offset(),
                      fmt::format("rdata length {} disagrees with its fields ({} octets)", rdlength,
                                  r.position() - start));
  return out;
}

namespace {

Result<Edns> read_opt(ByteReader& r, const Name& owner, std::uint16_t rclass, std::uint32_t ttl,
                      std::size_t rdlength) {
  if (!owner.is_root())
    return make_error(Errc::bad_value, r.offset(), "OPT record owner is not the root");
  Edns e;
  e.udp_payload_size = rclass;
  e.extended_rcode = static_cast<std::uint8_t>(ttl >> 24);
  e.version = static_cast<std::uint8_t>(ttl >> 16);
  e.dnssec_ok = (ttl & 0x8000u) != 0;
  e.z = static_cast<std::uint16_t>(ttl & 0x7FFFu);
  const std::size_t end = r.position() + rdlength;
  while (r.position() < end) {
    if (end - r.position() < 4)
      return make_error(Errc::bad_length, r.offset(), "EDNS option header cut by the OPT rdata length");
    const std::uint16_t code = *r.u16_be("EDNS option code");
    const std::uint16_t len = *r.u16_be("EDNS option length");
    if (r.position() + len > end)
      return make_error(Errc::bad_length, r.offset(),
                        fmt::format("EDNS option {} of {} octets runs past the OPT rdata", code, len));
    auto b = r.bytes(len, "EDNS option data");
    e.options.push_back(EdnsOption{code, Bytes(b->begin(), b->end())});
  }
  return e;
}

Result<void> write_rdata(ByteWriter& w, detail::NameCompressor& names, const Rdata& data) {
  return std::visit(
      Overloaded{
          [&](const RawData& d) -> Result<void> { w.bytes(d.bytes); return {}; },
          [&](const AData& d) -> Result<void> { w.bytes(d.address); return {}; },
          [&](const AaaaData& d) -> Result<void> { w.bytes(d.address); return {}; },
          [&](const NsData& d) -> Result<void> { names.write(w, d.host, true); return {}; },
          [&](const CnameData& d) -> Result<void> { names.write(w, d.target, true); return {}; },
          [&](const PtrData& d) -> Result<void> { names.write(w, d.target, true); return {}; },
          [&](const MxData& d) -> Result<void> {
            w.u16_be(d.preference);
            names.write(w, d.exchange, true);
            return {};
          },
          [&](const SoaData& d) -> Result<void> {
            names.write(w, d.mname, true);
            names.write(w, d.rname, true);
            for (auto v : {d.serial, d.refresh, d.retry, d.expire, d.minimum}) w.u32_be(v);
            return {};
          },
          [&](const TxtData& d) -> Result<void> {
            for (const auto& s : d.strings) {
              if (s.size() > kMaxCharacterString)
                return make_error(Errc::too_large, w.size(),
                                  fmt::format("TXT string of {} octets (at most {})", s.size(),
                                              kMaxCharacterString));
              w.u8(static_cast<std::uint8_t>(s.size()));
              w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
            }
            return {};
          },
          [&](const SrvData& d) -> Result<void> {
            w.u16_be(d.priority);
            w.u16_be(d.weight);
            w.u16_be(d.port);
            names.write(w, d.target, false);  // RFC 2782: never compressed
            return {};
          },
      },
      data);
}

Result<void> write_record(ByteWriter& w, detail::NameCompressor& names, const ResourceRecord& rr) {
  if (rr.type == Type::opt)
    return make_error(Errc::bad_type, w.size(), "OPT records belong in Message::edns");
  if (auto t = type_of(rr.data); t && *t != rr.type)
    return make_error(Errc::bad_type, w.size(),
                      fmt::format("record {} has type {} but rdata of type {}", rr.name.to_string(),
                                  static_cast<unsigned>(rr.type), static_cast<unsigned>(*t)));
  names.write(w, rr.name, true);
  w.u16_be(static_cast<std::uint16_t>(rr.type));
  w.u16_be(static_cast<std::uint16_t>(rr.rclass));
  w.u32_be(rr.ttl);
  const std::size_t at = w.size();
  w.u16_be(0);
  if (auto ok = write_rdata(w, names, rr.data); !ok) return ok.error();
  const std::size_t len = w.size() - at - 2;
  if (len > 0xFFFF)
    return make_error(Errc::too_large, at, fmt::format("rdata of {} octets (at most 65535)", len));
  w.patch_u16_be(at, static_cast<std::uint16_t>(len));
  return {};
}

std::size_t opt_size(const std::optional<Edns>& e) {
  if (!e) return 0;
  std::size_t n = kMinRecordSize;
  for (const auto& o : e->options) n += 4 + o.data.size();
  return n;
}

struct Layout {
  std::vector<std::size_t> record_ends;  // offset after each record: answers, authority, additional
  std::size_t questions_end = 0;
};

Result<Bytes> encode_impl(const Message& m, Layout* layout) {
  const std::size_t arcount = m.additional.size() + (m.edns ? 1 : 0);
  for (std::size_t n : {m.questions.size(), m.answers.size(), m.authority.size(), arcount})
    if (n > 0xFFFF) return make_error(Errc::too_large, 0, "more than 65535 entries in a section");
  if (m.header.rcode > 0xF)
    return make_error(Errc::bad_value, 2, "header rcode above 15 (use Message::set_rcode)");
  ByteWriter w(512);
  w.u16_be(m.header.id);
  w.u16_be(flags_of(m.header));
  w.u16_be(static_cast<std::uint16_t>(m.questions.size()));
  w.u16_be(static_cast<std::uint16_t>(m.answers.size()));
  w.u16_be(static_cast<std::uint16_t>(m.authority.size()));
  w.u16_be(static_cast<std::uint16_t>(arcount));
  detail::NameCompressor names;
  for (const auto& q : m.questions) {
    names.write(w, q.name, true);
    w.u16_be(static_cast<std::uint16_t>(q.type));
    w.u16_be(static_cast<std::uint16_t>(q.qclass));
  }
  if (layout) layout->questions_end = w.size();
  for (const auto* section : {&m.answers, &m.authority, &m.additional}) {
    for (const auto& rr : *section) {
      if (auto ok = write_record(w, names, rr); !ok) return ok.error();
      if (layout) layout->record_ends.push_back(w.size());
    }
  }
  if (m.edns) {
    const Edns& e = *m.edns;
    w.u8(0);
    w.u16_be(static_cast<std::uint16_t>(Type::opt));
    w.u16_be(e.udp_payload_size);
    w.u32_be((std::uint32_t{e.extended_rcode} << 24) | (std::uint32_t{e.version} << 16) |
             (e.dnssec_ok ? 0x8000u : 0u) | (e.z & 0x7FFFu));
    const std::size_t at = w.size();
    w.u16_be(0);
    for (const auto& o : e.options) {
      if (o.data.size() > 0xFFFF) return make_error(Errc::too_large, w.size(), "EDNS option over 65535 octets");
      w.u16_be(o.code);
      w.u16_be(static_cast<std::uint16_t>(o.data.size()));
      w.bytes(o.data);
    }
    const std::size_t len = w.size() - at - 2;
    if (len > 0xFFFF) return make_error(Errc::too_large, at, "OPT rdata over 65535 octets");
    w.patch_u16_be(at, static_cast<std::uint16_t>(len));
  }
  if (w.size() > kMaxMessageSize)
    return make_error(Errc::too_large, kMaxMessageSize,
                      fmt::format("message of {} octets (at most {})", w.size(), kMaxMessageSize));
  return std::move(w).take();
}

}  // namespace

std::optional<Type> type_of(const Rdata& data) noexcept {
  return std::visit(Overloaded{
                        [](const RawData&) -> std::optional<Type> { return std::nullopt; },
                        [](const AData&) -> std::optional<Type> { return Type::a; },
                        [](const AaaaData&) -> std::optional<Type> { return Type::aaaa; },
                        [](const NsData&) -> std::optional<Type> { return Type::ns; },
                        [](const CnameData&) -> std::optional<Type> { return Type::cname; },
                        [](const PtrData&) -> std::optional<Type> { return Type::ptr; },
                        [](const MxData&) -> std::optional<Type> { return Type::mx; },
                        [](const SoaData&) -> std::optional<Type> { return Type::soa; },
                        [](const TxtData&) -> std::optional<Type> { return Type::txt; },
                        [](const SrvData&) -> std::optional<Type> { return Type::srv; },
                    },
                    data);
}

ResourceRecord ResourceRecord::make(Name owner, std::uint32_t ttl, Rdata data) {
  ResourceRecord rr;
  rr.name = std::move(owner);
  rr.type = type_of(data).value_or(Type{0});
  rr.ttl = ttl;
  rr.data = std::move(data);
  return rr;
}

Rcode Message::rcode() const noexcept {
  unsigned v = header.rcode & 0xFu;
  if (edns) v |= unsigned{edns->extended_rcode} << 4;
  return Rcode{static_cast<std::uint16_t>(v)};
}

void Message::set_rcode(Rcode code) {
  const auto v = static_cast<std::uint16_t>(code);
  header.rcode = static_cast<std::uint8_t>(v & 0xFu);
  if (v > 0xF && !edns) edns.emplace();
  if (edns) edns->extended_rcode = static_cast<std::uint8_t>(v >> 4);
}

Result<Header> decode_header(ByteSpan wire) {
  ByteReader r(wire);
  Header h;
  auto id = r.u16_be("header id");
  if (!id) return id.error();
  auto flags = r.u16_be("header flags");
  if (!flags) return flags.error();
  std::uint16_t counts[4] = {};
  constexpr const char* kCountNames[] = {"qdcount", "ancount", "nscount", "arcount"};
  for (std::size_t i = 0; i < 4; ++i) {
    auto c = r.u16_be(kCountNames[i]);
    if (!c) return c.error();
    counts[i] = *c;
  }
  const unsigned f = *flags;
  h.id = *id;
  h.qr = (f & 0x8000u) != 0;
  h.opcode = Opcode{static_cast<std::uint8_t>((f >> 11) & 0xFu)};
  h.aa = (f & 0x0400u) != 0;
  h.tc = (f & 0x0200u) != 0;
  h.rd = (f & 0x0100u) != 0;
  h.ra = (f & 0x0080u) != 0;
  h.z = (f & 0x0040u) != 0;
  h.ad = (f & 0x0020u) != 0;
  h.cd = (f & 0x0010u) != 0;
  h.rcode = static_cast<std::uint8_t>(f & 0xFu);
  h.qdcount = counts[0];
  h.ancount = counts[1];
  h.nscount = counts[2];
  h.arcount = counts[3];
  return h;
}

Result<Message> decode(ByteSpan wire, const DecodeOptions& options) {
  if (wire.size() > kMaxMessageSize)
    return make_error(Errc::too_large, kMaxMessageSize,
                      fmt::format("message of {} octets (at most {})", wire.size(), kMaxMessageSize));
  auto header = decode_header(wire);
  if (!header) return header.error();
  Message m;
  m.header = *header;
  ByteReader r(wire);
  (void)r.seek(kHeaderSize, "header");
  const Header& h = m.header;
  // Reject impossible counts before reserving anything: each entry has a minimum size.
  const std::size_t records = std::size_t{h.ancount} + h.nscount + h.arcount;
  const std::size_t need = std::size_t{h.qdcount} * kMinQuestionSize + records * kMinRecordSize;
  if (need > r.remaining())
    return make_error(Errc::bad_length, 4,
                      fmt::format("header announces {} questions and {} records, which need at "
                                  "least {} octets; {} follow",
                                  h.qdcount, records, need, r.remaining()));
  m.questions.reserve(h.qdcount);
  for (std::size_t i = 0; i < h.qdcount; ++i) {
    auto name = detail::read_name(r, "question name");
    if (!name) return name.error();
    auto type = r.u16_be("question type");
    if (!type) return type.error();
    auto qclass = r.u16_be("question class");
    if (!qclass) return qclass.error();
    m.questions.push_back(Question{std::move(*name), Type{*type}, Class{*qclass}});
  }
  const std::uint16_t counts[3] = {h.ancount, h.nscount, h.arcount};
  std::vector<ResourceRecord>* sections[3] = {&m.answers, &m.authority, &m.additional};
  for (std::size_t s = 0; s < 3; ++s) {
    sections[s]->reserve(counts[s]);
    for (std::size_t i = 0; i < counts[s]; ++i) {
      const std::size_t record_offset = r.offset();
      auto owner = detail::read_name(r, "record owner");
      if (!owner) return owner.error();
      auto type = r.u16_be("record type");
      if (!type) return type.error();
      auto rclass = r.u16_be("record class");
      if (!rclass) return rclass.error();
      auto ttl = r.u32_be("record ttl");
      if (!ttl) return ttl.error();
      auto rdlength = r.u16_be("rdlength");
      if (!rdlength) return rdlength.error();
      if (*rdlength > r.remaining())
        return make_error(Errc::truncated, r.offset(),
                          fmt::format("rdlength {} runs past the end ({} octets left)", *rdlength,
                                      r.remaining()));
      if (Type{*type} == Type::opt) {
        if (s != 2)
          return make_error(Errc::bad_value, record_offset,
                            fmt::format("OPT record in the {} section", kSectionNames[s]));
        if (m.edns) return make_error(Errc::bad_value, record_offset, "second OPT record");
        auto e = read_opt(r, *owner, *rclass, *ttl, *rdlength);
        if (!e) return e.error();
        m.edns = std::move(*e);
        continue;
      }
      auto data = detail::read_rdata(r, Type{*type}, *rdlength);
      if (!data) return data.error();
      sections[s]->push_back(
          ResourceRecord{std::move(*owner), Type{*type}, Class{*rclass}, *ttl, std::move(*data)});
    }
  }
  if (!r.empty() && !options.allow_trailing_data)
    return make_error(Errc::trailing_data, r.offset(),
                      fmt::format("{} octets after the last record", r.remaining()));
  return m;
}

Result<Bytes> encode(const Message& message) { return encode_impl(message, nullptr); }

Result<Bytes> truncate_to(Message& message, std::size_t limit, bool tc_when_additional_dropped) {
  Layout layout;
  auto full = encode_impl(message, &layout);
  if (!full || full->size() <= limit) return full;
  // Compression only points backwards, so the encoding of the first k records is a prefix of
  // the full encoding: the size with k records kept is record_ends[k-1] plus the OPT record.
  const std::size_t opt = opt_size(message.edns);
  std::size_t keep = 0;
  while (keep < layout.record_ends.size() && layout.record_ends[keep] + opt <= limit) ++keep;
  const std::size_t answers = message.answers.size();
  const std::size_t authority = message.authority.size();
  const bool dropped_required = keep < answers + authority;
  message.answers.resize(std::min(keep, answers));
  message.authority.resize(std::min(keep - message.answers.size(), authority));
  message.additional.resize(keep - message.answers.size() - message.authority.size());
  // Not even the header, questions and OPT fit: TC too (dns_message.hpp promises it), so the
  // receiver learns the answer is incomplete even when there were no records to drop.
  const bool base_too_large = layout.questions_end + opt > limit;
  if (dropped_required || tc_when_additional_dropped || base_too_large) message.header.tc = true;
  return encode_impl(message, nullptr);
}

Message make_query(std::uint16_t id, Name name, Type type, std::optional<std::uint16_t> edns_payload) {
  Message m;
  m.header.id = id;
  m.header.rd = true;
  m.questions.push_back(Question{std::move(name), type, Class::in});
  if (edns_payload) {
    m.edns.emplace();
    m.edns->udp_payload_size = *edns_payload;
  }
  return m;
}

Message make_response(const Message& query) {
  Message m;
  m.header.id = query.header.id;
  m.header.qr = true;
  m.header.opcode = query.header.opcode;
  m.header.rd = query.header.rd;
  m.header.cd = query.header.cd;
  m.questions = query.questions;
  return m;
}

}  // namespace kmslab::protocol::dns
