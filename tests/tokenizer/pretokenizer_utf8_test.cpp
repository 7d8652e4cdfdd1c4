// The pre-tokenizer's regex edge cases and the UTF-8 helpers, against values printed by the
// reference libraries: Python's `regex` module findall with the GPT-2 pattern, and CPython's
// bytes.decode("utf-8", "replace") (spec 2.3, 2.6, 9 item 11).
#include <gtest/gtest.h>

#include "tokenizer/pretokenizer.h"
#include "util/utf8.h"

namespace moss {
namespace {

std::vector<std::string> split(std::string_view s) {
  static const PreTokenizer pre;
  std::vector<std::string_view> v;
  pre.split(s, v);
  return {v.begin(), v.end()};
}

using V = std::vector<std::string>;

TEST(PreTokenizer, MatchesPythonRegexFindall) {
  // Expected values: regex.findall(GPT-2 pattern, s).
  EXPECT_EQ(split("\n x"), (V{"\n", " x"}));
  EXPECT_EQ(split("\n\n<"), (V{"\n", "\n", "<"}));
  EXPECT_EQ(split("a  b"), (V{"a", " ", " b"}));
  EXPECT_EQ(split("a   \n  b"), (V{"a", "   \n ", " b"}));
  EXPECT_EQ(split("x   "), (V{"x", "   "}));
  EXPECT_EQ(split("\t\tx"), (V{"\t", "\t", "x"}));
  EXPECT_EQ(split("I'M it'S"), (V{"I", "'", "M", " it", "'", "S"}));  // contractions are case-sensitive
  EXPECT_EQ(split("don't"), (V{"don", "'t"}));
  EXPECT_EQ(split("e\xCC\x81t"), (V{"e", "\xCC\x81", "t"}));  // a combining mark is neither L nor N
  EXPECT_EQ(split("\xEF\xBC\x93\xEF\xBC\x94" "ab"), (V{"\xEF\xBC\x93\xEF\xBC\x94", "ab"}));  // fullwidth digits
  EXPECT_EQ(split("\xC2\xA0" "a"), (V{"\xC2\xA0", "a"}));  // NBSP is \s; " ?" is U+0020 only
  EXPECT_EQ(split("x\xE3\x80\x80\xE3\x80\x80y"), (V{"x", "\xE3\x80\x80", "\xE3\x80\x80", "y"}));
  EXPECT_EQ(split("a\xE2\x80\xA8"), (V{"a", "\xE2\x80\xA8"}));
  EXPECT_EQ(split("你好，世界！"), (V{"你好", "，", "世界", "！"}));
  EXPECT_EQ(split(" 中文abc 123"), (V{" 中文abc", " 123"}));
}

TEST(PreTokenizer, WhitespaceIsUnicodeWhiteSpaceLikePythonRegex) {
  // U+0085 is \s for the regex module (and for us; PCRE2 and Python agree, JavaScript does not).
  EXPECT_EQ(split("a\xC2\x85" "b"), (V{"a", "\xC2\x85", "b"}));
  EXPECT_EQ(split("a\xC2\x85 b"), (V{"a", "\xC2\x85", " b"}));
  // U+FEFF is not \s for the regex module (JavaScript's \s matches it): it is "punctuation".
  EXPECT_EQ(split("a\xEF\xBB\xBF" "b"), (V{"a", "\xEF\xBB\xBF", "b"}));
  EXPECT_EQ(split("a \xEF\xBB\xBF"), (V{"a", " \xEF\xBB\xBF"}));
  // U+180E: PCRE2's UCP \s would match it (via \h); the regex module's does not.
  EXPECT_EQ(split("x\xE1\xA0\x8E y"), (V{"x", "\xE1\xA0\x8E", " y"}));
  // U+001C..U+001F: str.isspace() is true but the regex module's \s does not match them.
  EXPECT_EQ(split("x\x1c y"), (V{"x", "\x1c", " y"}));
  EXPECT_EQ(split("x\x1c\x1c"), (V{"x", "\x1c\x1c"}));
}

TEST(PreTokenizer, LongInputsStayLinear) {
  // 1 MB of one class each: must neither fail (JIT stack) nor take quadratic time.
  for (const std::string unit : {" ", "a", "中", "1", "!", "\n "}) {
    std::string s;
    while (s.size() < (1u << 20)) s += unit;
    std::vector<std::string_view> v;
    static const PreTokenizer pre;
    pre.split(s, v);
    size_t total = 0;
    for (auto p : v) total += p.size();
    EXPECT_EQ(total, s.size()) << "unit " << unit;
  }
}

TEST(Utf8, DecodeReplaceMatchesCPython) {
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::decode_replace("\xE4\xB8"), R);
  EXPECT_EQ(utf8::decode_replace("\xE4\xB8" "A"), R + "A");
  EXPECT_EQ(utf8::decode_replace("\xE0\x80\x80"), R + R + R);  // overlong
  EXPECT_EQ(utf8::decode_replace("\xED\xA0\x80"), R + R + R);  // surrogate
  EXPECT_EQ(utf8::decode_replace("\xF0\x90\x80"), R);           // truncated 4-byte
  EXPECT_EQ(utf8::decode_replace("\xF4\x90\x80\x80"), R + R + R + R);  // > U+10FFFF
  EXPECT_EQ(utf8::decode_replace("\xC0\xAF"), R + R);
  EXPECT_EQ(utf8::decode_replace("\xFF\xFE"), R + R);
  EXPECT_EQ(utf8::decode_replace("\x80\x80"), R + R);
  EXPECT_EQ(utf8::decode_replace("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(utf8::decode_replace("a\xF0\x9F\x98"), "a" + R);
  EXPECT_EQ(utf8::decode_replace("\xE0\xA0"), R);
  EXPECT_EQ(utf8::decode_replace("\xE0\xA0\xC0"), R + R);
  EXPECT_EQ(utf8::decode_replace("\xF5\x80"), R + R);
  EXPECT_EQ(utf8::decode_replace(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(Utf8, IncompleteTailAndStrip) {
  EXPECT_EQ(utf8::incomplete_tail("a\xE4\xB8"), 2u);
  EXPECT_EQ(utf8::incomplete_tail("a\xE4"), 1u);
  EXPECT_EQ(utf8::incomplete_tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(utf8::incomplete_tail("\xE4\xB8\xAD"), 0u);
  EXPECT_EQ(utf8::incomplete_tail("\xE0\x80"), 0u);  // can never complete: not held back
  EXPECT_EQ(utf8::incomplete_tail("a\x80"), 0u);
  EXPECT_EQ(utf8::incomplete_tail(""), 0u);
  EXPECT_EQ(utf8::py_rstrip("a \n\t\x1c\xC2\x85\xE3\x80\x80"), "a");
  EXPECT_EQ(utf8::py_lstrip("\xE2\x80\xA8 \nb "), "b ");
  EXPECT_EQ(utf8::py_lstrip("\xEF\xBB\xBFx"), "\xEF\xBB\xBFx");  // U+FEFF is not whitespace
  EXPECT_EQ(utf8::py_rstrip("   "), "");
}

}  // namespace
}  // namespace moss
