#include "kmslab/simulator/zone_file.hpp"

#include "kmslab/config/file_input.hpp"
#include "kmslab/protocol/dns_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace kmslab::simulator {

namespace dns = protocol::dns;

namespace {

struct Token {
  std::string text;
  bool quoted = false;
  int column = 0;
};

// One logical entry: the tokens of a line, or of several lines joined by ( ).
struct Entry {
  int line = 0;
  bool blank_owner = false;  // began with white space: the previous owner
  std::vector<Token> tokens;
};

config::ConfigError error_at(const std::string& file, int line, int column, std::string message) {
  return config::ConfigError{file, line, column, {}, std::move(message)};
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Splits the text into entries; errors: an unterminated quote or parenthesis, a stray ')'.
config::ConfigResult<std::vector<Entry>> tokenize(std::string_view text, const std::string& file) {
  std::vector<Entry> out;
  Entry current;
  int depth = 0;
  int line = 1, open_line = 0;
  std::size_t i = 0, line_begin = 0;
  bool line_start = true;
  auto finish = [&] {
    if (!current.tokens.empty()) out.push_back(std::move(current));
    current = Entry{};
  };
  while (i < text.size()) {
    const char c = text[i];
    if (line_start) {
      // Only a line that starts an entry can have a blank owner; continuation lines inside ( ) cannot.
      if (depth == 0) {
        current.line = line;
        current.blank_owner = is_space(c);
      }
      line_start = false;
    }
    const int column = static_cast<int>(i - line_begin) + 1;
    if (c == '\n') {
      ++line;
      ++i;
      line_begin = i;
      line_start = true;
      if (depth == 0) finish();
      continue;
    }
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (c == ';') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '(') {
      if (depth++ == 0) open_line = line;
      ++i;
      continue;
    }
    if (c == ')') {
      if (depth == 0) return error_at(file, line, column, "')' without a matching '('");
      --depth;
      ++i;
      continue;
    }
    Token t;
    t.column = column;
    if (c == '"') {
      t.quoted = true;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          t.text += text[i];
          t.text += text[i + 1];
          i += 2;
          continue;
        }
        if (text[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        if (text[i] == '\n') break;
        t.text += text[i++];
      }
      if (!closed) return error_at(file, line, column, "unterminated quoted string");
    } else {
      while (i < text.size() && !is_space(text[i]) && text[i] != '\n' && text[i] != ';' && text[i] != '(' &&
             text[i] != ')' && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) t.text += text[i++];
        t.text += text[i++];
      }
    }
    current.tokens.push_back(std::move(t));
  }
  if (depth != 0) return error_at(file, open_line, 0, "'(' is never closed");
  finish();
  return out;
}

bool is_class(std::string_view s) {
  const auto u = upper(s);
  return u == "IN" || u == "CH" || u == "HS" || u == "CS";
}

bool known_type(std::string_view s) {
  const auto u = upper(s);
  return u == "SOA" || u == "NS" || u == "A" || u == "AAAA" || u == "SRV" || u == "TXT" || u == "CNAME";
}

// A record type we do not load, recognised by name (RFC 3597 TYPEnnn included).
bool other_type(std::string_view s) { return dns::parse_type(s).has_value() && !known_type(s); }

std::string strip_dot(std::string s) {
  if (s.size() > 1 && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::optional<std::uint32_t> parse_zone_ttl(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t total = 0, number = 0;
  bool digits = false, any_unit = false;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      number = number * 10 + static_cast<std::uint64_t>(c - '0');
      if (number > 0x7FFFFFFFu) return std::nullopt;
      digits = true;
      continue;
    }
    std::uint64_t scale = 0;
    switch (std::tolower(static_cast<unsigned char>(c))) {
      case 's': scale = 1; break;
      case 'm': scale = 60; break;
      case 'h': scale = 3600; break;
      case 'd': scale = 86400; break;
      case 'w': scale = 604800; break;
      default: return std::nullopt;
    }
    if (!digits) return std::nullopt;
    total += number * scale;
    if (total > 0x7FFFFFFFu) return std::nullopt;
    number = 0;
    digits = false;
    any_unit = true;
  }
  if (digits) total += number;
  else if (!any_unit) return std::nullopt;
  if (total > 0x7FFFFFFFu) return std::nullopt;
  return static_cast<std::uint32_t>(total);
}

config::ConfigResult<ZoneFile> parse_zone_file(std::string_view text, const std::string& file, std::string_view origin_text) {
  auto entries = tokenize(text, file);
  if (!entries) return entries.error();
  ZoneFile out;
  std::optional<dns::Name> origin;
  if (!origin_text.empty()) {
    auto parsed = dns::Name::parse(origin_text);
    if (!parsed) return error_at(file, 0, 0, fmt::format("origin '{}' is not a domain name", origin_text));
    origin = *parsed;
  }
  std::optional<dns::Name> apex;
  std::optional<std::uint32_t> default_ttl;
  std::optional<dns::Name> previous_owner;
  std::uint32_t last_ttl = 0;
  for (const auto& e : *entries) {
    const auto& t = e.tokens;
    auto fail = [&](int column, std::string message) { return error_at(file, e.line, column, std::move(message)); };
    if (!t.front().quoted && t.front().text.starts_with('$') && !e.blank_owner) {
      const auto directive = upper(t.front().text);
      if (directive == "$ORIGIN") {
        if (t.size() != 2) return fail(t.front().column, "$ORIGIN takes one domain name");
        auto name = origin ? dns::Name::parse(t[1].text, *origin) : dns::Name::parse(t[1].text);
        if (!name || (!origin && !t[1].text.ends_with('.')))
          return fail(t[1].column, fmt::format("$ORIGIN '{}' is not an absolute domain name", t[1].text));
        origin = *name;
        continue;
      }
      if (directive == "$TTL") {
        if (t.size() != 2) return fail(t.front().column, "$TTL takes one value");
        default_ttl = parse_zone_ttl(t[1].text);
        if (!default_ttl) return fail(t[1].column, fmt::format("$TTL '{}' is not a TTL (seconds, or units like 1h30m)", t[1].text));
        continue;
      }
      if (directive == "$INCLUDE" || directive == "$GENERATE")
        return fail(t.front().column, fmt::format("{} is not supported: give kmslab one self-contained zone file", t.front().text));
      return fail(t.front().column, fmt::format("unknown directive '{}' ($ORIGIN and $TTL are understood)", t.front().text));
    }
    std::size_t k = 0;
    dns::Name owner;
    if (e.blank_owner) {
      if (!previous_owner) return fail(1, "a record with a blank owner, but no previous owner to repeat");
      owner = *previous_owner;
    } else {
      const auto& o = t[k++];
      if (!origin && o.text != "@" && !o.text.ends_with('.'))
        return fail(o.column, fmt::format("'{}' is relative but no origin is known: add $ORIGIN", o.text));
      if (!origin && o.text == "@") return fail(o.column, "'@' but no origin is known: add $ORIGIN");
      auto name = origin ? dns::Name::parse(o.text, *origin) : dns::Name::parse(o.text);
      if (!name) return fail(o.column, fmt::format("owner '{}' is not a domain name: {}", o.text, name.error().detail));
      owner = *name;
    }
    previous_owner = owner;
    std::optional<std::uint32_t> ttl;
    // [ttl] [class] or [class] [ttl], then the type.
    for (int pass = 0; pass < 2 && k < t.size(); ++pass) {
      if (!ttl && std::isdigit(static_cast<unsigned char>(t[k].text.front()))) {
        ttl = parse_zone_ttl(t[k].text);
        if (!ttl) return fail(t[k].column, fmt::format("TTL '{}' is not a TTL", t[k].text));
        ++k;
      } else if (is_class(t[k].text) && !known_type(t[k].text)) {
        if (upper(t[k].text) != "IN") return fail(t[k].column, fmt::format("class {} is not supported (only IN)", t[k].text));
        ++k;
      }
    }
    if (k >= t.size()) return fail(t.back().column, "the record has no type");
    const auto& type_token = t[k++];
    const auto type = upper(type_token.text);
    std::string data;
    std::vector<std::string> txt;
    for (std::size_t j = k; j < t.size(); ++j) {
      if (!data.empty()) data += ' ';
      data += t[j].quoted ? "\"" + t[j].text + "\"" : t[j].text;
      txt.push_back(t[j].text);
    }
    const std::uint32_t record_ttl = ttl ? *ttl : default_ttl ? *default_ttl : last_ttl;
    last_ttl = record_ttl;
    if (!known_type(type)) {
      if (!other_type(type)) return fail(type_token.column, fmt::format("'{}' is not a record type", type_token.text));
      out.unsupported.push_back({e.line, strip_dot(owner.to_string()), type});
      continue;
    }
    if (k >= t.size()) return fail(type_token.column, fmt::format("{} record without data", type));
    auto rdata = dns::parse_rdata(*dns::parse_type(type), data, origin.value_or(dns::Name{}));
    if (!rdata)
      return fail(t[k].column, fmt::format("{} data '{}': {}", type, data,
                                           rdata.error().detail.empty() ? rdata.error().message() : rdata.error().detail));
    // Names in the data, made absolute against the current origin.
    auto absolute = [&](const std::string& name) -> std::string {
      auto n = origin ? dns::Name::parse(name, *origin) : dns::Name::parse(name);
      return n ? n->to_string() : name;
    };
    if (type == "SOA") {
      if (out.has_soa) return fail(type_token.column, "a second SOA record");
      if (apex && !(owner == *apex)) return fail(1, "the SOA must be at the zone apex");
      out.has_soa = true;
      apex = owner;
      auto& z = out.zone;
      z.soa_mname = absolute(t[k].text);
      z.soa_rname = absolute(t[k + 1].text);
      z.soa_serial = static_cast<std::uint32_t>(std::stoul(t[k + 2].text));
      if (auto m = parse_zone_ttl(t.back().text)) z.soa_minimum = *m;
      z.ttl = default_ttl.value_or(record_ttl);
      continue;
    }
    if (!apex) apex = origin;
    if (!apex) return fail(1, "no zone apex known: start with $ORIGIN or an SOA record");
    if (!owner.is_subdomain_of(*apex))
      return fail(1, fmt::format("{} lies outside the zone {}", owner.to_string(), apex->to_string()));
    DnsRecordSpec r;
    r.name = owner.to_string();
    r.type = type;
    r.ttl = record_ttl;
    if (type == "A" || type == "AAAA") {
      r.address = t[k].text;
    } else if (type == "SRV") {
      r.priority = static_cast<std::uint16_t>(std::stoul(t[k].text));
      r.weight = static_cast<std::uint16_t>(std::stoul(t[k + 1].text));
      r.port = static_cast<std::uint16_t>(std::stoul(t[k + 2].text));
      r.target = absolute(t[k + 3].text);
    } else if (type == "TXT") {
      r.text = txt;
    } else {
      r.target = absolute(t[k].text);
    }
    out.zone.records.push_back(std::move(r));
    out.record_lines.push_back(e.line);
  }
  if (!apex) return error_at(file, 0, 0, "no zone apex: the file has no SOA and no $ORIGIN");
  out.zone.origin = strip_dot(apex->to_string());
  if (!default_ttl && out.zone.ttl == 0) out.zone.ttl = 300;
  if (default_ttl && !out.has_soa) out.zone.ttl = *default_ttl;
  if (!out.has_soa) {
    out.zone.soa_mname = "ns1." + out.zone.origin;
    out.zone.soa_rname = "hostmaster." + out.zone.origin;
  }
  return out;
}

config::ConfigResult<ZoneFile> load_zone_file(const std::string& path, std::string_view origin) {
  auto text = config::read_file_capped(path, kMaxZoneFileBytes);
  if (!text) return text.error();
  return parse_zone_file(*text, path, origin);
}

}  // namespace kmslab::simulator
