// Domain names: presentation parsing and printing, case-insensitive comparison, and the wire form
// with compression (reading with loop-proof pointer rules, writing with a suffix table).
#include "dns_wire.hpp"

#include <fmt/format.h>

#include <utility>

namespace kmslab::protocol::dns {

namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

Result<void> check_sizes(const std::vector<std::string>& labels, std::size_t offset) {
  std::size_t wire = 1;
  for (const auto& label : labels) {
    if (label.empty()) return make_error(Errc::bad_value, offset, "empty label");
    if (label.size() > kMaxLabelLength)
      return make_error(Errc::too_large, offset,
                        fmt::format("label of {} octets (at most {})", label.size(), kMaxLabelLength));
    wire += 1 + label.size();
  }
  if (wire > kMaxNameLength)
    return make_error(Errc::too_large, offset,
                      fmt::format("name of {} octets (at most {})", wire, kMaxNameLength));
  return {};
}

struct ParsedText {
  std::vector<std::string> labels;
  bool absolute = false;
};

// Splits presentation text into labels, resolving escapes; sizes are checked by the caller.
Result<ParsedText> split_labels(std::string_view text) {
  ParsedText out;
  if (text.empty()) return make_error(Errc::bad_value, 0, "empty name");
  if (text == ".") {
    out.absolute = true;
    return out;
  }
  std::string label;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (label.empty()) return make_error(Errc::bad_value, i, "empty label");
      if (label.size() > kMaxLabelLength)
        return make_error(Errc::too_large, i,
                          fmt::format("label of {} octets (at most {})", label.size(), kMaxLabelLength));
      out.labels.push_back(std::move(label));
      label.clear();
      if (i + 1 == text.size()) out.absolute = true;
      continue;
    }
    if (c != '\\') {
      label.push_back(c);
      continue;
    }
    if (i + 1 >= text.size()) return make_error(Errc::bad_value, i, "escape at end of name");
    if (!is_digit(text[i + 1])) {
      label.push_back(text[++i]);
      continue;
    }
    if (i + 3 >= text.size() || !is_digit(text[i + 2]) || !is_digit(text[i + 3]))
      return make_error(Errc::bad_value, i, "\\DDD escape needs three digits");
    const int value = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
    if (value > 255) return make_error(Errc::bad_value, i, "\\DDD escape above 255");
    label.push_back(static_cast<char>(static_cast<unsigned char>(value)));
    i += 3;
  }
  if (!label.empty()) {
    if (label.size() > kMaxLabelLength)
      return make_error(Errc::too_large, text.size(),
                        fmt::format("label of {} octets (at most {})", label.size(), kMaxLabelLength));
    out.labels.push_back(std::move(label));
  }
  return out;
}

}  // namespace

bool equal_ci(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

Result<Name> Name::from_labels(std::vector<std::string> labels) {
  if (auto ok = check_sizes(labels, 0); !ok) return ok.error();
  Name n;
  n.labels_ = std::move(labels);
  return n;
}

Result<Name> Name::parse(std::string_view text) {
  auto parsed = split_labels(text);
  if (!parsed) return parsed.error();
  if (auto ok = check_sizes(parsed->labels, 0); !ok) return ok.error();
  Name n;
  n.labels_ = std::move(parsed->labels);
  return n;
}

Result<Name> Name::parse(std::string_view text, const Name& origin) {
  if (text == "@") return origin;
  auto parsed = split_labels(text);
  if (!parsed) return parsed.error();
  if (!parsed->absolute)
    parsed->labels.insert(parsed->labels.end(), origin.labels_.begin(), origin.labels_.end());
  if (auto ok = check_sizes(parsed->labels, 0); !ok) return ok.error();
  Name n;
  n.labels_ = std::move(parsed->labels);
  return n;
}

std::size_t Name::wire_length() const noexcept {
  std::size_t n = 1;
  for (const auto& label : labels_) n += 1 + label.size();
  return n;
}

std::string Name::to_string() const {
  if (labels_.empty()) return ".";
  std::string out;
  for (const auto& label : labels_) {
    for (const char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '.' || c == '\\' || c == '"') {
        out.push_back('\\');
        out.push_back(c);
      } else if (u < 0x21 || u > 0x7e) {
        out += fmt::format("\\{:03d}", u);
      } else {
        out.push_back(c);
      }
    }
    out.push_back('.');
  }
  return out;
}

Name Name::lowercased() const {
  Name n = *this;
  for (auto& label : n.labels_)
    for (auto& c : label) c = lower(c);
  return n;
}

std::string Name::key() const { return lowercased().to_string(); }

bool Name::is_subdomain_of(const Name& ancestor) const noexcept {
  if (ancestor.labels_.size() > labels_.size()) return false;
  const std::size_t skip = labels_.size() - ancestor.labels_.size();
  for (std::size_t i = 0; i < ancestor.labels_.size(); ++i)
    if (!equal_ci(labels_[skip + i], ancestor.labels_[i])) return false;
  return true;
}

Name Name::parent() const {
  Name n;
  if (!labels_.empty()) n.labels_.assign(labels_.begin() + 1, labels_.end());
  return n;
}

bool operator==(const Name& a, const Name& b) noexcept {
  return a.labels_.size() == b.labels_.size() && a.is_subdomain_of(b);
}

namespace detail {

Result<Name> read_name(ByteReader& r, std::string_view field) {
  const ByteSpan msg = r.whole();
  const std::size_t base = r.offset() - r.position();  // absolute offset of msg[0]
  std::size_t pos = r.position();
  // Every pointer must point strictly before the start of the run of labels it ends: offsets
  // then strictly decrease, so no loop, self or forward pointer can be followed.
  std::size_t run_start = pos;
  std::optional<std::size_t> resume;
  std::size_t hops = 0;
  std::size_t wire = 1;
  std::vector<std::string> labels;
  for (;;) {
    if (pos >= msg.size())
      return make_error(Errc::truncated, base + pos, fmt::format("{}: name runs past the end", field));
    const std::uint8_t len = msg[pos];
    if (len == 0) {
      ++pos;
      break;
    }
    switch (len & 0xC0) {
      case 0x00: {
        if (pos + 1 + len > msg.size())
          return make_error(Errc::truncated, base + pos,
                            fmt::format("{}: label of {} octets runs past the end", field, len));
        wire += 1u + len;
        if (wire > kMaxNameLength)
          return make_error(Errc::too_large, base + pos,
                            fmt::format("{}: name longer than {} octets", field, kMaxNameLength));
        const auto* p = msg.data() + pos + 1;
        labels.emplace_back(reinterpret_cast<const char*>(p), len);
        pos += 1u + len;
        break;
      }
      case 0xC0: {
        if (pos + 2 > msg.size())
          return make_error(Errc::truncated, base + pos,
                            fmt::format("{}: compression pointer cut off", field));
        const std::size_t target = (static_cast<std::size_t>(len & 0x3F) << 8) | msg[pos + 1];
        if (!resume) resume = pos + 2;
        if (target >= run_start)
          return make_error(Errc::bad_value, base + pos,
                            fmt::format("{}: compression pointer to {} does not point before {} "
                                        "(loop, self or forward pointer)",
                                        field, base + target, base + run_start));
        if (++hops > kMaxPointerHops)
          return make_error(Errc::too_large, base + pos,
                            fmt::format("{}: more than {} compression pointers", field, kMaxPointerHops));
        pos = target;
        run_start = target;
        break;
      }
      default:
        return make_error(Errc::bad_type, base + pos,
                          fmt::format("{}: label type 0x{:02x} (length octet {}) is not a plain label "
                                      "or pointer; labels are at most {} octets",
                                      field, len & 0xC0, len, kMaxLabelLength));
    }
  }
  if (auto s = r.seek(resume ? *resume : pos, field); !s) return s.error();
  auto made = Name::from_labels(std::move(labels));
  if (!made) return make_error(made.error().code, base + r.position(), made.error().detail);
  return std::move(*made);
}

void NameCompressor::write(ByteWriter& w, const Name& name, bool compress) {
  const auto& labels = name.labels();
  // keys[i]: the lowercased wire form of the suffix starting at label i.
  std::vector<std::string> keys(labels.size());
  std::string acc;
  for (std::size_t i = labels.size(); i-- > 0;) {
    std::string part(1, static_cast<char>(labels[i].size()));
    for (const char c : labels[i]) part.push_back(lower(c));
    acc = part + acc;
    keys[i] = acc;
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (compress) {
      if (auto it = offsets_.find(keys[i]); it != offsets_.end()) {
        w.u16_be(static_cast<std::uint16_t>(0xC000u | it->second));
        return;
      }
    }
    if (w.size() < 0x4000) offsets_.emplace(keys[i], static_cast<std::uint16_t>(w.size()));
    w.u8(static_cast<std::uint8_t>(labels[i].size()));
    w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(labels[i].data()), labels[i].size()));
  }
  w.u8(0);
}

}  // namespace detail
}  // namespace kmslab::protocol::dns
