#include "kmslab/config/yaml_node.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace kmslab::config {
namespace {

struct Host {
  std::string name;
  std::int64_t port = 1688;
  std::chrono::nanoseconds skew{};
};

Host read_host(const ConfigNode& root) {
  root.expect_keys({"name", "port", "skew"});
  Host h;
  h.name = root.child("name").as_string();
  h.port = root.get_int("port", 1688, 0, 65535);
  if (auto s = root.optional_child("skew")) h.skew = s->as_duration("s", true);
  return h;
}

ConfigResult<Host> load(std::string_view text) {
  return load_config_text<Host>(text, "site.yaml", read_host);
}

TEST(ConfigNode, ReadsValuesAndDefaults) {
  auto h = load("name: kms1\nskew: -3h\n");
  ASSERT_TRUE(h) << h.error().format();
  EXPECT_EQ(h->name, "kms1");
  EXPECT_EQ(h->port, 1688);
  EXPECT_EQ(h->skew, std::chrono::hours(-3));
}

TEST(ConfigNode, UnknownKeyNamesLineColumnAndSuggestion) {
  auto h = load("name: kms1\nprot: 1688\n");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().line, 2);
  EXPECT_EQ(h.error().column, 1);
  EXPECT_EQ(h.error().path, "prot");
  EXPECT_NE(h.error().message.find("did you mean 'port'"), std::string::npos) << h.error().format();
  EXPECT_EQ(h.error().format().rfind("site.yaml:2:1: prot: unknown key", 0), 0u) << h.error().format();
}

TEST(ConfigNode, WrongTypeAndRangeAreLocated) {
  auto h = load("name: kms1\nport: http\n");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().line, 2);
  EXPECT_EQ(h.error().column, 7);
  EXPECT_EQ(h.error().path, "port");
  EXPECT_NE(h.error().message.find("0..65535"), std::string::npos);
  EXPECT_FALSE(load("name: kms1\nport: 70000\n"));
  EXPECT_FALSE(load("name: [a, b]\n"));
}

TEST(ConfigNode, MissingRequiredKey) {
  auto h = load("port: 1\n");
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("missing required key 'name'"), std::string::npos);
}

TEST(ConfigNode, SyntaxErrorHasPosition) {
  auto h = load("name: [kms1\n");
  ASSERT_FALSE(h);
  EXPECT_GT(h.error().line, 0);
  EXPECT_NE(h.error().message.find("YAML syntax error"), std::string::npos);
}

// A byte that is not UTF-8 would travel in a name into every report and JSON line that shows it;
// it is refused where it can still be located (columns count characters: "é" is one).
TEST(ConfigNode, NonUtf8ByteIsALocatedError) {
  auto h = load("port: 1688\nname: \"k\xC3\xA9ms\xFF\"\n");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().line, 2);
  EXPECT_EQ(h.error().column, 12);
  EXPECT_EQ(h.error().format(), "site.yaml:2:12: expected UTF-8 text, got the byte 0xff");
  auto first = load("\xC3(: x\n");  // a lead byte without its continuation, at the very start
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().line, 1);
  EXPECT_EQ(first.error().column, 1);
  EXPECT_TRUE(load("name: \"k\xC3\xA9ms\"\n"));  // UTF-8 beyond ASCII is fine
}

TEST(ConfigNode, NegativeDurationOnlyWhenAllowed) {
  auto r = load_config_text<std::chrono::nanoseconds>("d: -5s", "x.yaml", [](const ConfigNode& n) {
    return n.child("d").as_duration("ms", false);
  });
  EXPECT_FALSE(r);
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(*parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parse_duration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*parse_duration("4h"), std::chrono::hours(4));
  EXPECT_EQ(*parse_duration("120", "m"), std::chrono::minutes(120));
  EXPECT_EQ(*parse_duration("1w"), std::chrono::hours(168));
  EXPECT_FALSE(parse_duration("fast"));
  EXPECT_FALSE(parse_duration("5 parsecs"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("1e30h"));
}

TEST(Nearest, SuggestsOnlyPlausibleTypos) {
  EXPECT_EQ(nearest("priorty", {"priority", "weight"}), "priority");
  EXPECT_FALSE(nearest("completely_different", {"priority", "weight"}));
}

TEST(LoadConfig, FileTooLargeAndMissing) {
  const std::string path = ::testing::TempDir() + "/big.yaml";
  {
    std::ofstream out(path);
    out << "name: " << std::string(2000, 'x') << "\n";
  }
  auto r = load_config<Host>(path, read_host, 1000);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("limit"), std::string::npos);
  auto ok = load_config<Host>(path, read_host);
  EXPECT_TRUE(ok);
  auto missing = load_config<Host>(path + ".nope", read_host);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace kmslab::config
