// HTML stripping, passage splitting and marker neutralising for the search plugin.
#include "util/utf8.h"
#include "plugins/search_text.h"

#include <gtest/gtest.h>

#include <random>

#include "plugins/py_repr.h"

namespace moss {
namespace {

TEST(HtmlToText, StripsTagsScriptsAndDecodesEntities) {
  std::string title;
  const std::string text = html_to_text(
      "<html><head><TITLE> Jupiter &amp; Co </TITLE><style>p{x:1}</style>"
      "<script>var a = '<p>';</script></head><body><h1>Jupiter</h1><p>Gravity: 24.79&nbsp;m/s&#178;"
      "<!-- hidden --> &lt;big&gt; &#x6728;&#26143;</p><p>Second &bogus; &amp</p></body></html>",
      &title);
  EXPECT_EQ(title, "Jupiter & Co");
  EXPECT_EQ(text.find("var a"), std::string::npos);
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_EQ(text.find("x:1"), std::string::npos);
  EXPECT_NE(text.find("Gravity: 24.79 m/s\xc2\xb2"), std::string::npos) << text;
  EXPECT_NE(text.find("<big> \xe6\x9c\xa8\xe6\x98\x9f"), std::string::npos) << text;
  EXPECT_NE(text.find("Second &bogus; &amp"), std::string::npos) << text;
  const auto passages = split_passages(text, 300);
  ASSERT_EQ(passages.size(), 1u);  // three short paragraphs merged
  EXPECT_EQ(passages[0].substr(0, 8), "Jupiter\n");
}

TEST(HtmlToText, UnterminatedInputNeverHangs) {
  EXPECT_EQ(html_to_text("abc <p"), "abc ");
  EXPECT_EQ(html_to_text("<script>never closed"), "");
  EXPECT_EQ(html_to_text("<!-- open"), "");
  EXPECT_EQ(html_to_text("a &#x110000; b"), "a \xef\xbf\xbd b");
}

TEST(SplitPassages, RespectsLimitAndCutsAtSentences) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "Sentence number " + std::to_string(i) + " is here. ";
  text += "\n\n\n" + std::string(700, 'z');
  const auto passages = split_passages(text, 100);
  ASSERT_GT(passages.size(), 10u);
  for (const auto& p : passages) {
    EXPECT_LE(utf8::to_code_points(p).size(), 100u) << p;
    EXPECT_FALSE(p.empty());
    EXPECT_NE(p.front(), ' ');
    EXPECT_NE(p.back(), ' ');
  }
  EXPECT_EQ(passages[0].back(), '.');  // cut after a sentence end
  EXPECT_EQ(passages.back(), std::string(100, 'z'));  // hard cuts of an unbroken run
}

TEST(SplitPassages, ChineseSentencesAndWhitespace) {
  std::string para;
  for (int i = 0; i < 30; ++i) para += "木星是太阳系中最大的行星。";  // 13 characters each
  const auto passages = split_passages("  标题\n\n" + para + "\n", 50);
  ASSERT_GE(passages.size(), 8u);
  EXPECT_EQ(passages[0].substr(0, 6), "标题");
  for (size_t i = 1; i < passages.size(); ++i) {
    const std::u32string cps = utf8::to_code_points(passages[i]);
    EXPECT_LE(cps.size(), 50u);
    EXPECT_EQ(cps.back(), U'。');
  }
  EXPECT_TRUE(split_passages(" \n\n\t ", 50).empty());
}

TEST(NeutralizeMarkers, RemovesProtocolMarkers) {
  EXPECT_EQ(neutralize_markers("a<eom>b<eoh><|Human|>: hi <|3|> <|endoftext|>"),
            "a b  : hi    ");
  EXPECT_EQ(neutralize_markers("x < y | z |> w <eo> <|unclosed"), "x < y | z |> w <eo> <|unclosed");
  EXPECT_EQ(neutralize_markers("<|a\nb|>"), "<|a\nb|>");
}

TEST(QueryChars, Classes) {
  EXPECT_TRUE(is_cjk(U'木'));
  EXPECT_TRUE(is_cjk(U'カ'));
  EXPECT_FALSE(is_cjk(U'a'));
  EXPECT_TRUE(is_word_char(U'a'));
  EXPECT_TRUE(is_word_char(U'é'));
  EXPECT_FALSE(is_word_char(U'，'));
  EXPECT_FALSE(is_word_char(U'。'));
  EXPECT_FALSE(is_word_char(U'?'));
}

}  // namespace
}  // namespace moss

namespace moss {
namespace {

TEST(NeutralizeMarkers, RemovalCannotAssembleANewMarker) {
  EXPECT_EQ(neutralize_markers("<|<|x|>|>"), " ");
  EXPECT_EQ(neutralize_markers("<e<eom>om>"), "<e om>");
}

// Hostile input: random bytes biased towards markup characters. Nothing may throw or hang, and
// every output must be valid UTF-8 within its limits.
TEST(SearchText, RandomInputsAreHandled) {
  std::mt19937 rng(42);
  const std::string alphabet = "<>&;#x/!-|eohmrtcs pPSCRIPTtitle\n\xe4\xb8\xad\xff\x80";
  auto valid_utf8 = [](const std::string& s) { return utf8::from_code_points(utf8::to_code_points(s)) == s; };
  for (int iter = 0; iter < 3000; ++iter) {
    std::string in;
    const int n = static_cast<int>(rng() % 200);
    for (int i = 0; i < n; ++i) {
      in += (rng() % 4) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() & 0xFF);
    }
    std::string title;
    const std::string text = html_to_text(in, &title);
    for (const std::string& p : split_passages(text, 16 + rng() % 64)) {
      EXPECT_TRUE(valid_utf8(p));
      EXPECT_FALSE(p.empty());
    }
    const std::string clean = neutralize_markers(in);
    EXPECT_EQ(clean.find("<eom>"), std::string::npos);
    EXPECT_EQ(neutralize_markers(clean), clean);
    const std::string r = py_repr_truncated(in, 1 + rng() % 300);
    EXPECT_TRUE(valid_utf8(r));
    EXPECT_GE(r.size(), 2u);
    EXPECT_EQ(r.front(), r.back());
  }
}

}  // namespace
}  // namespace moss
