// The token loop: sample, report, check the stop rules, feed the token back. Shared by the chat
// loop and any plain completion front end.
#pragma once
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "generate/language_model.h"
#include "generate/sampler.h"
#include "generate/stop_rules.h"

namespace moss {

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids, the stopping token included
  std::string text;             // their bytes (token_text of each), for stop strings
  StopReason reason = StopReason::None;
};

struct TokenLoopOptions {
  StopRules stop;
  int32_t n_valid = 0;  // ids >= n_valid are never sampled (0 = whole row)
  // Bytes a token stands for, used for stop strings (may be empty when there are none).
  std::function<std::string(int32_t)> token_text;
  // Called for every generated token; return false to stop (reason None).
  std::function<bool(int32_t)> on_token;
  // Called on every logits row before sampling; sets the logits of forbidden tokens to -inf
  // (constrained decoding, e.g. generate/token_constraint.h). At least one token must stay allowed.
  std::function<void(std::span<float>)> mask;
};

// Generates after `sequence`, which must be fully evaluated: lm.n_past() == sequence.size() and
// `logits` are the logits returned by that evaluation. Appends the generated ids to `sequence`.
// The last generated token is NOT evaluated (lm.n_past() == sequence.size() - 1 afterwards, unless
// nothing was generated), so a caller can append more text before the next eval. Stops with
// MaxLength when the context window is full.
GenerateResult generate_tokens(LanguageModel& lm, Sampler& sampler, std::vector<int32_t>& sequence,
                               std::span<const float> logits, const TokenLoopOptions& options);

}  // namespace moss
