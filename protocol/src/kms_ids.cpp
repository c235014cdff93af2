#include "kmslab/protocol/kms_ids.hpp"

#include <algorithm>

namespace kmslab::protocol {

namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool icontains(std::string_view text, std::string_view needle) noexcept {
  if (needle.size() > text.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i)
    if (iequals(text.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class Row>
const Row* by_guid(std::span<const Row> rows, const Guid& guid) noexcept {
  for (const Row& r : rows)
    if (r.guid == guid) return &r;
  return nullptr;
}

template <class Row>
NameMatches<Row> by_name(std::span<const Row> rows, std::string_view query) {
  NameMatches<Row> out;
  query = trim(query);
  if (query.empty()) return out;
  const auto collect = [&](MatchKind kind, auto&& pred) {
    for (const Row& r : rows)
      if (pred(r.name)) out.matches.push_back(&r);
    if (!out.matches.empty()) out.kind = kind;
    return !out.matches.empty();
  };
  if (collect(MatchKind::exact, [&](std::string_view n) { return iequals(n, query); })) return out;
  if (collect(MatchKind::prefix, [&](std::string_view n) { return istarts_with(n, query); })) return out;
  collect(MatchKind::substring, [&](std::string_view n) { return icontains(n, query); });
  return out;
}

template <class T>
const T* at(std::span<const T> rows, std::uint16_t index) noexcept {
  return index < rows.size() ? &rows[index] : nullptr;
}

}  // namespace

const Application* find_application(const Guid& guid) noexcept { return by_guid(applications(), guid); }
const KmsCountId* find_kms_count_id(const Guid& guid) noexcept { return by_guid(kms_count_ids(), guid); }
const Sku* find_sku(const Guid& guid) noexcept { return by_guid(skus(), guid); }

const HostBuild* find_host_build(std::uint32_t build) noexcept {
  for (const HostBuild& h : host_builds())
    if (h.build == build) return &h;
  return nullptr;
}

bool is_known_group_id(std::uint32_t group_id) noexcept {
  return std::any_of(csvlks().begin(), csvlks().end(),
                     [&](const Csvlk& c) { return c.group_id == group_id; });
}

const Csvlk* find_csvlk(std::uint32_t group_id, std::uint32_t key_id) noexcept {
  for (const Csvlk& c : csvlks())
    if (c.group_id == group_id && c.contains_key_id(key_id)) return &c;
  return nullptr;
}

const Application* application_of(const Sku& sku) noexcept { return at(applications(), sku.app); }
const Application* application_of(const KmsCountId& id) noexcept { return at(applications(), id.app); }
const KmsCountId* kms_count_id_of(const Sku& sku) noexcept { return at(kms_count_ids(), sku.kms_count_id); }
const Csvlk* csvlk_of(const KmsCountId& id) noexcept { return at(csvlks(), id.csvlk); }

std::string_view to_string(MatchKind kind) noexcept {
  switch (kind) {
    case MatchKind::none: return "none";
    case MatchKind::exact: return "exact";
    case MatchKind::prefix: return "prefix";
    case MatchKind::substring: return "substring";
  }
  return "none";
}

NameMatches<Sku> find_skus_by_name(std::string_view query) { return by_name(skus(), query); }
NameMatches<KmsCountId> find_kms_count_ids_by_name(std::string_view query) {
  return by_name(kms_count_ids(), query);
}
NameMatches<Application> find_applications_by_name(std::string_view query) {
  return by_name(applications(), query);
}

NameMatches<Sku> find_skus(std::string_view name_or_guid) {
  if (auto guid = Guid::parse(trim(name_or_guid))) {
    NameMatches<Sku> out;
    if (const Sku* s = find_sku(*guid)) {
      out.kind = MatchKind::exact;
      out.matches.push_back(s);
    }
    return out;
  }
  return find_skus_by_name(name_or_guid);
}

std::string_view to_string(ProductGroup group) noexcept {
  switch (group) {
    case ProductGroup::windows_client: return "Windows client";
    case ProductGroup::windows_server: return "Windows Server";
    case ProductGroup::office: return "Office";
  }
  return "unknown";
}

std::optional<ProductGroup> product_group(const Guid& app, std::uint32_t n_policy) noexcept {
  const Application* a = find_application(app);
  if (a == nullptr) return std::nullopt;
  // Index 0 is the Windows application in vlmcsd's data; the others are the Office ones.
  if (a != &applications()[0]) return ProductGroup::office;
  if (n_policy == 0) return std::nullopt;
  // The N-policy split is the one a KMS host applies: 25 for client OS, 5 for server OS.
  return n_policy >= 25 ? ProductGroup::windows_client : ProductGroup::windows_server;
}

std::optional<ProductGroup> product_group(const Sku& sku) noexcept {
  const Application* a = application_of(sku);
  return a ? product_group(a->guid, sku.n_policy) : std::nullopt;
}

std::optional<ProductGroup> product_group(const KmsCountId& id) noexcept {
  const Application* a = application_of(id);
  return a ? product_group(a->guid, id.n_policy) : std::nullopt;
}

std::vector<const Sku*> skus_in_group(ProductGroup group) {
  std::vector<const Sku*> out;
  for (const Sku& s : skus())
    if (product_group(s) == group) out.push_back(&s);
  return out;
}

}  // namespace kmslab::protocol
