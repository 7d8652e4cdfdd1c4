// py_repr against CPython's repr() on the cases of tests/fixtures/plugins/search_repr/
// repr_cases.json (edge cases, SFT search snippets, random strings over many Unicode blocks), and
// the well-formed cut against the Python definition of the same rule.
#include "plugins/py_repr.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace moss {
namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

nlohmann::json load_cases() {
  std::ifstream in(MOSS_FIXTURE_DIR "/plugins/search_repr/repr_cases.json");
  EXPECT_TRUE(in) << "missing fixture repr_cases.json";
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

TEST(PyRepr, MatchesCPythonOnFixture) {
  const auto cases = load_cases();
  ASSERT_GT(cases.size(), 300u);
  size_t cuts = 0;
  for (const auto& c : cases) {
    const std::string text = from_hex(c["hex"]);
    EXPECT_EQ(py_repr(text), c["repr"].get<std::string>()) << "hex " << c["hex"];
    if (c.contains("cuts")) {
      for (const auto& cut : c["cuts"]) {
        const size_t n = cut[0].get<size_t>();
        EXPECT_EQ(py_repr_truncated(text, n), cut[1].get<std::string>())
            << "hex " << c["hex"] << " max " << n;
        ++cuts;
      }
    }
  }
  EXPECT_GT(cuts, 100u);
}

TEST(PyRepr, HandWrittenCases) {
  EXPECT_EQ(py_repr("it's"), "\"it's\"");
  EXPECT_EQ(py_repr("it's \"x\""), "'it\\'s \"x\"'");
  EXPECT_EQ(py_repr("a\nb"), "'a\\nb'");
  EXPECT_EQ(py_repr("\xe3\x80\x80"), "'\\u3000'");  // U+3000, as in the SFT snippets
  EXPECT_EQ(py_repr("\xc2\xa0"), "'\\xa0'");
}

TEST(PyRepr, InvalidUtf8BecomesReplacementCharacters) {
  // CPython's errors="replace": each maximal invalid subpart is one U+FFFD (printable, so it
  // appears as is): a cut-short character is one, an overlong or a surrogate one per byte.
  EXPECT_EQ(py_repr("a\xff" "b"), "'a\xef\xbf\xbd" "b'");
  EXPECT_EQ(py_repr("\xe4\xb8"), "'\xef\xbf\xbd'");                      // truncated sequence
  EXPECT_EQ(py_repr("\xc0\xaf"), "'\xef\xbf\xbd\xef\xbf\xbd'");          // overlong '/'
  EXPECT_EQ(py_repr("\xed\xa0\x80"), "'\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd'");  // surrogate
}

TEST(PyRepr, CutKeepsDataLengthAndReportsCut) {
  const std::string text(500, 'a');
  bool cut = false;
  const std::string r = py_repr_truncated(text, 300, &cut);
  EXPECT_TRUE(cut);
  EXPECT_EQ(r.size(), 301u);  // opening quote + 299 characters, then the closing quote
  EXPECT_EQ(r.front(), '\'');
  EXPECT_EQ(r.back(), '\'');
  EXPECT_EQ(py_repr_truncated("short", 300, &cut), "'short'");
  EXPECT_FALSE(cut);
  // An escape is never split: 'ab\n...' with room for "'ab\" keeps only "ab".
  EXPECT_EQ(py_repr_truncated("ab\ncd", 4), "'ab'");
}

TEST(PyRepr, Printable) {
  EXPECT_TRUE(py_isprintable(' '));
  EXPECT_FALSE(py_isprintable('\n'));
  EXPECT_TRUE(py_isprintable(0x4E2D));    // 中
  EXPECT_FALSE(py_isprintable(0x3000));   // ideographic space (Zs)
  EXPECT_FALSE(py_isprintable(0x200B));   // zero width space (Cf)
  EXPECT_FALSE(py_isprintable(0xE000));   // private use
  EXPECT_TRUE(py_isprintable(0x1F600));   // emoji
  EXPECT_FALSE(py_isprintable(0x10FFFF));  // unassigned
}

}  // namespace
}  // namespace moss
