// JSON inputs: errors at file:line:column with what was expected, and the nesting cap.
#include "kmslab/config/json_input.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdio>

namespace kmslab::config {
namespace {

TEST(JsonInput, SyntaxErrorIsLocatedAndSaysWhatWasExpected) {
  auto r = parse_json_input("{\n  \"targets\": [1, 2,\n  }\n", "before.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, 3) << r.error().format();
  EXPECT_EQ(r.error().column, 3) << r.error().format();
  EXPECT_EQ(r.error().format().rfind("before.json:3:3: not valid JSON: syntax error", 0), 0u) << r.error().format();
  EXPECT_NE(r.error().message.find("expected"), std::string::npos) << r.error().format();
}

TEST(JsonInput, EmptyAndTruncatedInputs) {
  auto empty = parse_json_input("", "e.json");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().line, 1);
  EXPECT_NE(empty.error().message.find("unexpected end of input"), std::string::npos) << empty.error().format();
  auto cut = parse_json_input("{\"a\": ", "c.json");
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().format().rfind("c.json:1:", 0), 0u) << cut.error().format();
}

TEST(JsonInput, IllFormedUtf8IsALocatedError) {
  auto r = parse_json_input("{\"a\": \"\xff\"}", "u.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, 1);
  EXPECT_EQ(r.error().column, 8) << r.error().format();
  // The parser's message quotes what it read; the stray byte comes back escaped, so the error can
  // go into a JSON answer (the control API's 400) without breaking it.
  EXPECT_NE(r.error().message.find("\\xff"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\xff'), std::string::npos);
}

// A number out of a double's range is a located input error, not an exception escaping the door
// (it gave the control API a 500 and merge/audit an "internal error").
TEST(JsonInput, NumberOutOfRangeIsALocatedError) {
  auto r = parse_json_input("{\"ok\": 1,\n \"elapsed_s\": 1e999}", "r.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().format().rfind("r.json:2:15: not valid JSON: number 1e999 is out of range", 0), 0u)
      << r.error().format();
  auto long_one = parse_json_input(std::string(400, '9'), "n.json");
  ASSERT_FALSE(long_one);
  EXPECT_LT(long_one.error().message.size(), 200u) << long_one.error().message;
}

TEST(JsonInput, NestingPastTheCapIsRefusedBeforeParsing) {
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_json_input(ok, "ok.json"));
  const std::string deep = "\n" + std::string(100000, '[');
  auto r = parse_json_input(deep, "deep.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().format(), fmt::format("deep.json:2:{}: nested deeper than {} levels (the limit)",
                                            kMaxJsonDepth + 1, kMaxJsonDepth));
  // Brackets inside strings do not count.
  EXPECT_TRUE(parse_json_input("{\"a\": \"" + std::string(1000, '[') + "\\\"\"}", "s.json"));
}

TEST(JsonInput, LoadJsonFileCapsAndNamesTheFile) {
  const std::string path = ::testing::TempDir() + "/in.json";
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("{\"a\": 1}", f);
  std::fclose(f);
  auto ok = load_json_file(path, 100);
  ASSERT_TRUE(ok) << ok.error().format();
  EXPECT_EQ((*ok)["a"], 1);
  auto capped = load_json_file(path, 4);
  ASSERT_FALSE(capped);
  EXPECT_EQ(capped.error().format(), path + ": larger than the 4-byte limit");
}

}  // namespace
}  // namespace kmslab::config
