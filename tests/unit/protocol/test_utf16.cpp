#include "kmslab/protocol/utf16.hpp"

#include <gtest/gtest.h>

namespace kmslab::protocol {
namespace {

TEST(Utf16, EncodesBmpAndSupplementaryCharacters) {
  auto u = utf8_to_utf16("a\xC3\xBC\xE2\x82\xAC\xF0\x9F\x94\x91");  // a ü € 🔑
  ASSERT_TRUE(u);
  EXPECT_EQ(*u, (std::u16string{u'a', 0x00FC, 0x20AC, 0xD83D, 0xDD11}));
  EXPECT_EQ(utf16_to_utf8(*u), "a\xC3\xBC\xE2\x82\xAC\xF0\x9F\x94\x91");
}

TEST(Utf16, RejectsMalformedUtf8WithItsOffset) {
  struct Case { const char* text; std::size_t offset; };
  for (const Case c : {Case{"ab\x80", 2},             // stray continuation byte
                       Case{"a\xC3", 1},              // truncated sequence
                       Case{"a\xE2\x28\xA1", 2},      // bad continuation
                       Case{"\xC0\xAF", 0},           // overlong '/'
                       Case{"\xED\xA0\x80", 0},       // UTF-16 surrogate encoded in UTF-8
                       Case{"\xF4\x90\x80\x80", 0},   // above U+10FFFF
                       Case{"\xFF", 0}}) {
    auto u = utf8_to_utf16(c.text);
    ASSERT_FALSE(u) << c.text;
    EXPECT_EQ(u.error().code, Errc::bad_value);
    EXPECT_EQ(u.error().offset, c.offset) << u.error().message();
  }
}

TEST(Utf16, UnpairedSurrogatesDecodeToReplacementCharacter) {
  EXPECT_EQ(utf16_to_utf8(std::u16string{u'x', 0xD800, u'y'}), "x\xEF\xBF\xBDy");
  EXPECT_EQ(utf16_to_utf8(std::u16string{0xDC00}), "\xEF\xBF\xBD");
  EXPECT_EQ(utf16_to_utf8(std::u16string{0xD83D}), "\xEF\xBF\xBD");
}

TEST(Utf8Escape, ValidTextIsUnchangedAndEachBadByteIsEscaped) {
  EXPECT_EQ(escape_text("a\xC3\xBC\xE2\x82\xAC b\\x"), "a\xC3\xBC\xE2\x82\xAC b\\x");
  EXPECT_EQ(escape_text("ab\xFF\xFE"), "ab\\xff\\xfe");
  EXPECT_EQ(escape_text("\xC3"), "\\xc3");                  // truncated: the lead byte alone
  EXPECT_EQ(escape_text("\xE2\x28\xA1"), "\\xe2(\\xa1");    // a bad continuation is re-read
  EXPECT_EQ(escape_text("\xED\xA0\x80"), "\\xed\\xa0\\x80");  // surrogates are not UTF-8
  EXPECT_EQ(escape_text(escape_text("x\xFFy")), "x\\xffy");  // escaping twice changes nothing
  EXPECT_EQ(find_invalid_utf8("ok\xC3\xBC"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ok\xC3\xBC\x80"), 4u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x94\x91", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x94", 0), 0u);
}

TEST(Utf8Escape, ForLogAlsoEscapesControlsAndBackslash) {
  EXPECT_EQ(escape_text("GET /a\r\nX: \xFF\\", TextEscape::for_log), "GET /a\\x0d\\x0aX: \\xff\\\\");
  EXPECT_EQ(escape_text("\xC3\xBC\x7F", TextEscape::for_log), "\xC3\xBC\\x7f");
}

}  // namespace
}  // namespace kmslab::protocol
