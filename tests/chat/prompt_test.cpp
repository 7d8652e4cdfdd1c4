// Prompt assembly reproduces every one of the 1,120 SFT conversations byte for byte: the meta
// instruction from the plugin set read off the file's own status lines, and each turn from the
// fields parsed out of the data.
#include "chat/prompt.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "sft_data.h"
#include "util/error.h"

namespace moss {
namespace {

// The enabled set, read from the file's meta instruction ("- Calculator: enabled." ...).
PluginSet plugins_of(const std::string& meta) {
  PluginSet p;
  p.inner_thoughts = meta.find("- Inner thoughts: enabled.") != std::string::npos;
  p.search = meta.find("- Web search: enabled.") != std::string::npos;
  p.calculator = meta.find("- Calculator: enabled.") != std::string::npos;
  p.solver = meta.find("- Equation solver: enabled.") != std::string::npos;
  p.text2image = meta.find("- Text-to-image: enabled.") != std::string::npos;
  return p;
}

TEST(Prompt, BaseMatchesMetaInstructionFile) {
  std::ifstream f(std::string(MOSS_SHARED_DIR) + "/data/moss-003-sft/meta_instruction.txt");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string file = ss.str();
  ASSERT_EQ(file.size(), 1189u);
  EXPECT_EQ(file.substr(0, meta_instruction_base().size()), meta_instruction_base());
  // 1,025 characters; "中文" is 2 characters of 3 bytes each.
  EXPECT_EQ(meta_instruction_base().size(), 1025u + 4u);
  EXPECT_TRUE(meta_instruction_base().ends_with("Capabilities and tools that MOSS can possess.\n"));
}

TEST(Prompt, ReproducesEverySftConversation) {
  const auto& all = test::sft_conversations();
  ASSERT_EQ(all.size(), 1120u);
  size_t turns = 0, plugin_files = 0;
  for (const auto& c : all) {
    const std::string meta = c.json["meta_instruction"];
    const PluginSet p = plugins_of(meta);
    EXPECT_EQ(p.inner_thoughts, c.plugin) << c.path;
    plugin_files += c.plugin;
    std::string want = meta, got = meta_instruction(p);
    for (const auto& t : test::sft_turns(c.json)) {
      const std::string h = t["Human"], th = t["Inner Thoughts"], cm = t["Commands"], r = t["Tool Responses"],
                        m = t["MOSS"];
      want += h + th + cm + r + m;
      auto turn = parse_sft_turn(h, th, cm, r, m);
      ASSERT_TRUE(turn.has_value()) << c.path;
      got += format_turn(*turn, TurnLayout::FiveField);
      ++turns;
    }
    ASSERT_EQ(got, want) << c.path;
  }
  EXPECT_EQ(plugin_files, 500u);
  EXPECT_GT(turns, 4000u);
}

TEST(Prompt, TwoFieldLayout) {
  Turn t;
  t.human = "Hi";
  t.answer = "Hello!";
  EXPECT_EQ(format_turn(t, TurnLayout::TwoField), "<|Human|>: Hi<eoh>\n<|MOSS|>: Hello!<eom>\n");
}

TEST(Prompt, PluginListParsing) {
  PluginSet p = PluginSet::parse("search, calculator");
  EXPECT_TRUE(p.search && p.calculator && p.inner_thoughts && !p.solver && !p.text2image);
  EXPECT_EQ(p.to_string(), "search,calculator");
  EXPECT_FALSE(PluginSet::parse("").inner_thoughts);
  EXPECT_FALSE(PluginSet::parse("none").any_tool());
  EXPECT_THROW(PluginSet::parse("search,tts"), Error);
  EXPECT_TRUE(meta_instruction(PluginSet{}).find("- Web search: disabled.\n") != std::string::npos);
}

}  // namespace
}  // namespace moss
