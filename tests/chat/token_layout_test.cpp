// The conversation's token layout equals the reference tokenization of the training text: for each
// of the 1,120 SFT conversations, encoding the whole text at once with special tokens parsed (what
// finetune_moss.py does) gives the same ids as the loop's pieces: the meta instruction, then per
// turn the program-written text encoded without special tokens, the markers inserted as ids, and
// the generated fields encoded on their own. Uses the GPT-2 BPE with MOSS's added tokens (the
// tokenizer tests' helper); only the split points matter here, not the vocabulary.
#include <gtest/gtest.h>

#include "../tokenizer/tok_test_util.h"
#include "chat/conversation.h"
#include "sft_data.h"

namespace moss {
namespace {

TEST(TokenLayout, MatchesWholeTextTokenizationOfEverySftConversation) {
  const Tokenizer& tok = test::moss();
  TokenizerCodec codec(tok);
  size_t convs = 0, tokens = 0, marker_text = 0;
  auto has_marker_text = [](const Turn& t) {
    for (const std::string* f : {&t.human, &t.inner_thoughts, &t.commands, &t.results.body, &t.answer})
      for (const char* m : {"<eoh>", "<eot>", "<eoc>", "<eor>", "<eom>", "<|endoftext|>"})
        if (f->find(m) != std::string::npos) return true;
    return false;
  };
  for (const auto& c : test::sft_conversations()) {
    bool skip = false;
    std::string whole = c.json["meta_instruction"];
    std::vector<int32_t> mine = codec.encode_text(whole);
    for (const auto& t : test::sft_turns(c.json)) {
      const std::string h = t["Human"], th = t["Inner Thoughts"], cm = t["Commands"], r = t["Tool Responses"],
                        m = t["MOSS"];
      whole += h + th + cm + r + m;
      const auto turn = parse_sft_turn(h, th, cm, r, m);
      ASSERT_TRUE(turn.has_value());
      skip |= has_marker_text(*turn);
      const auto ids = Conversation::turn_tokens(*turn, TurnLayout::FiveField, codec);
      mine.insert(mine.end(), ids.begin(), ids.end());
    }
    // A field that contains marker text ("…<|1|><eor>" in 3 answers of one file) is a special token in the
    // training tokenization, but text typed by a user or generated as plain tokens is never one
    // in the loop: those conversations cannot match by design.
    if (skip) {
      ++marker_text;
      continue;
    }
    const std::vector<int32_t> ref = tok.encode(whole, /*parse_special=*/true);
    if (mine != ref) {
      size_t i = 0;
      while (i < mine.size() && i < ref.size() && mine[i] == ref[i]) ++i;
      std::string ctx, a, b;
      for (size_t k = i >= 8 ? i - 8 : 0; k < i; ++k) ctx += tok.token_bytes(ref[k]) + "|";
      for (size_t k = i; k < std::min(i + 6, mine.size()); ++k) a += tok.token_bytes(mine[k]) + "|";
      for (size_t k = i; k < std::min(i + 6, ref.size()); ++k) b += tok.token_bytes(ref[k]) + "|";
      ADD_FAILURE() << c.path << "\nfirst difference at token " << i << " after [" << ctx << "]\n  loop: [" << a
                    << "]\n  whole text: [" << b << "]";
      continue;
    }
    ++convs;
    tokens += ref.size();
  }
  EXPECT_EQ(marker_text, 1u);  // one web_search conversation (its 3 answers end "<|1|><eor>")
  EXPECT_EQ(convs, 1120u - 1u);
  std::printf("%zu conversations, %zu tokens\n", convs, tokens);
}

}  // namespace
}  // namespace moss
