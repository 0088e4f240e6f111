#include "shared/text.h"

#include <gtest/gtest.h>

namespace sre {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(TextTest, ValidUtf8Table) {
  struct Case {
    std::string s;
    bool valid;
  } cases[] = {
      {"", true},
      {"plain ascii line of text", true},
      {"caf\xC3\xA9", true},
      {"\xE2\x82\xAC euro", true},
      {"\xF0\x9F\x98\x80 emoji", true},
      {"\xF4\x8F\xBF\xBF", true},           // U+10FFFF
      {"caf\xC3", false},                    // cut in half
      {"\xC0\xAF", false},                   // overlong '/'
      {"\xE0\x80\xAF", false},               // overlong
      {"\xED\xA0\x80", false},               // surrogate D800
      {"\xF4\x90\x80\x80", false},           // above U+10FFFF
      {"\xFF", false},
      {"abcdefgh\x80", false},               // after a fast-skipped ASCII word
      {std::string("nul\0inside", 10), true}, // NUL is valid UTF-8; SanitizeUtf8 handles it
  };
  for (const auto& c : cases) EXPECT_EQ(IsValidUtf8(c.s), c.valid) << c.s;
}

TEST(TextTest, SanitizeReplacesMaximalSubpartsAndNul) {
  TextRepairs r;
  EXPECT_EQ(SanitizeUtf8(std::string("a\0b", 3), true, &r), "a" + kFffd + "b");
  EXPECT_EQ(r.nul, 1u);
  EXPECT_EQ(SanitizeUtf8(std::string("a\0b", 3), false), std::string("a\0b", 3));
  // E2 82 is the start of a three-byte sequence cut short: one replacement for both bytes.
  r = {};
  EXPECT_EQ(SanitizeUtf8("x\xE2\x82y", true, &r), "x" + kFffd + "y");
  EXPECT_EQ(r.invalid_utf8, 1u);
  // Each stray continuation byte is its own subpart.
  EXPECT_EQ(SanitizeUtf8("\x80\x80"), kFffd + kFffd);
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), kFffd + kFffd);
  EXPECT_TRUE(IsValidUtf8(SanitizeUtf8("\xF0\x9F\x98 \xFF\xFE mixed \xED\xA0\x80 end")));
}

TEST(TextTest, SanitizeInPlaceLeavesCleanTextAlone) {
  std::string s = "clean caf\xC3\xA9";
  EXPECT_FALSE(SanitizeUtf8InPlace(s).any());
  EXPECT_EQ(s, "clean caf\xC3\xA9");
  std::string t("bad\0\xFF", 5);
  auto r = SanitizeUtf8InPlace(t);
  EXPECT_EQ(r.nul, 1u);
  EXPECT_EQ(r.invalid_utf8, 1u);
  EXPECT_EQ(t, "bad" + kFffd + kFffd);
}

// A multi-byte character at each byte offset around a cut: the result is always valid UTF-8 and
// never longer than asked (the byte offsets of issue 14: 159, 499, 1999).
TEST(TextTest, TruncateNeverSplitsACharacter) {
  for (size_t limit : {160u, 500u, 2000u}) {
    for (const std::string ch : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
      for (size_t at = limit - 4; at <= limit; ++at) {
        std::string s(at, 'a');
        s += ch;
        s += std::string(10, 'b');
        for (bool ellipsis : {false, true}) {
          std::string t = TruncateUtf8(s, limit, ellipsis);
          EXPECT_TRUE(IsValidUtf8(t)) << limit << " " << at;
          EXPECT_LE(t.size(), limit);
        }
      }
    }
  }
  EXPECT_EQ(TruncateUtf8("short", 10), "short");
  EXPECT_EQ(TruncateUtf8("abcdefghij", 6), "abc\xE2\x80\xA6");
  EXPECT_EQ(TruncateUtf8("abcdefghij", 6, false), "abcdef");
  EXPECT_EQ(Utf8PrefixLength("a\xE2\x82\xAC", 3), 1u);
}

}  // namespace
}  // namespace sre
