// The checks every YAML input passes before a node tree is built: nesting depth, alias count,
// what aliases expand to, alias cycles and duplicate keys, each a located error.
#include "kmslab/config/yaml_node.hpp"

#include <gtest/gtest.h>

#include "hostile_yaml.hpp"

#include <fmt/format.h>

namespace kmslab::config {
namespace {

bool mentions(const ConfigError& e, std::string_view text) { return e.format().find(text) != std::string::npos; }

std::string flow_nesting(std::size_t depth) { return "a: " + std::string(depth, '[') + std::string(depth, ']') + "\n"; }

TEST(YamlGuard, AliasBombIsRefusedBeforeAnythingIsExpanded) {
  const std::string bomb = test::alias_bomb(9, 9);  // 9^9 = 387,420,489 nodes once expanded
  ASSERT_LT(bomb.size(), 800u);
  auto r = parse_yaml_text(bomb, "bomb.yaml");
  ASSERT_FALSE(r) << "an alias bomb parsed";
  EXPECT_TRUE(mentions(r.error(), "aliases expand to more than")) << r.error().format();
  EXPECT_TRUE(mentions(r.error(), fmt::format("{}", kMaxYamlAliasNodes))) << r.error().format();
  EXPECT_EQ(r.error().file, "bomb.yaml");
  EXPECT_GT(r.error().line, 1);  // at the alias that crossed the cap
  EXPECT_GT(r.error().column, 0);
}

TEST(YamlGuard, TooManyAliasesNamesCountAndCap) {
  std::string text = "x: &x 1\nl: [";
  for (std::size_t i = 0; i <= kMaxYamlAliases; ++i) text += i == 0 ? "*x" : ", *x";
  text += "]\n";
  auto r = parse_yaml_text(text, "many.yaml");
  ASSERT_FALSE(r);
  EXPECT_TRUE(mentions(r.error(), fmt::format("too many aliases ({} > {})", kMaxYamlAliases + 1, kMaxYamlAliases)))
      << r.error().format();
  EXPECT_EQ(r.error().line, 2);
}

TEST(YamlGuard, OrdinaryAliasesStillWork) {
  auto r = load_config_text<std::int64_t>("base: &b {port: 1688}\nother: *b\n", "ok.yaml", [](const ConfigNode& n) {
    return n.child("other").child("port").as_int(0, 65535);
  });
  ASSERT_TRUE(r) << r.error().format();
  EXPECT_EQ(*r, 1688);
  // A small bomb stays under the cap: 4^4 = 256 nodes.
  EXPECT_TRUE(parse_yaml_text(test::alias_bomb(4, 4), "small.yaml"));
}

TEST(YamlGuard, AnAliasInsideItsOwnAnchorIsACycleError) {
  auto r = parse_yaml_text("a: &a [1, *a]\n", "cycle.yaml");
  ASSERT_FALSE(r) << "a self-referencing node parsed";
  EXPECT_TRUE(mentions(r.error(), "contains it")) << r.error().format();
  EXPECT_EQ(r.error().line, 1);
  EXPECT_EQ(r.error().column, 11);
}

TEST(YamlGuard, NestingDeeperThanTheCapIsALocatedErrorNamingTheCap) {
  EXPECT_TRUE(parse_yaml_text(flow_nesting(kMaxYamlDepth - 1), "ok.yaml"));  // plus the root map
  for (const std::size_t depth : {kMaxYamlDepth, std::size_t{600}, std::size_t{20000}}) {
    auto r = parse_yaml_text(flow_nesting(depth), "deep.yaml");
    ASSERT_FALSE(r) << depth;
    EXPECT_TRUE(mentions(r.error(), fmt::format("nested deeper than {} levels", kMaxYamlDepth))) << r.error().format();
    EXPECT_FALSE(mentions(r.error(), "bad file")) << r.error().format();
    EXPECT_EQ(r.error().line, 1);
    EXPECT_EQ(r.error().column, static_cast<int>(4 + kMaxYamlDepth - 1)) << r.error().format();
  }
}

TEST(YamlGuard, DeepBlockNestingIsRefusedToo) {
  std::string text;
  for (std::size_t i = 0; i < 600; ++i) text += std::string(i, ' ') + "k:\n";
  auto r = parse_yaml_text(text, "block.yaml");
  ASSERT_FALSE(r);
  EXPECT_TRUE(mentions(r.error(), fmt::format("nested deeper than {} levels", kMaxYamlDepth))) << r.error().format();
  EXPECT_EQ(r.error().line, static_cast<int>(kMaxYamlDepth + 1)) << r.error().format();
}

TEST(YamlGuard, DuplicateKeyNamesBothLines) {
  auto r = parse_yaml_text("seed: 1\ndns:\n  enabled: true\nseed: 2\n", "site.yaml");
  ASSERT_FALSE(r) << "a duplicate key was accepted";
  EXPECT_EQ(r.error().line, 4);
  EXPECT_EQ(r.error().column, 1);
  EXPECT_EQ(r.error().path, "seed");
  EXPECT_EQ(r.error().format(), "site.yaml:4:1: seed: duplicate key 'seed' (first at line 1)");
}

TEST(YamlGuard, DuplicateKeyInANestedMapHasItsPath) {
  auto r = parse_yaml_text("kms_hosts:\n  - name: a\n  - name: b\n    listen: x\n    name: c\n", "site.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, 5);
  EXPECT_EQ(r.error().column, 5);
  EXPECT_EQ(r.error().path, "kms_hosts[1].name");
  EXPECT_TRUE(mentions(r.error(), "first at line 3")) << r.error().format();
  // Flow maps too.
  auto flow = parse_yaml_text("a: {x: 1, x: 2}\n", "flow.yaml");
  ASSERT_FALSE(flow);
  EXPECT_EQ(flow.error().path, "a.x");
}

TEST(YamlGuard, TheSameKeyInDifferentMapsIsFine) {
  EXPECT_TRUE(parse_yaml_text("a: {name: 1}\nb: {name: 2}\nl: [{name: 1}, {name: 2}]\n", "ok.yaml"));
}

TEST(YamlGuard, LoadConfigFileGoesThroughTheSameChecks) {
  const std::string path = ::testing::TempDir() + "/dup.yaml";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("name: a\nname: b\n", f);
    std::fclose(f);
  }
  auto r = parse_yaml_file(path, kDefaultMaxConfigBytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().file, path);
  EXPECT_EQ(r.error().line, 2);
}

}  // namespace
}  // namespace kmslab::config
