// Base request / response codecs (§2, §3): the cleartext layouts every version shares.
#include "kms_framing.hpp"
#include "kmslab/protocol/utf16.hpp"

#include <fmt/format.h>

#include <initializer_list>
#include <utility>

namespace kmslab::protocol {

using detail::write_version;

namespace {

constexpr std::size_t kWorkstationBytes = 2 * kKmsWorkstationUnits;

// UTF-8 -> UTF-16 units without terminator, rejecting embedded NULs (the wire form ends at the
// first NUL, so one inside the text would silently truncate it) and names that leave no room
// for the terminator.
Result<std::u16string> to_wire_units(std::string_view text, std::size_t max_units_with_nul,
                                     std::string_view field) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    return make_error(Errc::bad_value, nul, fmt::format("{} contains a NUL character", field));
  auto units = utf8_to_utf16(text);
  if (!units) {
    Error e = units.error();
    e.detail = fmt::format("{}: {}", field, e.detail);
    return e;
  }
  if (units->size() + 1 > max_units_with_nul)
    return make_error(Errc::too_large, 0,
                      fmt::format("{} is {} UTF-16 units; at most {} fit with the NUL terminator",
                                  field, units->size(), max_units_with_nul - 1));
  return units;
}

void write_units(ByteWriter& w, std::u16string_view units) {
  for (char16_t u : units) w.u16(static_cast<std::uint16_t>(u));
  w.u16(0);
}

char16_t unit_at(ByteSpan b, std::size_t i) {
  return static_cast<char16_t>(b[2 * i] | (b[2 * i + 1] << 8));
}

struct U32Field {
  std::uint32_t* out;
  const char* name;
};

// Reads consecutive u32 fields; a short buffer names the field that was cut.
Result<void> read_u32s(ByteReader& r, std::initializer_list<U32Field> fields) {
  for (const U32Field& f : fields) {
    auto v = r.u32(f.name);
    if (!v) return v.error();
    *f.out = *v;
  }
  return {};
}

Result<KmsVersion> read_version(ByteReader& r, std::string_view field) {
  auto minor = r.u16(field);
  if (!minor) return minor.error();
  auto major = r.u16(field);
  if (!major) return major.error();
  return KmsVersion{*major, *minor};
}

}  // namespace

std::string to_string(KmsVersion v) { return fmt::format("{}.{}", v.major, v.minor); }

bool is_supported(KmsVersion v) noexcept {
  return v.minor == 0 && (v.major == 4 || v.major == 5 || v.major == 6);
}

Result<KmsVersion> peek_version(ByteSpan payload) {
  ByteReader r(payload);
  auto v = read_version(r, "version");
  if (!v) return v.error();
  if (!is_supported(*v))
    return make_error(Errc::bad_version, 0,
                      fmt::format("KMS version {} (only 4.0, 5.0, 6.0 exist)", to_string(*v)));
  return *v;
}

Result<Bytes> encode_base_request(const KmsRequest& q) {
  auto name = to_wire_units(q.workstation, kKmsWorkstationUnits, "workstation name");
  if (!name) return name.error();
  const std::size_t used = 2 * (name->size() + 1);
  if (used + q.workstation_tail.size() > kWorkstationBytes)
    return make_error(Errc::too_large, 108,
                      fmt::format("workstation name ({} bytes) plus tail ({} bytes) exceed {} bytes",
                                  used, q.workstation_tail.size(), kWorkstationBytes));
  ByteWriter w(kKmsBaseRequestSize);
  write_version(w, q.version);
  w.u32(q.vm_flag);
  w.u32(q.license_status);
  w.u32(q.binding_expiration_min);
  write_guid(w, q.app_id);
  write_guid(w, q.sku_id);
  write_guid(w, q.kms_count_id);
  write_guid(w, q.cmid);
  w.u32(q.n_policy);
  w.u64(q.client_time);
  write_guid(w, q.previous_cmid);
  write_units(w, *name);
  w.bytes(q.workstation_tail);
  w.zeros(kWorkstationBytes - used - q.workstation_tail.size());
  return std::move(w).take();
}

Result<KmsRequest> decode_base_request(ByteSpan base, std::size_t base_offset) {
  if (base.size() > kKmsBaseRequestSize)
    return make_error(Errc::trailing_data, base_offset + kKmsBaseRequestSize,
                      fmt::format("base request is {} bytes, expected {}", base.size(),
                                  kKmsBaseRequestSize));
  ByteReader r(base, base_offset);
  KmsRequest q;
  auto version = read_version(r, "version");
  if (!version) return version.error();
  q.version = *version;
  if (auto ok = read_u32s(r, {{&q.vm_flag, "VM flag"},
                              {&q.license_status, "license status"},
                              {&q.binding_expiration_min, "binding expiration"}});
      !ok)
    return ok.error();
  for (auto [out, name] : {std::pair{&q.app_id, "application ID"}, std::pair{&q.sku_id, "SKU ID"},
                           std::pair{&q.kms_count_id, "KMS count ID"}, std::pair{&q.cmid, "CMID"}}) {
    auto g = read_guid(r, name);
    if (!g) return g.error();
    *out = *g;
  }
  if (auto ok = read_u32s(r, {{&q.n_policy, "N policy"}}); !ok) return ok.error();
  auto time = r.u64("client time");
  if (!time) return time.error();
  q.client_time = *time;
  auto previous = read_guid(r, "previous CMID");
  if (!previous) return previous.error();
  q.previous_cmid = *previous;
  auto field = r.bytes(kWorkstationBytes, "workstation name");
  if (!field) return field.error();

  std::u16string units;
  std::size_t n = 0;
  while (n < kKmsWorkstationUnits && unit_at(*field, n) != u'\0') units.push_back(unit_at(*field, n++));
  q.workstation = utf16_to_utf8(units);
  if (n < kKmsWorkstationUnits) {
    ByteSpan tail = field->subspan(2 * (n + 1));
    while (!tail.empty() && tail.back() == 0) tail = tail.first(tail.size() - 1);
    q.workstation_tail.assign(tail.begin(), tail.end());
  }
  return q;
}

Result<Bytes> encode_base_response(const KmsResponse& s) {
  auto epid = to_wire_units(s.epid, kKmsMaxEpidUnits, "ePID");
  if (!epid) return epid.error();
  ByteWriter w(44 + 2 * kKmsMaxEpidUnits);
  write_version(w, s.version);
  w.u32(static_cast<std::uint32_t>(2 * (epid->size() + 1)));
  write_units(w, *epid);
  write_guid(w, s.cmid);
  w.u64(s.client_time);
  w.u32(s.current_count);
  w.u32(s.activation_interval_min);
  w.u32(s.renewal_interval_min);
  return std::move(w).take();
}

Result<KmsResponse> read_base_response(ByteReader& r) {
  KmsResponse s;
  auto version = read_version(r, "response version");
  if (!version) return version.error();
  s.version = *version;
  const std::size_t size_at = r.offset();
  auto size = r.u32("ePID size");
  if (!size) return size.error();
  const std::uint32_t p = *size;
  if (p % 2 != 0)
    return make_error(Errc::bad_length, size_at, fmt::format("ePID size {} is odd (UTF-16)", p));
  if (p > 2 * kKmsMaxEpidUnits)
    return make_error(Errc::too_large, size_at,
                      fmt::format("ePID size {} exceeds {} bytes", p, 2 * kKmsMaxEpidUnits));
  if (p == 0)
    return make_error(Errc::bad_value, size_at, "ePID size 0 leaves no room for the NUL terminator");
  const std::size_t epid_at = r.offset();
  auto bytes = r.bytes(p, "ePID");
  if (!bytes) return bytes.error();
  const std::size_t units = p / 2;
  if (unit_at(*bytes, units - 1) != u'\0')
    return make_error(Errc::bad_value, epid_at + p - 2, "ePID is not NUL-terminated");
  std::u16string text;
  for (std::size_t i = 0; i + 1 < units; ++i) {
    const char16_t u = unit_at(*bytes, i);
    if (u == u'\0')
      return make_error(Errc::bad_value, epid_at + 2 * i,
                        fmt::format("ePID has a NUL at unit {} before its terminator", i));
    text.push_back(u);
  }
  s.epid = utf16_to_utf8(text);
  auto cmid = read_guid(r, "CMID");
  if (!cmid) return cmid.error();
  s.cmid = *cmid;
  auto time = r.u64("client time");
  if (!time) return time.error();
  s.client_time = *time;
  if (auto ok = read_u32s(r, {{&s.current_count, "current count"},
                              {&s.activation_interval_min, "activation interval"},
                              {&s.renewal_interval_min, "renewal interval"}});
      !ok)
    return ok.error();
  return s;
}

}  // namespace kmslab::protocol
