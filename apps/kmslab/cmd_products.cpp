// `kmslab products [filter]`: the product ID tables (SKUs, KMS count IDs, host builds, CSVLKs)
// with where each row comes from, so probe users can find the names and GUIDs to ask for.
#include "commands.hpp"

#include "kmslab/protocol/kms_ids.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::cli {

namespace {

namespace proto = kmslab::protocol;

struct ProductsOptions {
  std::string filter;
  bool json = false;
  bool kms_ids = false;
  bool hosts = false;
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool icontains(std::string_view text, std::string_view needle) {
  if (needle.empty()) return true;
  return std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return lower(a) == lower(b); }) != text.end();
}

// A row matches when the filter is part of its name or of its GUID text ("{...}" allowed).
bool matches(std::string_view filter, std::string_view name, const proto::Guid* guid) {
  std::string_view f = filter;
  if (f.size() >= 2 && f.front() == '{' && f.back() == '}') f = f.substr(1, f.size() - 2);
  return icontains(name, f) || (guid != nullptr && icontains(guid->to_string(), f));
}

std::string date_text(const proto::Date& d) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                     static_cast<unsigned>(d.day()));
}

std::string source_text(std::string_view provenance, bool unverified, std::vector<std::string>& notes) {
  if (!unverified) return std::string(provenance);
  notes.emplace_back(provenance);
  return fmt::format("unverified [{}]", notes.size());
}

void print_notes(const std::vector<std::string>& notes) {
  if (notes.empty()) return;
  fmt::print("\n");
  for (std::size_t i = 0; i < notes.size(); ++i) fmt::print("[{}] {}\n", i + 1, notes[i]);
}

std::string group_text(std::optional<proto::ProductGroup> g) {
  return g ? std::string(proto::to_string(*g)) : std::string("?");
}

int list_skus(const ProductsOptions& opt) {
  std::vector<const proto::Sku*> rows;
  for (const auto& s : proto::skus())
    if (matches(opt.filter, s.name, &s.guid)) rows.push_back(&s);
  if (rows.empty()) return -1;
  if (opt.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto* s : rows) {
      const auto* k = proto::kms_count_id_of(*s);
      const auto* a = proto::application_of(*s);
      arr.push_back({{"name", s->name},
                     {"sku_id", s->guid.to_string()},
                     {"kms_count_id", k ? nlohmann::json(k->guid.to_string()) : nlohmann::json(nullptr)},
                     {"kms_count_id_name", k ? nlohmann::json(k->name) : nlohmann::json(nullptr)},
                     {"application_id", a ? nlohmann::json(a->guid.to_string()) : nlohmann::json(nullptr)},
                     {"application", a ? nlohmann::json(a->name) : nlohmann::json(nullptr)},
                     {"group", group_text(proto::product_group(*s))},
                     {"protocol", s->protocol},
                     {"n_policy", s->n_policy},
                     {"unverified", s->unverified},
                     {"provenance", s->provenance}});
    }
    fmt::print("{}\n", arr.dump(2));
    return kExitOk;
  }
  std::size_t name_w = 4, kms_w = 12;
  for (const auto* s : rows) {
    name_w = std::max(name_w, s->name.size());
    if (const auto* k = proto::kms_count_id_of(*s)) kms_w = std::max(kms_w, k->name.size());
  }
  std::vector<std::string> notes;
  fmt::print("{:<{}}  {:<36}  {:<{}}  {:<14}  {:>5}  {:>2}  {}\n", "SKU", name_w, "SKU ID", "KMS count ID",
             kms_w, "group", "proto", "N", "source");
  for (const auto* s : rows) {
    const auto* k = proto::kms_count_id_of(*s);
    fmt::print("{:<{}}  {}  {:<{}}  {:<14}  {:>5}  {:>2}  {}\n", s->name, name_w, s->guid.to_string(),
               k ? k->name : std::string_view("(unknown)"), kms_w, group_text(proto::product_group(*s)),
               s->protocol ? fmt::format("v{}", s->protocol) : std::string("?"),
               s->n_policy ? std::to_string(s->n_policy) : std::string("?"),
               source_text(s->provenance, s->unverified, notes));
  }
  print_notes(notes);
  return kExitOk;
}

int list_kms_ids(const ProductsOptions& opt) {
  std::vector<const proto::KmsCountId*> rows;
  for (const auto& k : proto::kms_count_ids())
    if (matches(opt.filter, k.name, &k.guid)) rows.push_back(&k);
  if (rows.empty()) return -1;
  if (opt.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto* k : rows) {
      const auto* a = proto::application_of(*k);
      const auto* c = proto::csvlk_of(*k);
      arr.push_back({{"name", k->name},
                     {"kms_count_id", k->guid.to_string()},
                     {"application", a ? nlohmann::json(a->name) : nlohmann::json(nullptr)},
                     {"group", group_text(proto::product_group(*k))},
                     {"n_policy", k->n_policy},
                     {"min_protocol", k->min_protocol},
                     {"retail", k->retail},
                     {"preview", k->preview},
                     {"csvlk", c ? nlohmann::json(c->name) : nlohmann::json(nullptr)},
                     {"unverified", k->unverified},
                     {"provenance", k->provenance}});
    }
    fmt::print("{}\n", arr.dump(2));
    return kExitOk;
  }
  std::size_t name_w = 12;
  for (const auto* k : rows) name_w = std::max(name_w, k->name.size());
  std::vector<std::string> notes;
  fmt::print("{:<{}}  {:<36}  {:<14}  {:>2}  {:>5}  {:<14}  {:<24}  {}\n", "KMS count ID", name_w, "GUID", "group",
             "N", "proto", "flags", "CSVLK", "source");
  for (const auto* k : rows) {
    const auto* c = proto::csvlk_of(*k);
    std::string flags = k->retail ? "retail" : "";
    if (k->preview) flags += flags.empty() ? "preview" : ",preview";
    fmt::print("{:<{}}  {}  {:<14}  {:>2}  {:>5}  {:<14}  {:<24}  {}\n", k->name, name_w, k->guid.to_string(),
               group_text(proto::product_group(*k)), k->n_policy, fmt::format(">=v{}", k->min_protocol),
               flags.empty() ? "-" : flags, c ? c->name : std::string_view("?"),
               source_text(k->provenance, k->unverified, notes));
  }
  print_notes(notes);
  return kExitOk;
}

int list_hosts(const ProductsOptions& opt) {
  std::vector<const proto::HostBuild*> hosts;
  for (const auto& h : proto::host_builds())
    if (matches(opt.filter, fmt::format("{} {}", h.build, h.name), nullptr)) hosts.push_back(&h);
  std::vector<const proto::Csvlk*> keys;
  for (const auto& c : proto::csvlks())
    if (matches(opt.filter, c.name, nullptr)) keys.push_back(&c);
  if (hosts.empty() && keys.empty()) return -1;
  if (opt.json) {
    nlohmann::json jh = nlohmann::json::array();
    for (const auto* h : hosts)
      jh.push_back({{"build", h->build}, {"platform_id", h->platform_id}, {"ndr64", h->ndr64()},
                    {"release", date_text(h->release)}, {"name", h->name}, {"provenance", h->provenance}});
    nlohmann::json jc = nlohmann::json::array();
    for (const auto* c : keys)
      jc.push_back({{"name", c->name}, {"group_id", c->group_id}, {"key_id_min", c->key_id_min},
                    {"key_id_end", c->key_id_end}, {"release", date_text(c->release)},
                    {"fixed_epid", c->fixed_epid}, {"provenance", c->provenance}});
    fmt::print("{}\n", nlohmann::json{{"host_builds", jh}, {"csvlks", jc}}.dump(2));
    return kExitOk;
  }
  if (!hosts.empty()) {
    fmt::print("{:>5}  {:>8}  {:<5}  {:<10}  {:<32}  {}\n", "build", "platform", "NDR64", "release", "host OS", "source");
    for (const auto* h : hosts)
      fmt::print("{:>5}  {:>8}  {:<5}  {:<10}  {:<32}  {}\n", h->build, fmt::format("{:05}", h->platform_id),
                 h->ndr64() ? "yes" : "no", date_text(h->release), h->name, h->provenance);
  }
  if (!keys.empty()) {
    if (!hosts.empty()) fmt::print("\n");
    fmt::print("{:<24}  {:>5}  {:<23}  {:<10}  {}\n", "CSVLK", "group", "key ids", "release", "source");
    for (const auto* c : keys)
      fmt::print("{:<24}  {:05}  {:<23}  {:<10}  {}\n", c->name, c->group_id,
                 fmt::format("[{}, {})", c->key_id_min, c->key_id_end), date_text(c->release), c->provenance);
  }
  return kExitOk;
}

int run_products(const ProductsOptions& opt) {
  if (opt.kms_ids && opt.hosts) {
    fmt::print(stderr, "kmslab products: choose one of --kms-ids and --hosts\n");
    return kExitUsage;
  }
  const int rc = opt.hosts ? list_hosts(opt) : opt.kms_ids ? list_kms_ids(opt) : list_skus(opt);
  if (rc < 0) {
    fmt::print(stderr, "kmslab products: nothing matches '{}'\n", opt.filter);
    return kExitProblem;
  }
  return rc;
}

}  // namespace

void add_products_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<ProductsOptions>();
  CLI::App* sub = app.add_subcommand(
      "products", "List KMS product IDs (SKUs, KMS count IDs, host builds, CSVLKs) with their sources");
  sub->add_option("filter", opt->filter, "Part of a name or GUID (case-insensitive)");
  sub->add_flag("--json", opt->json, "Print JSON");
  sub->add_flag("--kms-ids", opt->kms_ids, "List KMS count IDs instead of SKUs");
  sub->add_flag("--hosts", opt->hosts, "List emulated host builds and CSVLKs instead of SKUs");
  sub->callback([opt, &action] { action = [opt] { return run_products(*opt); }; });
}

}  // namespace kmslab::cli
