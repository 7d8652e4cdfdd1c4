// Stop rules and the token loop, driven by the scripted model.
#include "generate/token_loop.h"

#include <gtest/gtest.h>

#include "generate/scripted_model.h"
#include "util/error.h"

namespace moss {
namespace {

TEST(StopRules, EachRule) {
  StopRules r;
  r.stop_ids = {9};
  r.stop_strings = {"END"};
  r.max_new_tokens = 5;
  r.max_length = 20;
  EXPECT_EQ(r.check(9, 1, 10, ""), StopReason::StopToken);
  EXPECT_EQ(r.check(1, 1, 10, "the END"), StopReason::StopString);
  EXPECT_EQ(r.check(1, 5, 10, ""), StopReason::MaxNewTokens);
  EXPECT_EQ(r.check(1, 2, 20, ""), StopReason::MaxLength);
  EXPECT_EQ(r.check(1, 2, 19, "EN"), StopReason::None);
}

TEST(TokenLoop, FollowsScriptAndStopsAtStopToken) {
  ScriptedLanguageModel lm(16, 64, {3, 4, 5, 9, 6}, 0);
  std::vector<int32_t> seq = {1, 2};
  auto logits = lm.eval(seq);
  Sampler s{SamplingParams{}};
  TokenLoopOptions o;
  o.stop.stop_ids = {9};
  std::vector<int32_t> seen;
  o.on_token = [&](int32_t t) {
    seen.push_back(t);
    return true;
  };
  GenerateResult r = generate_tokens(lm, s, seq, logits, o);
  EXPECT_EQ(r.tokens, (std::vector<int32_t>{3, 4, 5, 9}));
  EXPECT_EQ(seen, r.tokens);
  EXPECT_EQ(r.reason, StopReason::StopToken);
  EXPECT_EQ(seq.size(), 6u);
  EXPECT_EQ(lm.n_past(), 5u);  // the stop token is not evaluated
  EXPECT_EQ(lm.tokens_evaluated(), 5u);
}

TEST(TokenLoop, StopsWhenContextIsFull) {
  ScriptedLanguageModel lm(16, 6, {3, 3, 3, 3, 3, 3, 3}, 0);
  std::vector<int32_t> seq = {1, 2};
  auto logits = lm.eval(seq);
  Sampler s{SamplingParams{}};
  GenerateResult r = generate_tokens(lm, s, seq, logits, {});
  EXPECT_EQ(r.reason, StopReason::MaxLength);
  EXPECT_EQ(seq.size(), 6u);
}

TEST(TokenLoop, StopStringAndMaxNewTokens) {
  ScriptedLanguageModel lm(128, 64, {'a', 'b', 'c', 'd'}, 'z');
  std::vector<int32_t> seq = {1};
  auto logits = lm.eval(seq);
  Sampler s{SamplingParams{}};
  TokenLoopOptions o;
  o.stop.stop_strings = {"bc"};
  o.token_text = [](int32_t t) { return std::string(1, char(t)); };
  GenerateResult r = generate_tokens(lm, s, seq, logits, o);
  EXPECT_EQ(r.text, "abc");
  EXPECT_EQ(r.reason, StopReason::StopString);

  ScriptedLanguageModel lm2(128, 64, {}, 'z');
  std::vector<int32_t> seq2 = {1};
  auto l2 = lm2.eval(seq2);
  TokenLoopOptions o2;
  o2.stop.max_new_tokens = 3;
  GenerateResult r2 = generate_tokens(lm2, s, seq2, l2, o2);
  EXPECT_EQ(r2.tokens.size(), 3u);
  EXPECT_EQ(r2.reason, StopReason::MaxNewTokens);
}

TEST(ScriptedModel, RejectsOverflowAndBadTokens) {
  ScriptedLanguageModel lm(16, 4, {}, 0);
  const std::vector<int32_t> five = {1, 1, 1, 1, 1};
  EXPECT_THROW(lm.eval(five), Error);
  const std::vector<int32_t> bad = {99};
  EXPECT_THROW(lm.eval(bad), Error);
}

}  // namespace
}  // namespace moss
