#include "kmslab/simulator/zone_file.hpp"

#include "kmslab/config/file_input.hpp"
#include "kmslab/protocol/dns_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace kmslab::simulator {

namespace dns = protocol::dns;

namespace {

struct Token {
  // Into the file's text, escapes as written: a large file's tokens cost no allocation each, and
  // the text outlives them (parse_zone_file holds it throughout).
  std::string_view text;
  bool quoted = false;
  int line = 0;  // a record inside ( ) spans lines: each token keeps its own
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
  int line = 1, open_line = 0, open_column = 0;
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
      if (depth++ == 0) {
        open_line = line;
        open_column = column;
      }
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
    t.line = line;
    t.column = column;
    if (c == '"') {
      t.quoted = true;
      const std::size_t begin = ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          i += 2;
          continue;
        }
        if (text[i] == '"') {
          closed = true;
          break;
        }
        if (text[i] == '\n') break;
        ++i;
      }
      if (!closed) return error_at(file, line, column, "unterminated quoted string");
      t.text = text.substr(begin, i++ - begin);
    } else {
      const std::size_t begin = i;
      while (i < text.size() && !is_space(text[i]) && text[i] != '\n' && text[i] != ';' && text[i] != '(' &&
             text[i] != ')' && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        ++i;
      }
      t.text = text.substr(begin, i - begin);
    }
    current.tokens.push_back(std::move(t));
  }
  if (depth != 0) return error_at(file, open_line, open_column, "'(' is never closed");
  finish();
  return out;
}

bool is_class(std::string_view s) {
  const auto u = upper(s);
  return u == "IN" || u == "CH" || u == "HS" || u == "CS";
}

// The types a zone file loads, by name or as RFC 3597 "TYPEnnn" (TYPE1 is A).
bool loaded_type(dns::Type type) {
  switch (type) {
    case dns::Type::soa: case dns::Type::ns: case dns::Type::a: case dns::Type::aaaa:
    case dns::Type::srv: case dns::Type::txt: case dns::Type::cname:
      return true;
    default:
      return false;
  }
}

bool known_type(std::string_view s) {
  const auto type = dns::parse_type(s);
  return type && loaded_type(*type);
}

// Rdata octets on the wire; an answer carrying the record must fit one TCP message.
std::size_t zone_rdata_size(const dns::Rdata& data) {
  if (const auto* txt = std::get_if<dns::TxtData>(&data)) {
    std::size_t n = 0;
    for (const auto& s : txt->strings) n += 1 + s.size();
    return n;
  }
  if (const auto* raw = std::get_if<dns::RawData>(&data)) return raw->bytes.size();
  return 0;  // the other loaded types are bounded by their names (at most 2 x 255 + 20 octets)
}

// Where offset `at` of the joined rdata text lies in the file: the token it falls in.
std::pair<int, int> rdata_position(const std::vector<Token>& tokens, std::size_t first,
                                   const std::vector<std::size_t>& starts, std::size_t at) {
  std::size_t i = 0;
  while (i + 1 < starts.size() && starts[i + 1] <= at) ++i;
  const Token& t = tokens[first + i];
  const std::size_t inside = std::min(at - starts[i], t.text.size() + (t.quoted ? 1 : 0));
  return {t.line, t.column + static_cast<int>(inside)};
}

// The DnsRecordSpec fields kept for callers that read them; rdata itself is what is served.
void describe_rdata(DnsRecordSpec& r, const dns::Rdata& data) {
  if (const auto* srv = std::get_if<dns::SrvData>(&data)) {
    r.priority = srv->priority;
    r.weight = srv->weight;
    r.port = srv->port;
    r.target = srv->target.to_string();
  } else if (const auto* txt = std::get_if<dns::TxtData>(&data)) {
    r.text = txt->strings;
  } else if (const auto* ns = std::get_if<dns::NsData>(&data)) {
    r.target = ns->host.to_string();
  } else if (const auto* cname = std::get_if<dns::CnameData>(&data)) {
    r.target = cname->target.to_string();
  } else if (std::holds_alternative<dns::AData>(data) || std::holds_alternative<dns::AaaaData>(data)) {
    r.address = dns::format_rdata(data);
  }
}

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
  // The responder's own rule (a CNAME alone at its name, RFC 2181 §10.1; the apex holds the SOA),
  // checked as each record is read on an index of the owners rather than by building a zone, so that
  // a file this accepts is one `serve` loads, a violation names its line, and the check costs one
  // hash look-up per record.
  struct OwnerData {
    std::optional<dns::Name> cname;  // its target: the same CNAME twice is one record, not a clash
    bool other_data = false;
  };
  std::unordered_map<std::string, OwnerData> owners;  // Name::key() of each owner
  for (const auto& e : *entries) {
    const auto& t = e.tokens;
    auto fail = [&](int column, std::string message) { return error_at(file, e.line, column, std::move(message)); };
    auto fail_at = [&](const Token& token, std::string message) {
      return error_at(file, token.line, token.column, std::move(message));
    };
    if (!t.front().quoted && t.front().text.starts_with('$') && !e.blank_owner) {
      const auto directive = upper(t.front().text);
      if (directive == "$ORIGIN") {
        if (t.size() != 2) return fail(t.front().column, "$ORIGIN takes one domain name");
        auto name = origin ? dns::Name::parse(t[1].text, *origin) : dns::Name::parse(t[1].text);
        if (!name || (!origin && !t[1].text.ends_with('.')))
          return fail_at(t[1], fmt::format("$ORIGIN '{}' is not an absolute domain name", t[1].text));
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
    int owner_column = 1;
    if (e.blank_owner) {
      if (!previous_owner) return fail(1, "a record with a blank owner, but no previous owner to repeat");
      owner = *previous_owner;
    } else {
      const auto& o = t[k++];
      owner_column = o.column;
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
      if (!ttl && !t[k].quoted && !t[k].text.empty() && std::isdigit(static_cast<unsigned char>(t[k].text.front()))) {
        ttl = parse_zone_ttl(t[k].text);
        if (!ttl) return fail_at(t[k], fmt::format("TTL '{}' is not a TTL", t[k].text));
        ++k;
      } else if (is_class(t[k].text) && !known_type(t[k].text)) {
        if (upper(t[k].text) != "IN") return fail_at(t[k], fmt::format("class {} is not supported (only IN)", t[k].text));
        ++k;
      }
    }
    if (k >= t.size()) return fail_at(t.back(), "the record has no type");
    const auto& type_token = t[k++];
    const auto parsed_type = dns::parse_type(type_token.text);
    const std::uint32_t record_ttl = ttl ? *ttl : default_ttl ? *default_ttl : last_ttl;
    last_ttl = record_ttl;
    if (!parsed_type) return fail_at(type_token, fmt::format("'{}' is not a record type", type_token.text));
    const std::string type = dns::type_name(*parsed_type);
    if (!loaded_type(*parsed_type)) {
      out.unsupported.push_back({e.line, strip_dot(owner.to_string()), type});
      continue;
    }
    if (k >= t.size()) return fail_at(type_token, fmt::format("{} record without data", type));
    // The rdata is parsed once, here, into its typed form (RFC 3597 "\# len hex" included);
    // that value is what the responder serves.
    std::string data;
    std::vector<std::size_t> starts;
    for (std::size_t j = k; j < t.size(); ++j) {
      if (!data.empty()) data += ' ';
      starts.push_back(data.size());
      if (t[j].quoted) data += '"';
      data += t[j].text;
      if (t[j].quoted) data += '"';
    }
    auto rdata = dns::parse_rdata(*parsed_type, data, origin.value_or(dns::Name{}));
    if (!rdata) {
      const auto [line, column] = rdata_position(t, k, starts, rdata.error().offset);
      return error_at(file, line, column,
                      fmt::format("{} data '{}': {}", type, data,
                                  rdata.error().detail.empty() ? rdata.error().message() : rdata.error().detail));
    }
    // A TXT record holds one or more character-strings (RFC 1035 3.3.14); "\# 0" parses to none,
    // and an answer carrying it is malformed to every resolver (dig says so), so it is not served.
    if (const auto* txt = std::get_if<dns::TxtData>(&*rdata); txt != nullptr && txt->strings.empty())
      return fail_at(t[k], "TXT data holds no character-string (expected at least one, \"\" for an empty one)");
    if (const auto size = zone_rdata_size(*rdata); size > kMaxZoneRdataOctets)
      return fail_at(t[k], fmt::format("{} rdata of {} octets: at most {}, so that an answer carrying it fits "
                                       "one DNS message", type, size, kMaxZoneRdataOctets));
    if (*parsed_type == dns::Type::soa) {
      if (out.has_soa) return fail_at(type_token, "a second SOA record");
      if (apex && !(owner == *apex)) return error_at(file, e.line, owner_column, "the SOA must be at the zone apex");
      if (owner.is_root()) return error_at(file, e.line, owner_column, "an SOA for the root: give the zone's name as its owner");
      out.has_soa = true;
      apex = owner;
      const auto& soa = std::get<dns::SoaData>(*rdata);
      auto& z = out.zone;
      z.soa_mname = soa.mname.to_string();
      z.soa_rname = soa.rname.to_string();
      z.soa_serial = soa.serial;
      z.soa_minimum = soa.minimum;
      z.ttl = default_ttl.value_or(record_ttl);
      continue;
    }
    if (!apex) apex = origin;
    if (!apex || apex->is_root())
      return error_at(file, e.line, owner_column,
                      apex ? "the zone apex would be the root: set $ORIGIN to the zone's name or start with its SOA"
                           : "no zone apex known: start with $ORIGIN or an SOA record");
    if (!owner.is_subdomain_of(*apex))
      return error_at(file, e.line, owner_column,
                      fmt::format("{} lies outside the zone {}", owner.to_string(), apex->to_string()));
    auto& at = owners[owner.key()];
    const auto* cname = std::get_if<dns::CnameData>(&*rdata);
    const bool cname_clash = cname ? at.other_data || owner == *apex || (at.cname && !(*at.cname == cname->target))
                                   : at.cname.has_value();
    if (cname_clash)
      return error_at(file, e.line, owner_column,
                      fmt::format("{}: a CNAME cannot share its name with other records", owner.to_string()));
    if (cname) at.cname = cname->target;
    else at.other_data = true;
    DnsRecordSpec r;
    r.name = owner.to_string();
    r.type = type;
    r.ttl = record_ttl;
    describe_rdata(r, *rdata);
    r.rdata = std::move(*rdata);
    out.zone.records.push_back(std::move(r));
    out.record_lines.push_back(e.line);
  }
  // Records and an SOA set the apex (or failed above); a file with neither has nothing to serve.
  if (!apex) return error_at(file, 1, 1, "no zone apex: the file has no SOA and no records");
  out.zone.origin = strip_dot(apex->to_string());
  if (!default_ttl && out.zone.ttl == 0) out.zone.ttl = 300;
  if (default_ttl && !out.has_soa) out.zone.ttl = *default_ttl;
  if (!out.has_soa) {
    // Placeholder SOA names below the apex; the apex itself when it is too long to take a label.
    auto below = [&](std::string_view label) {
      auto n = dns::Name::from_labels([&] {
        std::vector<std::string> labels{std::string(label)};
        labels.insert(labels.end(), apex->labels().begin(), apex->labels().end());
        return labels;
      }());
      return strip_dot(n ? n->to_string() : apex->to_string());
    };
    out.zone.soa_mname = below("ns1");
    out.zone.soa_rname = below("hostmaster");
  }
  return out;
}

config::ConfigResult<ZoneFile> load_zone_file(const std::string& path, std::string_view origin) {
  auto text = config::read_file_capped(path, kMaxZoneFileBytes);
  if (!text) return text.error();
  return parse_zone_file(*text, path, origin);
}

}  // namespace kmslab::simulator
