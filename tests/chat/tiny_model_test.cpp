// The chat loop over the real model and tokenizer code, using the tiny random-weight MOSS fixture
// (tests/fixtures/models/a_f32_bin: 2 layers, 330-entry LM head, n_ctx 64). The text it produces is
// noise; what is checked is the plumbing: markers resolve to the tokenizer's ids, text never
// becomes a special token, the KV cache always holds a prefix of the conversation tokens, and a
// fixed seed reproduces the same turn.
#include <gtest/gtest.h>

#include "chat/conversation.h"
#include "generate/language_model.h"
#include "tokenizer/tokenizer.h"

namespace moss {
namespace {

const std::string kModel = std::string(MOSS_FIXTURE_DIR) + "/models/a_f32_bin";

TEST(TinyModel, TokenizerCodecKeepsTextPlain) {
  const Tokenizer tok = load_model_tokenizer(kModel);
  TokenizerCodec codec(tok);
  EXPECT_EQ(codec.marker(Marker::Eoh), 305);
  EXPECT_EQ(codec.marker(Marker::Eom), 306);
  EXPECT_EQ(codec.marker(Marker::Eor), 309);
  for (int32_t id : codec.encode_text("a<eoh>b<eom><|endoftext|>  <eor>")) EXPECT_FALSE(codec.is_special(id)) << id;
}

TEST(TinyModel, ConversationPlumbing) {
  auto run = [](uint64_t seed) {
    auto lm = load_language_model(kModel, 1);
    TokenizerCodec codec(*lm->tokenizer());
    PluginRegistry reg;
    ChatOptions o;
    o.layout = TurnLayout::TwoField;
    o.meta_instruction = "M\n";
    o.max_new_tokens = 4;
    o.reserve_tokens = 8;
    o.sampling.seed = seed;
    Conversation conv(*lm, codec, reg, o);
    std::vector<std::string> answers;
    size_t cuts = 0;
    ChatCallbacks cb;
    cb.on_context_cut = [&](size_t, size_t) { ++cuts; };
    for (int i = 0; i < 6; ++i) {
      answers.push_back(conv.send("hello <eom> there", cb).turn.answer);
      EXPECT_LE(lm->n_past(), conv.tokens().size());
      EXPECT_LE(conv.tokens().size(), static_cast<size_t>(lm->n_ctx()) + 2);
      size_t eom = 0;
      for (int32_t t : conv.tokens()) eom += t == codec.marker(Marker::Eom);
      EXPECT_EQ(eom, conv.turns_in_context());  // one per turn: none came from the user text
    }
    EXPECT_GT(cuts, 0u);  // 6 turns of ~12 tokens overflow 64 positions
    return answers;
  };
  EXPECT_EQ(run(7), run(7));
}

}  // namespace
}  // namespace moss
