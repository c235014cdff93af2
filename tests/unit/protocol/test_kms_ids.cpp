#include "kmslab/protocol/kms_ids.hpp"
#include "kms_exchange_support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace kmslab::protocol {
namespace {

using test::guid;

// --- the compiled tables are the data file -------------------------------------------------

struct DumpRow {
  std::string guid;
  std::string name;
  std::string fields;
};

// Rows of one "## <section>" of data/kms-ids.txt, tab-separated "index guid name fields".
std::vector<DumpRow> dump_section(const std::string& section) {
  std::ifstream in(std::string(KMSLAB_SOURCE_DIR) + "/data/kms-ids.txt");
  EXPECT_TRUE(in) << "data/kms-ids.txt missing";
  std::vector<DumpRow> rows;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      inside = line == "## " + section;
      continue;
    }
    if (!inside || line.empty()) continue;
    std::istringstream ss(line);
    std::string idx;
    DumpRow r;
    std::getline(ss, idx, '\t');
    std::getline(ss, r.guid, '\t');
    std::getline(ss, r.name, '\t');
    std::getline(ss, r.fields);
    rows.push_back(r);
  }
  return rows;
}

std::string field(const std::string& fields, const std::string& key) {
  const auto at = fields.find(key + "=");
  if (at == std::string::npos) return {};
  const auto start = at + key.size() + 1;
  return fields.substr(start, fields.find(' ', start) - start);
}

TEST(KmsIds, TableSizesMatchTheKmdHeader) {
  // "counts(app,kms,sku,hostbuild)=(3, 29, 202, 6)", csvlk_count=6, plus 6 unverified SKUs.
  EXPECT_EQ(applications().size(), 3u);
  EXPECT_EQ(kms_count_ids().size(), 29u);
  EXPECT_EQ(skus().size(), 202u + 6u);
  EXPECT_EQ(host_builds().size(), 6u);
  EXPECT_EQ(csvlks().size(), 6u);
}

TEST(KmsIds, KmsCountIdsEqualTheDataFile) {
  const auto rows = dump_section("KMS count IDs (CSVLK groups)");
  ASSERT_EQ(rows.size(), kms_count_ids().size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const KmsCountId& k = kms_count_ids()[i];
    EXPECT_EQ(k.guid.to_string(), rows[i].guid) << i;
    EXPECT_EQ(k.name, rows[i].name) << i;
    EXPECT_EQ(std::to_string(k.app), field(rows[i].fields, "app")) << k.name;
    EXPECT_EQ(std::to_string(k.n_policy), field(rows[i].fields, "N")) << k.name;
    EXPECT_EQ(std::to_string(k.min_protocol), field(rows[i].fields, "proto")) << k.name;
    EXPECT_EQ(k.retail ? "1" : "0", field(rows[i].fields, "retail")) << k.name;
    EXPECT_EQ(k.preview ? "1" : "0", field(rows[i].fields, "preview")) << k.name;
    EXPECT_EQ(std::to_string(k.csvlk), field(rows[i].fields, "epid_idx")) << k.name;
  }
}

TEST(KmsIds, SkusEqualTheDataFile) {
  const auto rows = dump_section("SKU / Activation IDs");
  ASSERT_EQ(rows.size(), 202u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Sku& s = skus()[i];
    EXPECT_EQ(s.guid.to_string(), rows[i].guid) << i;
    EXPECT_EQ(s.name, rows[i].name) << i;
    EXPECT_EQ(std::to_string(s.kms_count_id), field(rows[i].fields, "kms")) << s.name;
    EXPECT_EQ(std::to_string(s.app), field(rows[i].fields, "app")) << s.name;
    EXPECT_EQ(std::to_string(s.protocol), field(rows[i].fields, "proto")) << s.name;
    EXPECT_EQ(std::to_string(s.n_policy), field(rows[i].fields, "N")) << s.name;
  }
}

TEST(KmsIds, ApplicationsEqualTheDataFile) {
  const auto rows = dump_section("Application IDs");
  ASSERT_EQ(rows.size(), applications().size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(applications()[i].guid.to_string(), rows[i].guid);
    EXPECT_EQ(std::to_string(applications()[i].min_clients), field(rows[i].fields, "N"));
  }
  EXPECT_EQ(applications()[0].name, "Windows");  // product_group() relies on this order
}

// --- consistency -----------------------------------------------------------------------------

TEST(KmsIds, EveryReferencedKmsCountIdExists) {
  for (const Sku& s : skus()) {
    if (s.kms_count_id == kNoIndex) {
      EXPECT_TRUE(s.unverified) << s.name << ": only unverified rows may lack a KMS count ID";
      continue;
    }
    ASSERT_LT(s.kms_count_id, kms_count_ids().size()) << s.name;
    const KmsCountId* k = kms_count_id_of(s);
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->app, s.app) << s.name;
    EXPECT_EQ(k->n_policy, s.n_policy) << s.name;
    EXPECT_EQ(k->min_protocol, s.protocol) << s.name;
  }
}

TEST(KmsIds, EveryIndexIsInRange) {
  for (const Sku& s : skus()) EXPECT_NE(application_of(s), nullptr) << s.name;
  for (const KmsCountId& k : kms_count_ids()) {
    EXPECT_NE(application_of(k), nullptr) << k.name;
    EXPECT_NE(csvlk_of(k), nullptr) << k.name;
    EXPECT_TRUE(k.n_policy == 5 || k.n_policy == 25) << k.name;
    EXPECT_TRUE(k.min_protocol >= 4 && k.min_protocol <= 6) << k.name;
  }
  for (const Application& a : applications()) EXPECT_LT(a.csvlk, csvlks().size()) << a.name;
  for (const Csvlk& c : csvlks()) EXPECT_LT(c.key_id_min, c.key_id_end) << c.name;
}

template <class Rows>
void expect_unique_guids(const Rows& rows, const char* what) {
  std::set<Guid> seen;
  for (const auto& r : rows) EXPECT_TRUE(seen.insert(r.guid).second) << what << " duplicate: " << r.name;
}

TEST(KmsIds, GuidsAreUniquePerTable) {
  expect_unique_guids(applications(), "application");
  expect_unique_guids(kms_count_ids(), "KMS count ID");
  expect_unique_guids(skus(), "SKU");
}

TEST(KmsIds, EveryRowNamesItsProvenance) {
  for (const Sku& s : skus()) {
    if (s.unverified)
      EXPECT_EQ(s.provenance.rfind("unverified: ", 0), 0u) << s.name;
    else
      EXPECT_EQ(s.provenance, "vlmcsd KMD 2.0") << s.name;
  }
  for (const KmsCountId& k : kms_count_ids()) EXPECT_EQ(k.provenance, "vlmcsd KMD 2.0") << k.name;
  for (const HostBuild& h : host_builds()) EXPECT_EQ(h.provenance, "vlmcsd KMD 2.0") << h.name;
  for (const Csvlk& c : csvlks()) EXPECT_EQ(c.provenance, "vlmcsd KMD 2.0") << c.name;
}

TEST(KmsIds, Server2022SkusAreUnverifiedWithoutKmsCountId) {
  // data/kms-ids-extra.tsv: SKU IDs found in public GVLK tables; the KMS count ID was not checked.
  for (const char* id : {"ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03", "9bd77860-9b31-4b7b-96ad-2564017315bf"}) {
    const Sku* s = find_sku(guid(id));
    ASSERT_NE(s, nullptr) << id;
    EXPECT_TRUE(s->unverified);
    EXPECT_EQ(s->kms_count_id, kNoIndex);
    EXPECT_EQ(kms_count_id_of(*s), nullptr);
    EXPECT_EQ(product_group(*s), ProductGroup::windows_server);
  }
  EXPECT_EQ(find_sku(guid("ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03"))->name, "Windows Server 2022 Datacenter");
}

// --- lookups ---------------------------------------------------------------------------------

TEST(KmsIds, SkuByGuidGivesWhatTheCapturedRequestCarried) {
  // vectors/README.md: Windows 10 Professional -> app 55c92734..., KMS count ID 58e2134f..., N 25.
  const Sku* s = find_sku(guid("2de67392-b7a7-462a-b1ca-108dd189f588"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "Windows 10 Professional");
  EXPECT_EQ(application_of(*s)->guid.to_string(), "55c92734-d682-4d71-983e-d6ec3f16059f");
  EXPECT_EQ(kms_count_id_of(*s)->guid.to_string(), "58e2134f-8e11-4d17-9cb2-91069c151148");
  EXPECT_EQ(kms_count_id_of(*s)->name, "Windows 10 2015 (Volume)");
  EXPECT_EQ(s->n_policy, 25u);
  EXPECT_EQ(s->protocol, 6);
  EXPECT_EQ(csvlk_of(*kms_count_id_of(*s))->name, "Windows");

  const Sku* office = find_sku(guid("d450596f-894d-49e0-966a-fd39ed4c4c64"));
  ASSERT_NE(office, nullptr);
  EXPECT_EQ(office->name, "Office Professional Plus 2016");
  EXPECT_EQ(kms_count_id_of(*office)->name, "Office 2016");
  EXPECT_EQ(application_of(*office)->name, "Office 2013+");
  EXPECT_EQ(office->n_policy, 5u);

  EXPECT_EQ(find_sku(guid("00000000-0000-0000-0000-000000000000")), nullptr);
  EXPECT_EQ(find_application(guid("0ff1ce15-a989-479d-af46-f275c6370663"))->name, "Office 2013+");
}

TEST(KmsIds, KmsCountIdsMatchProtocolNotesTable) {
  struct Row {
    const char* guid;
    const char* name;
    std::uint32_t n;
    std::uint8_t proto;
  };
  // The KMS count IDs of the built-in table (data/, with their sources).
  const Row rows[] = {
      {"58e2134f-8e11-4d17-9cb2-91069c151148", "Windows 10 2015 (Volume)", 25, 6},
      {"969fe3c0-a3ec-491a-9f25-423605deb365", "Windows 10 2016 (Volume)", 25, 6},
      {"11b15659-e603-4cf1-9c1f-f0ec01b81888", "Windows 10 2019 (Volume)", 25, 6},
      {"7fde5219-fbfa-484a-82c9-34d1ad53e856", "Windows 7", 25, 4},
      {"cb8fc780-2c05-495a-9710-85afffc904d7", "Windows 8.1 (Volume)", 25, 6},
      {"8665cb71-468c-4aa3-a337-cb9bc9d5eaac", "Windows Server 2012", 5, 5},
      {"8456efd3-0c04-4089-8740-5b7238535a65", "Windows Server 2012 R2", 5, 6},
      {"6e9fc069-257d-4bc4-b4a7-750514d32743", "Windows Server 2016", 5, 6},
      {"8449b1fb-f0ea-497a-99ab-66ca96e9a0f5", "Windows Server 2019", 5, 6},
      {"e85af946-2e25-47b7-83e1-bebcebeac611", "Office 2010", 5, 4},
      {"e6a6f1bf-9d40-40c3-aa9f-c77ba21578c0", "Office 2013", 5, 5},
      {"85b5f61b-320b-4be3-814a-b76b2bfafc82", "Office 2016", 5, 6},
      {"617d9eb1-ef36-4f82-86e0-a65ae07b96c6", "Office 2019", 5, 6},
  };
  for (const Row& r : rows) {
    const KmsCountId* k = find_kms_count_id(guid(r.guid));
    ASSERT_NE(k, nullptr) << r.name;
    EXPECT_EQ(k->name, r.name);
    EXPECT_EQ(k->n_policy, r.n) << r.name;
    EXPECT_EQ(k->min_protocol, r.proto) << r.name;
  }
}

TEST(KmsIds, NameLookupPrefersExactThenPrefixThenSubstring) {
  auto exact = find_skus_by_name("windows 10 PROFESSIONAL");
  EXPECT_EQ(exact.kind, MatchKind::exact);
  ASSERT_NE(exact.unique(), nullptr);
  EXPECT_EQ(exact.unique()->guid.to_string(), "2de67392-b7a7-462a-b1ca-108dd189f588");

  auto prefix = find_skus_by_name("Windows Server 2019 Azure");
  EXPECT_EQ(prefix.kind, MatchKind::prefix);
  ASSERT_NE(prefix.unique(), nullptr);
  EXPECT_EQ(prefix.unique()->name, "Windows Server 2019 Azure Core");

  auto ambiguous = find_skus_by_name("Office Professional Plus 20");
  EXPECT_EQ(ambiguous.kind, MatchKind::prefix);
  EXPECT_EQ(ambiguous.unique(), nullptr);
  EXPECT_GE(ambiguous.matches.size(), 4u);

  auto sub = find_skus_by_name("thinpc");
  EXPECT_EQ(sub.kind, MatchKind::substring);
  ASSERT_NE(sub.unique(), nullptr);
  EXPECT_EQ(sub.unique()->name, "Windows 7 ThinPC");

  auto several = find_skus_by_name("Azure Core");
  EXPECT_EQ(several.kind, MatchKind::substring);
  EXPECT_EQ(several.matches.size(), 2u);

  EXPECT_EQ(find_skus_by_name("").kind, MatchKind::none);
  EXPECT_EQ(find_skus_by_name("no such product").kind, MatchKind::none);
  EXPECT_TRUE(find_skus_by_name("no such product").matches.empty());
}

TEST(KmsIds, DuplicateSkuNamesStayAmbiguousButGuidsResolve) {
  // vlmcsd's data lists "Windows 10 Enterprise Preview" under two KMS count IDs.
  auto dup = find_skus_by_name("Windows 10 Enterprise Preview");
  EXPECT_EQ(dup.kind, MatchKind::exact);
  EXPECT_EQ(dup.matches.size(), 2u);
  EXPECT_EQ(dup.unique(), nullptr);
  auto by_guid = find_skus("{43F2AB05-7C87-4D56-B27C-44D0F9A3DABD}");
  ASSERT_NE(by_guid.unique(), nullptr);
  EXPECT_EQ(kms_count_id_of(*by_guid.unique())->name, "Windows 10 2015 (Volume)");
  EXPECT_TRUE(find_skus("11111111-2222-3333-4444-555555555555").matches.empty());
  EXPECT_EQ(find_skus("Windows 7 ThinPC").unique()->name, "Windows 7 ThinPC");
}

TEST(KmsIds, KmsCountIdAndApplicationNameLookups) {
  EXPECT_EQ(find_kms_count_ids_by_name("windows 7").unique()->guid.to_string(),
            "7fde5219-fbfa-484a-82c9-34d1ad53e856");
  EXPECT_EQ(find_kms_count_ids_by_name("Windows Server 2008 R2").kind, MatchKind::prefix);
  EXPECT_EQ(find_kms_count_ids_by_name("Windows Server 2008 R2").matches.size(), 3u);
  EXPECT_EQ(find_applications_by_name("office 2013+").unique()->name, "Office 2013+");
}

TEST(KmsIds, CsvlkByGroupAndKeyId) {
  EXPECT_EQ(find_csvlk(206, 560338962)->name, "Windows");       // captured ePID key id
  EXPECT_EQ(find_csvlk(206, 451729212)->name, "Office 2016");   // captured Office 2016 ePID
  EXPECT_EQ(find_csvlk(206, 551000000)->name, "Windows");       // range start is inside
  EXPECT_EQ(find_csvlk(206, 570999999), nullptr);               // range end is outside
  EXPECT_EQ(find_csvlk(206, 300000000), nullptr);
  EXPECT_EQ(find_csvlk(96, 200000000)->name, "Office 2010");
  EXPECT_EQ(find_csvlk(96, 560338962), nullptr);
  EXPECT_EQ(find_csvlk(3858, 15000000)->name, "Windows China Government");
  EXPECT_TRUE(is_known_group_id(206));
  EXPECT_TRUE(is_known_group_id(96));
  EXPECT_FALSE(is_known_group_id(207));
}

TEST(KmsIds, HostBuildsCarryPlatformAndNdr64) {
  // docs/protocol.md: NDR64 only for builds >= 9200; platform ids per build.
  const std::pair<std::uint32_t, std::uint32_t> platforms[] = {
      {17763, 3612}, {14393, 3612}, {9600, 6401}, {9200, 5426}, {7601, 55041}, {6002, 55041}};
  for (auto [build, platform] : platforms) {
    const HostBuild* h = find_host_build(build);
    ASSERT_NE(h, nullptr) << build;
    EXPECT_EQ(h->platform_id, platform) << build;
    EXPECT_EQ(h->ndr64(), build >= 9200) << build;
  }
  EXPECT_EQ(find_host_build(10240), nullptr);
}

TEST(KmsIds, ProductGroupsFollowApplicationAndN) {
  const Guid windows = guid("55c92734-d682-4d71-983e-d6ec3f16059f");
  EXPECT_EQ(product_group(windows, 25), ProductGroup::windows_client);
  EXPECT_EQ(product_group(windows, 5), ProductGroup::windows_server);
  EXPECT_EQ(product_group(windows, 0), std::nullopt);
  EXPECT_EQ(product_group(guid("59a52881-a989-479d-af46-f275c6370663"), 5), ProductGroup::office);
  EXPECT_EQ(product_group(guid("0ff1ce15-a989-479d-af46-f275c6370663"), 0), ProductGroup::office);
  EXPECT_EQ(product_group(guid("11111111-2222-3333-4444-555555555555"), 25), std::nullopt);

  EXPECT_EQ(product_group(*find_skus("Windows 10 Professional").unique()), ProductGroup::windows_client);
  EXPECT_EQ(product_group(*find_skus("Windows Server 2019 Standard").unique()), ProductGroup::windows_server);
  EXPECT_EQ(product_group(*find_skus("Office Professional Plus 2010").unique()), ProductGroup::office);
  EXPECT_EQ(product_group(*find_kms_count_ids_by_name("Windows Server 2016").unique()),
            ProductGroup::windows_server);

  const auto clients = skus_in_group(ProductGroup::windows_client);
  const auto servers = skus_in_group(ProductGroup::windows_server);
  const auto office = skus_in_group(ProductGroup::office);
  EXPECT_EQ(clients.size() + servers.size() + office.size(), skus().size());
  for (const Sku* s : servers) EXPECT_EQ(s->n_policy, 5u) << s->name;
  for (const Sku* s : clients) EXPECT_EQ(s->n_policy, 25u) << s->name;
  for (const Sku* s : office) EXPECT_NE(s->name.find("Office"), std::string_view::npos) << s->name;
  EXPECT_EQ(to_string(ProductGroup::windows_server), "Windows Server");
}

}  // namespace
}  // namespace kmslab::protocol
