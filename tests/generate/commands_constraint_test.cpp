// The Commands-stage constraint: the byte automaton on every Commands line of the official plugin
// conversations, and the token-level mask against a brute-force check on the GPT-2 vocabulary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>

#include "generate/commands_automaton.h"
#include "generate/token_constraint.h"
#include "util/error.h"

namespace moss {
namespace {

const std::vector<std::string> kAllNames = {"Search", "Calculate", "Solve", "Text2Image"};

TEST(CommandsAutomaton, AcceptsTheGrammar) {
  CommandsAutomaton a({"Search", "Calculate"});
  EXPECT_TRUE(a.accepts(" None"));
  EXPECT_TRUE(a.accepts(" Search(\"x\")"));
  EXPECT_TRUE(a.accepts(" Search(\"乔布斯 影响力\"), Calculate(\"2^10\")"));
  EXPECT_FALSE(a.accepts("None"));                   // the leading space is part of the stage
  EXPECT_FALSE(a.accepts(" None."));
  EXPECT_FALSE(a.accepts(" Solve(\"x=1\")"));       // not enabled
  EXPECT_FALSE(a.accepts(" Search(\"\")"));         // empty argument
  EXPECT_FALSE(a.accepts(" Search(\"a\\\"b\")"));   // no escapes
  EXPECT_FALSE(a.accepts(" Search(\"a\nb\")"));     // no newline inside
  EXPECT_FALSE(a.accepts(" Search(\"a\"),Search(\"b\")"));
  EXPECT_FALSE(a.accepts(" Search(\"a\")"
                         ", None"));
  EXPECT_FALSE(a.accepts(" Search(\"a\""));         // unfinished
  EXPECT_FALSE(a.accepts(" Searc(\"a\")"));
}

TEST(CommandsAutomaton, EnforcesLimits) {
  CommandsAutomaton a({"Calculate"}, {.max_calls = 2, .max_arg_bytes = 4});
  EXPECT_TRUE(a.accepts(" Calculate(\"1234\"), Calculate(\"1\")"));
  EXPECT_FALSE(a.accepts(" Calculate(\"12345\")"));
  EXPECT_FALSE(a.accepts(" Calculate(\"1\"), Calculate(\"1\"), Calculate(\"1\")"));
}

TEST(CommandsAutomaton, NamesThatArePrefixesOfOthers) {
  CommandsAutomaton a({"Search", "SearchMore"});
  EXPECT_TRUE(a.accepts(" Search(\"a\")"));
  EXPECT_TRUE(a.accepts(" SearchMore(\"a\")"));
  EXPECT_FALSE(a.accepts(" SearchM(\"a\")"));
}

// Every Commands line of the 500 plugin conversations. Well-formedness is decided by an independent
// regular expression; the enabled set comes from each conversation's meta instruction.
TEST(CommandsAutomaton, OfficialPluginConversations) {
  const std::filesystem::path root = std::filesystem::path(MOSS_SHARED_DIR) /
                                     "data/moss-003-sft/conversations/conversation_with_plugins";
  ASSERT_TRUE(std::filesystem::exists(root)) << root;
  const std::regex call_re(R"((Search|Calculate|Solve|Text2Image)\("[^"\\\x00-\x1f\x7f]+"\))");
  const std::regex line_re(
      R"( (None|(Search|Calculate|Solve|Text2Image)\("[^"\\\x00-\x1f\x7f]+"\)(, (Search|Calculate|Solve|Text2Image)\("[^"\\\x00-\x1f\x7f]+"\))*))");
  const std::map<std::string, std::string> meta_line = {{"Search", "- Web search: enabled."},
                                                        {"Calculate", "- Calculator: enabled."},
                                                        {"Solve", "- Equation solver: enabled."},
                                                        {"Text2Image", "- Text-to-image: enabled."}};
  int lines = 0, well_formed = 0, malformed = 0, with_calls = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const auto conv = nlohmann::json::parse(in);
    std::vector<std::string> enabled;
    for (const auto& [name, line] : meta_line)
      if (conv["meta_instruction"].get<std::string>().find(line) != std::string::npos) enabled.push_back(name);
    CommandsAutomaton grammar_enabled(enabled, {.max_calls = 16, .max_arg_bytes = 1024});
    CommandsAutomaton grammar_all(kAllNames, {.max_calls = 16, .max_arg_bytes = 1024});
    for (const auto& [turn, fields] : conv["chat"].items()) {
      std::string field = fields["Commands"];
      const std::string head = "<|Commands|>:", tail = "<eoc>\n";
      ASSERT_EQ(field.rfind(head, 0), 0u) << entry.path();
      ASSERT_GE(field.size(), head.size() + tail.size());
      const std::string body = field.substr(head.size(), field.size() - head.size() - tail.size());
      ++lines;
      const bool ok = std::regex_match(body, line_re);
      well_formed += ok;
      malformed += !ok;
      EXPECT_EQ(grammar_all.accepts(body), ok) << entry.path() << " " << body;
      if (!ok) continue;
      // Every plugin a well-formed line calls is enabled in its conversation...
      std::set<std::string> used;
      for (auto it = std::sregex_iterator(body.begin(), body.end(), call_re); it != std::sregex_iterator(); ++it)
        used.insert((*it)[1]);
      EXPECT_TRUE(grammar_enabled.accepts(body)) << entry.path() << " " << body;
      if (used.empty()) continue;
      ++with_calls;
      // ...and disabling any one of them makes the line impossible.
      for (const auto& drop : used) {
        std::vector<std::string> fewer;
        for (const auto& n : kAllNames)
          if (n != drop) fewer.push_back(n);
        CommandsAutomaton g(fewer, {.max_calls = 16, .max_arg_bytes = 1024});
        EXPECT_FALSE(g.accepts(body)) << "accepted with " << drop << " disabled: " << body;
      }
    }
  }
  std::printf("Commands lines: %d, well-formed: %d (with calls: %d), malformed: %d\n", lines, well_formed,
              with_calls, malformed);
  EXPECT_EQ(lines, 950);
  EXPECT_GT(well_formed, 900);
}

// GPT-2's vocabulary as raw bytes (encoder.json keys through the inverse byte<->unicode map).
std::vector<std::string> gpt2_token_bytes() {
  std::ifstream in(std::string(MOSS_SHARED_DIR) + "/data/gpt2-bpe/encoder.json");
  const auto enc = nlohmann::json::parse(in);
  std::vector<int> byte_of(0x200, -1);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool direct = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    byte_of[direct ? b : 256 + n++] = b;
  }
  std::vector<std::string> out(enc.size());
  for (const auto& [text, id] : enc.items()) {
    std::string bytes;
    for (size_t i = 0; i < text.size();) {  // decode UTF-8 code points
      const unsigned char c = static_cast<unsigned char>(text[i]);
      const int len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
      uint32_t cp = len == 1 ? c : c & (0x3f >> (len - 1));
      for (int k = 1; k < len; ++k) cp = cp << 6 | (static_cast<unsigned char>(text[i + k]) & 0x3f);
      i += static_cast<size_t>(len);
      bytes += static_cast<char>(byte_of.at(cp));
    }
    out.at(id.get<size_t>()) = bytes;
  }
  return out;
}

TEST(TokenConstraint, MatchesBruteForceAndOnlyProducesValidCommands) {
  auto vocab = gpt2_token_bytes();
  const int32_t end_token = static_cast<int32_t>(vocab.size());
  vocab.push_back("<eoc>");  // special: its text must never count as bytes
  vocab.push_back("<eom>");
  std::vector<bool> special(vocab.size(), false);
  special[vocab.size() - 2] = special[vocab.size() - 1] = true;

  CommandsAutomaton grammar({"Search", "Calculate"}, {.max_calls = 3, .max_arg_bytes = 40});
  TokenConstraint constraint(grammar, vocab, special, end_token);
  std::mt19937 rng(7);
  std::vector<uint8_t> allowed;
  for (int sample = 0; sample < 40; ++sample) {
    auto state = grammar.start();
    std::string text;
    for (int step = 0; step < 200; ++step) {
      constraint.allowed(state, allowed);
      // Brute force: each token's bytes through the automaton.
      for (size_t id = 0; id < vocab.size(); ++id) {
        bool expect;
        if (static_cast<int32_t>(id) == end_token)
          expect = grammar.accepting(state);
        else if (special[id])
          expect = false;
        else
          expect = grammar.step_all(state, vocab[id].data(), vocab[id].size()).has_value();
        ASSERT_EQ(allowed[id] != 0, expect) << "token " << id << " after '" << text << "'";
      }
      std::vector<int32_t> choices;
      for (size_t id = 0; id < allowed.size(); ++id)
        if (allowed[id]) choices.push_back(static_cast<int32_t>(id));
      ASSERT_FALSE(choices.empty()) << "dead end after '" << text << "'";
      // Prefer ending once possible half of the time so that samples finish.
      int32_t pick = choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)];
      if (allowed[static_cast<size_t>(end_token)] && rng() % 2) pick = end_token;
      if (pick == end_token) break;
      state = constraint.advance(state, pick);
      text += vocab[static_cast<size_t>(pick)];
    }
    EXPECT_TRUE(grammar.accepts(text)) << text;
  }
}

TEST(TokenConstraint, MasksLogitsIncludingPaddingRows) {
  std::vector<std::string> vocab = {" None", " ", "None", "x", "<eoc>"};
  std::vector<bool> special = {false, false, false, false, true};
  CommandsAutomaton grammar({"Search"});
  TokenConstraint constraint(grammar, vocab, special, 4);
  std::vector<float> logits(8, 1.0f);  // 3 padding rows beyond the vocabulary
  EXPECT_EQ(constraint.apply(grammar.start(), logits), 2u);  // " None" and " "
  EXPECT_EQ(logits[0], 1.0f);
  EXPECT_EQ(logits[1], 1.0f);
  for (size_t i = 2; i < logits.size(); ++i) EXPECT_TRUE(std::isinf(logits[i])) << i;
  const auto done = constraint.advance(grammar.start(), 0);
  std::vector<float> after(5, 0.0f);
  EXPECT_EQ(constraint.apply(done, after), 1u);  // only <eoc>
  EXPECT_EQ(after[4], 0.0f);
  EXPECT_THROW(constraint.advance(grammar.start(), 3), Error);
}

}  // namespace
}  // namespace moss
