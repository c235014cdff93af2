#include "kmslab/protocol/epid.hpp"

#include "kmslab/protocol/utf16.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace kmslab::protocol {

namespace {

using namespace std::chrono;

struct LcidTag {
  std::uint32_t lcid;
  std::string_view tag;
};

// Windows LCIDs a KMS host is likely to report (sorted). Not exhaustive on purpose: an LCID
// outside it is reported as a warning, not an error.
constexpr std::array<LcidTag, 80> kLcids{{
    {1025, "ar-SA"}, {1026, "bg-BG"}, {1027, "ca-ES"}, {1028, "zh-TW"}, {1029, "cs-CZ"},
    {1030, "da-DK"}, {1031, "de-DE"}, {1032, "el-GR"}, {1033, "en-US"}, {1035, "fi-FI"},
    {1036, "fr-FR"}, {1037, "he-IL"}, {1038, "hu-HU"}, {1039, "is-IS"}, {1040, "it-IT"},
    {1041, "ja-JP"}, {1042, "ko-KR"}, {1043, "nl-NL"}, {1044, "nb-NO"}, {1045, "pl-PL"},
    {1046, "pt-BR"}, {1048, "ro-RO"}, {1049, "ru-RU"}, {1050, "hr-HR"}, {1051, "sk-SK"},
    {1052, "sq-AL"}, {1053, "sv-SE"}, {1054, "th-TH"}, {1055, "tr-TR"}, {1056, "ur-PK"},
    {1057, "id-ID"}, {1058, "uk-UA"}, {1059, "be-BY"}, {1060, "sl-SI"}, {1061, "et-EE"},
    {1062, "lv-LV"}, {1063, "lt-LT"}, {1064, "tg-Cyrl-TJ"}, {1065, "fa-IR"}, {1066, "vi-VN"},
    {1067, "hy-AM"}, {1068, "az-Latn-AZ"}, {1069, "eu-ES"}, {1071, "mk-MK"}, {1078, "af-ZA"},
    {1079, "ka-GE"}, {1080, "fo-FO"}, {1081, "hi-IN"}, {1086, "ms-MY"}, {1087, "kk-KZ"},
    {1088, "ky-KG"}, {1089, "sw-KE"}, {1091, "uz-Latn-UZ"}, {1092, "tt-RU"}, {1093, "bn-IN"},
    {1094, "pa-IN"}, {1095, "gu-IN"}, {1097, "ta-IN"}, {1098, "te-IN"}, {1099, "kn-IN"},
    {1100, "ml-IN"}, {1102, "mr-IN"}, {1106, "cy-GB"}, {1110, "gl-ES"}, {2052, "zh-CN"},
    {2055, "de-CH"}, {2057, "en-GB"}, {2058, "es-MX"}, {2060, "fr-BE"}, {2067, "nl-BE"},
    {2070, "pt-PT"}, {2074, "sr-Latn-CS"}, {3076, "zh-HK"}, {3081, "en-AU"}, {3082, "es-ES"},
    {3084, "fr-CA"}, {4100, "zh-SG"}, {4105, "en-CA"}, {9242, "sr-Latn-RS"}, {10266, "sr-Cyrl-RS"},
}};
static_assert(std::is_sorted(kLcids.begin(), kLcids.end(),
                             [](const LcidTag& a, const LcidTag& b) { return a.lcid < b.lcid; }));

constexpr std::array<std::uint32_t, kLcids.size()> lcid_values() {
  std::array<std::uint32_t, kLcids.size()> out{};
  for (std::size_t i = 0; i < kLcids.size(); ++i) out[i] = kLcids[i].lcid;
  return out;
}
constexpr auto kLcidValues = lcid_values();

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads the ePID's fixed shape left to right; every error names the field and the offset.
class EpidCursor {
 public:
  explicit EpidCursor(std::string_view text) : text_(text) {}

  // min..max decimal digits; more digits than max is a shape error, not a silent split.
  Result<std::uint32_t> digits(std::size_t min, std::size_t max, std::string_view field) {
    const std::size_t start = pos_;
    std::uint32_t value = 0;
    while (pos_ < text_.size() && is_digit(text_[pos_]) && pos_ - start < max) {
      value = value * 10 + static_cast<std::uint32_t>(text_[pos_] - '0');
      ++pos_;
    }
    const std::size_t n = pos_ - start;
    if (n == max && pos_ < text_.size() && is_digit(text_[pos_]))
      return make_error(Errc::bad_value, pos_, fmt::format("{} has more than {} digits", field, max));
    if (n < min) {
      if (pos_ >= text_.size())
        return make_error(Errc::truncated, pos_, fmt::format("ePID ends inside {}", field));
      return make_error(Errc::bad_value, pos_,
                        fmt::format("expected a digit in {}, got '{}'", field, here()));
    }
    return value;
  }

  Result<void> separator(char sep, std::string_view after) {
    if (pos_ >= text_.size())
      return make_error(Errc::truncated, pos_, fmt::format("ePID ends after {}", after));
    if (text_[pos_] != sep)
      return make_error(Errc::bad_value, pos_,
                        fmt::format("expected '{}' after {}, got '{}'", sep, after, here()));
    ++pos_;
    return {};
  }

  Result<void> end() const {
    if (pos_ != text_.size())
      return make_error(Errc::trailing_data, pos_,
                        fmt::format("{} characters after the date", text_.size() - pos_));
    return {};
  }

 private:
  // The character at pos_ for a message: the whole UTF-8 sequence (an ePID comes off the wire as
  // UTF-16, so it may hold any character), a stray byte escaped.
  std::string here() const {
    return escape_text(text_.substr(pos_, std::max<std::size_t>(1, utf8_sequence_length(text_, pos_))));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

bool is_leap(std::uint32_t year) noexcept {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

std::uint32_t days_in_year(std::uint32_t year) noexcept { return is_leap(year) ? 366 : 365; }

std::string format_date(const Date& d) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                     static_cast<unsigned>(d.day()));
}

std::string known_builds() {
  std::string out;
  for (const HostBuild& h : host_builds()) out += (out.empty() ? "" : ", ") + std::to_string(h.build);
  return out;
}

}  // namespace

std::string Epid::to_string() const {
  return fmt::format("{:05}-{:05}-{:03}-{:06}-{:02}-{}-{}.{:04}-{:03}{:04}", platform_id, group_id,
                     key_id / 1'000'000, key_id % 1'000'000, channel, lcid, build, build_suffix,
                     day_of_year, year);
}

Result<Epid> parse_epid(std::string_view text) {
  if (text.size() > kMaxEpidLength)
    return make_error(Errc::too_large, kMaxEpidLength,
                      fmt::format("ePID is {} characters, at most {} fit a KMS response",
                                  text.size(), kMaxEpidLength));
  EpidCursor c(text);
  Epid e;
  // Each step: a field, then its separator; the macro-free form keeps errors typed.
  auto field = [&](std::uint32_t& out, std::size_t min, std::size_t max, std::string_view name,
                   char sep) -> Result<void> {
    auto v = c.digits(min, max, name);
    if (!v) return v.error();
    out = *v;
    if (sep != '\0') return c.separator(sep, name);
    return {};
  };
  std::uint32_t key_hi = 0;
  std::uint32_t key_lo = 0;
  std::uint32_t date = 0;
  if (auto r = field(e.platform_id, 5, 5, "platform id", '-'); !r) return r.error();
  if (auto r = field(e.group_id, 5, 5, "group id", '-'); !r) return r.error();
  if (auto r = field(key_hi, 3, 3, "key id (first 3 digits)", '-'); !r) return r.error();
  if (auto r = field(key_lo, 6, 6, "key id (last 6 digits)", '-'); !r) return r.error();
  if (auto r = field(e.channel, 2, 2, "channel", '-'); !r) return r.error();
  if (auto r = field(e.lcid, 1, 5, "LCID", '-'); !r) return r.error();
  if (auto r = field(e.build, 1, 5, "build", '.'); !r) return r.error();
  if (auto r = field(e.build_suffix, 4, 4, "build suffix", '-'); !r) return r.error();
  if (auto r = field(date, 7, 7, "activation date", '\0'); !r) return r.error();
  if (auto r = c.end(); !r) return r.error();
  e.key_id = key_hi * 1'000'000 + key_lo;
  e.day_of_year = date / 10'000;
  e.year = date % 10'000;
  return e;
}

std::string_view to_string(EpidField field) noexcept {
  switch (field) {
    case EpidField::platform_id: return "platform_id";
    case EpidField::group_id: return "group_id";
    case EpidField::key_id: return "key_id";
    case EpidField::channel: return "channel";
    case EpidField::lcid: return "lcid";
    case EpidField::build: return "build";
    case EpidField::build_suffix: return "build_suffix";
    case EpidField::day_of_year: return "day_of_year";
    case EpidField::year: return "year";
    case EpidField::date: return "date";
  }
  return "unknown";
}

std::string_view to_string(Severity severity) noexcept {
  return severity == Severity::error ? "error" : "warning";
}

bool EpidValidation::valid() const noexcept {
  return std::none_of(findings.begin(), findings.end(),
                      [](const EpidFinding& f) { return f.severity == Severity::error; });
}

bool EpidValidation::has(EpidField field) const noexcept {
  return std::any_of(findings.begin(), findings.end(),
                     [&](const EpidFinding& f) { return f.field == field; });
}

std::optional<Date> epid_date(const Epid& epid) noexcept {
  if (epid.year < 1 || epid.year > 9999) return std::nullopt;
  if (epid.day_of_year < 1 || epid.day_of_year > days_in_year(epid.year)) return std::nullopt;
  const sys_days first{std::chrono::year{static_cast<int>(epid.year)} / January / 1};
  return Date{first + days{epid.day_of_year - 1}};
}

EpidValidation validate_epid(const Epid& epid, sys_days today) {
  EpidValidation v;
  auto add = [&](EpidField f, Severity s, std::string msg) {
    v.findings.push_back({f, s, std::move(msg)});
  };

  v.host = find_host_build(epid.build);
  if (v.host == nullptr) {
    add(EpidField::build, Severity::error,
        fmt::format("unknown host build {} (known: {})", epid.build, known_builds()));
    const bool platform_known = std::any_of(host_builds().begin(), host_builds().end(),
        [&](const HostBuild& h) { return h.platform_id == epid.platform_id; });
    if (!platform_known)
      add(EpidField::platform_id, Severity::error, fmt::format("unknown platform id {:05}", epid.platform_id));
  } else if (v.host->platform_id != epid.platform_id) {
    add(EpidField::platform_id, Severity::error,
        fmt::format("platform id {:05} does not match build {} (platform {:05})", epid.platform_id,
                    epid.build, v.host->platform_id));
  }

  if (!is_known_group_id(epid.group_id)) {
    add(EpidField::group_id, Severity::error, fmt::format("unknown CSVLK group id {:05}", epid.group_id));
  } else {
    v.csvlk = find_csvlk(epid.group_id, epid.key_id);
    if (v.csvlk == nullptr) {
      std::string ranges;
      for (const Csvlk& c : csvlks())
        if (c.group_id == epid.group_id)
          ranges += fmt::format("{}[{}, {})", ranges.empty() ? "" : ", ", c.key_id_min, c.key_id_end);
      add(EpidField::key_id, Severity::error,
          fmt::format("key id {:09} is outside every key-id range of group {:05}: {}", epid.key_id,
                      epid.group_id, ranges));
    }
  }

  if (epid.channel != kEpidChannel)
    add(EpidField::channel, Severity::error, fmt::format("channel is {:02}, expected 03", epid.channel));
  if (epid.build_suffix != 0)
    add(EpidField::build_suffix, Severity::error,
        fmt::format("build suffix is .{:04}, expected .0000", epid.build_suffix));

  if (epid.lcid == 0 || epid.lcid > 0xFFFF)
    add(EpidField::lcid, Severity::error, fmt::format("LCID {} is outside 1..65535", epid.lcid));
  else if (lcid_tag(epid.lcid).empty())
    add(EpidField::lcid, Severity::warning, fmt::format("LCID {} is not a common Windows locale", epid.lcid));

  const auto today_ymd = year_month_day{today};
  const auto this_year = static_cast<std::uint32_t>(static_cast<int>(today_ymd.year()));
  std::uint32_t min_year = 9999;
  if (v.csvlk != nullptr) {
    min_year = static_cast<std::uint32_t>(static_cast<int>(v.csvlk->release.year()));
  } else {
    for (const Csvlk& c : csvlks())
      min_year = std::min(min_year, static_cast<std::uint32_t>(static_cast<int>(c.release.year())));
  }
  const bool year_ok = epid.year >= min_year && epid.year <= this_year;
  if (!year_ok)
    add(EpidField::year, Severity::error,
        fmt::format("year {} is outside [{}, {}] ({} release year .. today)", epid.year, min_year,
                    this_year, v.csvlk ? "CSVLK" : "earliest CSVLK"));
  const std::uint32_t max_day = (epid.year >= 1 && epid.year <= 9999) ? days_in_year(epid.year) : 366;
  if (epid.day_of_year < 1 || epid.day_of_year > max_day)
    add(EpidField::day_of_year, Severity::error,
        fmt::format("day of year {:03} is outside 001..{} for {}", epid.day_of_year, max_day, epid.year));

  if (const auto d = epid_date(epid); d && year_ok) {
    sys_days earliest{};
    std::string_view what;
    if (v.csvlk != nullptr) {
      earliest = sys_days{v.csvlk->release};
      what = "the CSVLK release";
    }
    if (v.host != nullptr && sys_days{v.host->release} > earliest) {
      earliest = sys_days{v.host->release};
      what = "the host build's release";
    }
    if (!what.empty() && sys_days{*d} < earliest)
      add(EpidField::date, Severity::warning,
          fmt::format("activation date {} is before {} ({})", format_date(*d), what,
                      format_date(Date{earliest})));
    if (sys_days{*d} > today)
      add(EpidField::date, Severity::warning,
          fmt::format("activation date {} is after today ({})", format_date(*d), format_date(today_ymd)));
  }
  return v;
}

Result<Epid> generate_epid(const EpidRequest& request, std::mt19937_64& rng) {
  const HostBuild* host = find_host_build(request.host_build);
  if (host == nullptr)
    return make_error(Errc::bad_value, 0,
                      fmt::format("unknown host build {} (known: {})", request.host_build, known_builds()));
  if (request.csvlk_index >= csvlks().size())
    return make_error(Errc::bad_value, 0,
                      fmt::format("CSVLK index {} out of range (0..{})", request.csvlk_index, csvlks().size() - 1));
  if (request.lcid == 0 || request.lcid > 0xFFFF)
    return make_error(Errc::bad_value, 0, fmt::format("LCID {} is outside 1..65535", request.lcid));
  const Csvlk& csvlk = csvlks()[request.csvlk_index];
  const sys_days earliest = std::max(sys_days{csvlk.release}, sys_days{host->release});
  if (request.now < earliest)
    return make_error(Errc::bad_value, 0,
                      fmt::format("now ({}) is before the earliest activation date {}",
                                  format_date(Date{request.now}), format_date(Date{earliest})));

  std::uniform_int_distribution<std::uint32_t> key(csvlk.key_id_min, csvlk.key_id_end - 1);
  std::uniform_int_distribution<std::int64_t> offset(0, (request.now - earliest).count());
  Epid e;
  e.platform_id = host->platform_id;
  e.group_id = csvlk.group_id;
  e.key_id = key(rng);
  e.channel = kEpidChannel;
  e.lcid = request.lcid;
  e.build = host->build;
  e.build_suffix = 0;
  const sys_days date = earliest + days{offset(rng)};
  const year_month_day ymd{date};
  const sys_days first{ymd.year() / January / 1};
  e.year = static_cast<std::uint32_t>(static_cast<int>(ymd.year()));
  e.day_of_year = static_cast<std::uint32_t>((date - first).count() + 1);
  return e;
}

std::span<const std::uint32_t> common_lcids() noexcept { return kLcidValues; }

std::string_view lcid_tag(std::uint32_t lcid) noexcept {
  for (const LcidTag& t : kLcids)
    if (t.lcid == lcid) return t.tag;
  return {};
}

std::string describe_epid(const Epid& epid) {
  std::string out;
  if (const HostBuild* h = find_host_build(epid.build))
    out = fmt::format("host {} (build {}, platform {:05})", h->name, epid.build, epid.platform_id);
  else
    out = fmt::format("host build {} (not in kmslab's tables, platform {:05})", epid.build, epid.platform_id);
  if (const Csvlk* c = find_csvlk(epid.group_id, epid.key_id))
    out += fmt::format("; key group {:05} = {} CSVLK (key id {:09})", epid.group_id, c->name, epid.key_id);
  else
    out += fmt::format("; key group {:05} (unknown CSVLK, key id {:09})", epid.group_id, epid.key_id);
  if (const auto tag = lcid_tag(epid.lcid); !tag.empty())
    out += fmt::format("; LCID {} ({})", epid.lcid, tag);
  else
    out += fmt::format("; LCID {}", epid.lcid);
  if (const auto d = epid_date(epid))
    out += fmt::format("; activated {}", format_date(*d));
  else
    out += fmt::format("; activation date invalid (day {} of {})", epid.day_of_year, epid.year);
  return out;
}

}  // namespace kmslab::protocol
