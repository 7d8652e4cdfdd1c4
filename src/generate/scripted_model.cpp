// See scripted_model.h.
#include "generate/scripted_model.h"

#include <algorithm>

#include "util/error.h"

namespace moss {

ScriptedLanguageModel::ScriptedLanguageModel(int32_t n_vocab, int32_t n_ctx, std::vector<int32_t> script,
                                             int32_t fallback)
    : n_vocab_(n_vocab), n_ctx_(n_ctx), script_(std::move(script)), fallback_(fallback), logits_(n_vocab) {
  if (n_vocab <= 0 || n_ctx <= 0) fail("ScriptedLanguageModel: n_vocab and n_ctx must be positive");
  for (int32_t t : script_)
    if (t < 0 || t >= n_vocab) fail("ScriptedLanguageModel: script token ", t, " outside the vocabulary");
  if (fallback < 0 || fallback >= n_vocab) fail("ScriptedLanguageModel: fallback token outside the vocabulary");
}

std::span<const float> ScriptedLanguageModel::eval(std::span<const int32_t> tokens) {
  if (tokens.empty()) fail("LanguageModel::eval: no tokens");
  if (context_.size() + tokens.size() > static_cast<size_t>(n_ctx_))
    fail("LanguageModel::eval: context overflow (", context_.size() + tokens.size(), " > ", n_ctx_, ")");
  for (int32_t t : tokens)
    if (t < 0 || t >= n_vocab_) fail("LanguageModel::eval: token ", t, " outside the vocabulary");
  context_.insert(context_.end(), tokens.begin(), tokens.end());
  tokens_evaluated_ += tokens.size();
  ++eval_calls_;
  // 0 everywhere, 40 for the predicted token: with a repetition penalty up to 2 and a temperature
  // up to 1 the margin stays >= 20 nats, so all other tokens together get less than
  // n_vocab * e^-20 ~ 2e-9 * n_vocab of the mass: top-p < 0.99 keeps only the predicted token.
  std::fill(logits_.begin(), logits_.end(), 0.0f);
  const int32_t predicted = next_ < script_.size() ? script_[next_] : fallback_;
  logits_[predicted] = 40.0f;
  ++next_;
  return logits_;
}

void ScriptedLanguageModel::truncate(size_t n) {
  if (n > context_.size()) fail("LanguageModel::truncate: ", n, " > n_past ", context_.size());
  context_.resize(n);
}

}  // namespace moss
