// Streaming UTF-8 assembly and the test codec.
#include "chat/codec.h"

#include <gtest/gtest.h>

namespace moss {
namespace {

TEST(Utf8Assembler, HoldsBackSplitCharacters) {
  Utf8Assembler a;
  const std::string zh = "中文";  // E4 B8 AD E6 96 87
  EXPECT_EQ(a.push(zh.substr(0, 1)), "");
  EXPECT_EQ(a.push(zh.substr(1, 2)), "中");
  EXPECT_EQ(a.push(zh.substr(3, 2)), "");
  EXPECT_EQ(a.push(zh.substr(5) + "a"), "文a");
  EXPECT_EQ(a.flush(), "");
}

TEST(Utf8Assembler, InvalidBytesBecomeReplacementCharacters) {
  Utf8Assembler a;
  EXPECT_EQ(a.push("\xff" "a"), "\xEF\xBF\xBD" "a");
  EXPECT_EQ(a.push("\xE4\xB8"), "");
  EXPECT_EQ(a.flush(), "\xEF\xBF\xBD");  // a cut-short character is one U+FFFD, as in CPython
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8("ok é"), "ok é");
}

TEST(ByteCodec, TextNeverBecomesMarkers) {
  ByteCodec c;
  const auto ids = c.encode_text("<eoh><eom>");
  EXPECT_EQ(ids.size(), 10u);
  for (int32_t t : ids) EXPECT_FALSE(c.is_special(t));
  const auto m = c.encode_with_markers("a<eoh>");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1], c.marker(Marker::Eoh));
  EXPECT_EQ(c.token_bytes(m[1]), "<eoh>");
}

}  // namespace
}  // namespace moss
