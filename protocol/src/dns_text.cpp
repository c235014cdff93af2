// DNS presentation format: names of types/classes/rcodes, rdata text <-> Rdata.
#include "kmslab/protocol/dns_text.hpp"

#include "dns_wire.hpp"

#include "kmslab/protocol/hex.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace kmslab::protocol::dns {

namespace {

struct NamedType {
  Type type;
  std::string_view name;
};
constexpr std::array<NamedType, 13> kTypes{{
    {Type::a, "A"}, {Type::ns, "NS"}, {Type::cname, "CNAME"}, {Type::soa, "SOA"},
    {Type::ptr, "PTR"}, {Type::mx, "MX"}, {Type::txt, "TXT"}, {Type::aaaa, "AAAA"},
    {Type::srv, "SRV"}, {Type::opt, "OPT"}, {Type::ixfr, "IXFR"}, {Type::axfr, "AXFR"},
    {Type::any, "ANY"},
}};

struct Token {
  std::string_view text;  // without the quotes of a quoted token; escapes not yet resolved
  std::size_t offset = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

Result<std::vector<Token>> tokenize(std::string_view text) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    const bool quoted = text[i] == '"';
    const std::size_t start = quoted ? i + 1 : i;
    std::size_t j = start;
    while (j < text.size()) {
      if (text[j] == '\\') {
        j += 2;
        continue;
      }
      if (quoted ? text[j] == '"' : is_space(text[j])) break;
      ++j;
    }
    if (quoted && j >= text.size())
      return make_error(Errc::bad_value, i, "unterminated quoted string");
    out.push_back(Token{text.substr(start, std::min(j, text.size()) - start), start});
    i = quoted ? j + 1 : j;
  }
  return out;
}

Result<std::string> unescape(const Token& t) {
  std::string out;
  for (std::size_t i = 0; i < t.text.size(); ++i) {
    const char c = t.text[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i + 1 >= t.text.size()) return make_error(Errc::bad_value, t.offset + i, "escape at end");
    const char n = t.text[i + 1];
    if (n >= '0' && n <= '9') {
      unsigned v = 0;
      if (i + 3 >= t.text.size())
        return make_error(Errc::bad_value, t.offset + i, "\\DDD escape needs three digits");
      for (std::size_t k = 1; k <= 3; ++k) {
        const char d = t.text[i + k];
        if (d < '0' || d > '9')
          return make_error(Errc::bad_value, t.offset + i, "\\DDD escape needs three digits");
        v = v * 10 + static_cast<unsigned>(d - '0');
      }
      if (v > 255) return make_error(Errc::bad_value, t.offset + i, "\\DDD escape above 255");
      out.push_back(static_cast<char>(static_cast<unsigned char>(v)));
      i += 3;
    } else {
      out.push_back(n);
      ++i;
    }
  }
  return out;
}

template <class T>
Result<T> number(const Token& t, std::string_view what) {
  std::uint64_t v = 0;
  const char* first = t.text.data();
  const char* last = first + t.text.size();
  auto [p, ec] = std::from_chars(first, last, v);
  if (ec == std::errc::result_out_of_range || (ec == std::errc{} && v > std::numeric_limits<T>::max()))
    return make_error(Errc::too_large, t.offset,
                      fmt::format("{} {} above {}", what, t.text, std::numeric_limits<T>::max()));
  if (ec != std::errc{} || p != last)
    return make_error(Errc::bad_value, t.offset, fmt::format("{} '{}' is not a number", what, t.text));
  return static_cast<T>(v);
}

Result<Name> name_at(const Token& t, const Name& origin) {
  auto n = Name::parse(t.text, origin);
  if (!n) return make_error(n.error().code, t.offset + n.error().offset, n.error().detail);
  return n;
}

Result<void> expect_count(const std::vector<Token>& toks, std::size_t n, std::string_view type,
                          std::string_view form, std::size_t text_size) {
  if (toks.size() == n) return {};
  return make_error(Errc::bad_value, toks.size() > n ? toks[n].offset : text_size,
                    fmt::format("{} rdata needs {} field{} ({}), got {}", type, n, n == 1 ? "" : "s",
                                form, toks.size()));
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u > 0x7e) {
      out += fmt::format("\\{:03d}", u);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// RFC 3597 §5: generic rdata of a type with a structured form is that type's wire rdata, so it is
// read into the same value the structured text gives (its names must not be compressed).
Result<Rdata> parse_raw(Type type, const std::vector<Token>& toks, std::string_view text) {
  if (toks.size() < 2)
    return make_error(Errc::bad_value, text.size(), "generic rdata needs '\\# <length> <hex>'");
  auto len = number<std::uint16_t>(toks[1], "rdata length");
  if (!len) return len.error();
  std::string hex;
  for (std::size_t i = 2; i < toks.size(); ++i) hex += toks[i].text;
  auto bytes = from_hex(hex);
  if (!bytes) return make_error(Errc::bad_value, toks.size() > 2 ? toks[2].offset : text.size(),
                                bytes.error().detail);
  if (bytes->size() != *len)
    return make_error(Errc::bad_length, toks[1].offset,
                      fmt::format("generic rdata announces {} octets, hex holds {}", *len, bytes->size()));
  if (type == Type::opt) return Rdata{RawData{std::move(*bytes)}};
  ByteReader r(*bytes);
  auto typed = detail::read_rdata(r, type, bytes->size());
  // Errors point at "\#": the octets themselves have no offsets in the text.
  if (!typed)
    return make_error(typed.error().code, toks[0].offset,
                      fmt::format("generic {} rdata: {}", type_name(type), typed.error().message()));
  return typed;
}

}  // namespace

std::string type_name(Type type) {
  for (const auto& t : kTypes)
    if (t.type == type) return std::string(t.name);
  return fmt::format("TYPE{}", static_cast<unsigned>(type));
}

std::optional<Type> parse_type(std::string_view text) {
  for (const auto& t : kTypes)
    if (equal_ci(t.name, text)) return t.type;
  if (text.size() > 4 && equal_ci(text.substr(0, 4), "TYPE")) {
    auto v = number<std::uint16_t>(Token{text.substr(4), 0}, "type");
    if (v) return Type{*v};
  }
  return std::nullopt;
}

std::string class_name(Class c) {
  switch (c) {
    case Class::in: return "IN";
    case Class::ch: return "CH";
    case Class::hs: return "HS";
    case Class::none: return "NONE";
    case Class::any: return "ANY";
  }
  return fmt::format("CLASS{}", static_cast<unsigned>(c));
}

std::string rcode_name(Rcode code) {
  static constexpr std::array<std::string_view, 11> kNames{
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  const auto v = static_cast<unsigned>(code);
  if (v < kNames.size()) return std::string(kNames[v]);
  if (code == Rcode::badvers) return "BADVERS";
  return fmt::format("RCODE{}", v);
}

Result<Rdata> parse_rdata(Type type, std::string_view text, const Name& origin) {
  auto toks_r = tokenize(text);
  if (!toks_r) return toks_r.error();
  const auto& toks = *toks_r;
  if (!toks.empty() && toks[0].text == "\\#") return parse_raw(type, toks, text);
  const std::string tname = type_name(type);
  auto count = [&](std::size_t n, std::string_view form) {
    return expect_count(toks, n, tname, form, text.size());
  };
  switch (type) {
    case Type::a:
    case Type::aaaa: {
      if (auto ok = count(1, "address"); !ok) return ok.error();
      const std::string s(toks[0].text);
      if (type == Type::a) {
        AData d;
        if (inet_pton(AF_INET, s.c_str(), d.address.data()) != 1)
          return make_error(Errc::bad_value, toks[0].offset, fmt::format("'{}' is not an IPv4 address", s));
        return Rdata{d};
      }
      AaaaData d;
      if (inet_pton(AF_INET6, s.c_str(), d.address.data()) != 1)
        return make_error(Errc::bad_value, toks[0].offset, fmt::format("'{}' is not an IPv6 address", s));
      return Rdata{d};
    }
    case Type::ns:
    case Type::cname:
    case Type::ptr: {
      if (auto ok = count(1, "a name"); !ok) return ok.error();
      auto n = name_at(toks[0], origin);
      if (!n) return n.error();
      if (type == Type::ns) return Rdata{NsData{std::move(*n)}};
      if (type == Type::cname) return Rdata{CnameData{std::move(*n)}};
      return Rdata{PtrData{std::move(*n)}};
    }
    case Type::mx: {
      if (auto ok = count(2, "preference exchange"); !ok) return ok.error();
      auto pref = number<std::uint16_t>(toks[0], "MX preference");
      if (!pref) return pref.error();
      auto n = name_at(toks[1], origin);
      if (!n) return n.error();
      return Rdata{MxData{*pref, std::move(*n)}};
    }
    case Type::soa: {
      if (auto ok = count(7, "mname rname serial refresh retry expire minimum"); !ok) return ok.error();
      SoaData d;
      auto m = name_at(toks[0], origin);
      if (!m) return m.error();
      auto r = name_at(toks[1], origin);
      if (!r) return r.error();
      d.mname = std::move(*m);
      d.rname = std::move(*r);
      std::uint32_t* fields[] = {&d.serial, &d.refresh, &d.retry, &d.expire, &d.minimum};
      for (std::size_t i = 0; i < 5; ++i) {
        auto v = number<std::uint32_t>(toks[2 + i], "SOA field");
        if (!v) return v.error();
        *fields[i] = *v;
      }
      return Rdata{std::move(d)};
    }
    case Type::srv: {
      if (auto ok = count(4, "priority weight port target"); !ok) return ok.error();
      SrvData d;
      std::uint16_t* fields[] = {&d.priority, &d.weight, &d.port};
      constexpr std::string_view kWhat[] = {"SRV priority", "SRV weight", "SRV port"};
      for (std::size_t i = 0; i < 3; ++i) {
        auto v = number<std::uint16_t>(toks[i], kWhat[i]);
        if (!v) return v.error();
        *fields[i] = *v;
      }
      auto n = name_at(toks[3], origin);
      if (!n) return n.error();
      d.target = std::move(*n);
      return Rdata{std::move(d)};
    }
    case Type::txt: {
      if (toks.empty()) return make_error(Errc::bad_value, 0, "TXT rdata needs at least one string");
      TxtData d;
      for (const auto& t : toks) {
        auto s = unescape(t);
        if (!s) return s.error();
        if (s->size() > kMaxCharacterString)
          return make_error(Errc::too_large, t.offset,
                            fmt::format("TXT string of {} octets (at most {})", s->size(), kMaxCharacterString));
        d.strings.push_back(std::move(*s));
      }
      return Rdata{std::move(d)};
    }
    default:
      return make_error(Errc::bad_type, 0,
                        fmt::format("type {} has no structured form here; use '\\# <length> <hex>'", tname));
  }
}

std::string format_rdata(const Rdata& data) {
  struct Visitor {
    std::string operator()(const RawData& d) const {
      if (d.bytes.empty()) return "\\# 0";
      return fmt::format("\\# {} {}", d.bytes.size(), to_hex(d.bytes));
    }
    std::string operator()(const AData& d) const {
      char buf[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, d.address.data(), buf, sizeof buf);
      return buf;
    }
    std::string operator()(const AaaaData& d) const {
      char buf[INET6_ADDRSTRLEN] = {};
      inet_ntop(AF_INET6, d.address.data(), buf, sizeof buf);
      return buf;
    }
    std::string operator()(const NsData& d) const { return d.host.to_string(); }
    std::string operator()(const CnameData& d) const { return d.target.to_string(); }
    std::string operator()(const PtrData& d) const { return d.target.to_string(); }
    std::string operator()(const MxData& d) const {
      return fmt::format("{} {}", d.preference, d.exchange.to_string());
    }
    std::string operator()(const SoaData& d) const {
      return fmt::format("{} {} {} {} {} {} {}", d.mname.to_string(), d.rname.to_string(), d.serial,
                         d.refresh, d.retry, d.expire, d.minimum);
    }
    std::string operator()(const TxtData& d) const {
      // An empty rdata (RFC 1035 wants one string or more, but it arrives) has no TXT text form;
      // RFC 3597's generic form is the one spelling of it that parses back.
      if (d.strings.empty()) return "\\# 0";
      std::string out;
      for (const auto& s : d.strings) {
        if (!out.empty()) out.push_back(' ');
        out += quote(s);
      }
      return out;
    }
    std::string operator()(const SrvData& d) const {
      return fmt::format("{} {} {} {}", d.priority, d.weight, d.port, d.target.to_string());
    }
  };
  return std::visit(Visitor{}, data);
}

std::string to_string(const ResourceRecord& rr) {
  return fmt::format("{} {} {} {} {}", rr.name.to_string(), rr.ttl, class_name(rr.rclass),
                     type_name(rr.type), format_rdata(rr.data));
}

}  // namespace kmslab::protocol::dns
