// The command parser on every Commands line of the 500 plugin conversations, and on the odd forms
// of spec 7.2 / 7.7 one by one.
#include "chat/command_parser.h"

#include <gtest/gtest.h>

#include <regex>

#include "sft_data.h"

namespace moss {
namespace {

std::string commands_of(const nlohmann::json& turn) {
  std::string c = turn["Commands"];
  return c.substr(std::string("<|Commands|>: ").size(), c.size() - 14 - 6);
}

TEST(CommandParser, EveryPluginCommandsLine) {
  // The spec counts calls by the pattern Name("…"); count the openings `Name("` the same way.
  const std::regex known(R"x((Search|Calculate|Solve|Text2Image)\(")x");
  size_t lines = 0, calls = 0, nones = 0;
  std::map<std::string, size_t> per_tool;
  for (const auto& c : test::sft_conversations()) {
    if (!c.plugin) continue;
    for (const auto& t : test::sft_turns(c.json)) {
      const std::string text = commands_of(t);
      ++lines;
      const ParsedCommands pc = parse_commands(text);
      const auto n_known = std::distance(std::sregex_iterator(text.begin(), text.end(), known), std::sregex_iterator());
      size_t got_known = 0;
      for (const auto& call : pc.calls) {
        if (call.name == "Search" || call.name == "Calculate" || call.name == "Solve" || call.name == "Text2Image") {
          ++got_known;
          per_tool[call.name]++;
        }
      }
      EXPECT_EQ(got_known, static_cast<size_t>(n_known)) << text;
      // Every `Identifier("` that is not part of another call's argument is a call.
      if (n_known == 0) {
        EXPECT_TRUE(pc.none) << text;
      }
      calls += got_known;
      nones += pc.none;
    }
  }
  EXPECT_EQ(lines, 950u);
  // Spec 7.2 counts complete calls Name("…") (Calculate 184 + 138, Search 363 + 231, Solve 94 + 17,
  // Text2Image 100). We count every call opening, which adds the 5 calls the spec calls malformed:
  // Calculate with a Python expression argument (3: two `"("+ str(2) …`, one `"…".format(…)`) and
  // Solve with a second quoted argument (2).
  EXPECT_EQ(per_tool["Calculate"], 322u + 3u);
  EXPECT_EQ(per_tool["Search"], 594u);
  EXPECT_EQ(per_tool["Solve"], 111u + 2u);
  EXPECT_EQ(per_tool["Text2Image"], 100u);
  EXPECT_EQ(calls, 1127u + 5u);
  // Spec 7.2's 0-call turns, 36 + 6 + 8 + 3 = 53, include the 4 turns whose only calls are those
  // malformed ones (2 calculator, 2 equation_solver); they are calls for us.
  EXPECT_EQ(nones, 53u - 4u);
}

TEST(CommandParser, SimpleAndSeparators) {
  auto p = parse_commands(R"x(Calculate("8*4+3"), Calculate("-7-35*4"))x");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[0].argument, "8*4+3");
  EXPECT_EQ(p.calls[1].argument, "-7-35*4");
  EXPECT_FALSE(p.none);
  p = parse_commands("Search(\"a b\"), \nSearch(\"c\"), \nCalculate(\"325/(325+285)\"),");
  ASSERT_EQ(p.calls.size(), 3u);
  EXPECT_EQ(p.calls[2].argument, "325/(325+285)");
  EXPECT_EQ(p.calls[2].echo(), "Calculate(\"325/(325+285)\")");
}

TEST(CommandParser, NumberedListWithComments) {
  auto p = parse_commands("1. Calculate(\"20/2\")  # 计算出球的半径(cm)\n2. Calculate(\"(4/3)*3.14\")  # 体积");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[0].argument, "20/2");
  EXPECT_EQ(p.calls[1].argument, "(4/3)*3.14");
}

TEST(CommandParser, NoneForms) {
  for (const char* s : {"None", "None.", "Non", "None (This question doesn't require any external API calls.)",
                        "None. \n\n根据勾股定理 sqrt(3)", "", "  "}) {
    auto p = parse_commands(s);
    EXPECT_TRUE(p.none) << s;
    EXPECT_TRUE(p.calls.empty()) << s;
  }
  auto p = parse_commands(R"x(Search("美国 GDP 增长"), None)x");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_TRUE(p.none_in_list);
  EXPECT_FALSE(p.none);
}

TEST(CommandParser, UnknownToolExtraArgumentAndExpressions) {
  auto p = parse_commands(R"x(Search("top 10"), Count("AI companies"))x");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[1].name, "Count");
  EXPECT_FALSE(p.calls[1].malformed);

  p = parse_commands(R"x(Solve("2x+3x+4x=30", "x"))x");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].argument, "2x+3x+4x=30");
  EXPECT_EQ(p.calls[0].extra_args, std::vector<std::string>{"x"});
  EXPECT_EQ(p.calls[0].echo(), R"x(Solve("2x+3x+4x=30"), "x")x");

  p = parse_commands(R"x(Calculate("("+ str(2) + str(-4) + ")" + "*" + str(6)))x");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_TRUE(p.calls[0].malformed);

  p = parse_commands(R"x(Calculate("d/dx (4 * 900 / x^2 + x^2)") = 0, Solve("900 / x^2 - x^2 = 0"))x");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[0].argument, "d/dx (4 * 900 / x^2 + x^2)");
  EXPECT_TRUE(p.stray_text);
  EXPECT_EQ(p.calls[1].name, "Solve");

  p = parse_commands(R"x(Search("What's up"))x");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].argument, "What's up");
}

TEST(CommandParser, GarbageNeverThrows) {
  for (const char* s : {"Calculate(", "Calculate(\"1+1", "Search(\"a\"b\")", "((((", "\"\"\"", ")))", "Calculate()",
                        "Calculate(1+1)", "x(\"", "\xff\xfe(\"", "Search(\"a\"), Search(\"b"}) {
    ParsedCommands p;
    EXPECT_NO_THROW(p = parse_commands(s)) << s;
  }
  auto p = parse_commands("Calculate(\"1+1");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_TRUE(p.calls[0].malformed);
  p = parse_commands("Calculate(1+1)");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_TRUE(p.calls[0].malformed);
}

}  // namespace
}  // namespace moss
