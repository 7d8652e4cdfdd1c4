// A LanguageModel for tests: it "predicts" a fixed script of tokens. The logits it returns make the
// next scripted token win by a margin that survives any repetition penalty, temperature, top-k and
// top-p setting in use (sure sample, and argmax for greedy). The k-th call of eval predicts
// script[k]: a caller samples from every logits row it asks for, so each call consumes one
// prediction (whatever token the caller then appends, e.g. a stop marker it replaced). It also
// counts evaluated tokens, so tests can check that history is not recomputed.
#pragma once
#include <vector>

#include "generate/language_model.h"

namespace moss {

class ScriptedLanguageModel : public LanguageModel {
 public:
  // `fallback` is predicted once the script is exhausted.
  ScriptedLanguageModel(int32_t n_vocab, int32_t n_ctx, std::vector<int32_t> script, int32_t fallback);

  int32_t n_vocab() const override { return n_vocab_; }
  int32_t n_ctx() const override { return n_ctx_; }
  std::span<const float> eval(std::span<const int32_t> tokens) override;
  size_t n_past() const override { return context_.size(); }
  void truncate(size_t n) override;

  // Every token ever passed to eval, counting re-evaluations.
  size_t tokens_evaluated() const { return tokens_evaluated_; }
  size_t eval_calls() const { return eval_calls_; }
  const std::vector<int32_t>& context() const { return context_; }
  size_t script_position() const { return next_; }

 private:
  int32_t n_vocab_, n_ctx_;
  std::vector<int32_t> script_;
  int32_t fallback_;
  std::vector<int32_t> context_;
  std::vector<float> logits_;
  size_t next_ = 0;
  size_t tokens_evaluated_ = 0, eval_calls_ = 0;
};

}  // namespace moss
