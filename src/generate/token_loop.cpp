// See token_loop.h.
#include "generate/token_loop.h"

#include "util/error.h"

namespace moss {

GenerateResult generate_tokens(LanguageModel& lm, Sampler& sampler, std::vector<int32_t>& sequence,
                               std::span<const float> logits, const TokenLoopOptions& options) {
  if (lm.n_past() != sequence.size()) fail("generate_tokens: the sequence is not fully evaluated");
  if (logits.size() != static_cast<size_t>(lm.n_vocab())) fail("generate_tokens: logits row has the wrong width");
  GenerateResult res;
  std::vector<float> row(logits.begin(), logits.end());
  const size_t n_ctx = static_cast<size_t>(lm.n_ctx());
  for (;;) {
    if (options.mask) options.mask(row);
    const int32_t t = sampler.sample(row, sequence, options.n_valid);
    sequence.push_back(t);
    res.tokens.push_back(t);
    if (options.token_text) res.text += options.token_text(t);
    if (options.on_token && !options.on_token(t)) return res;
    res.reason = options.stop.check(t, res.tokens.size(), sequence.size(), res.text);
    if (res.reason != StopReason::None) return res;
    if (sequence.size() >= n_ctx) {  // no room to evaluate this token and predict another
      res.reason = StopReason::MaxLength;
      return res;
    }
    std::span<const float> next = lm.eval(std::span<const int32_t>(&sequence.back(), 1));
    row.assign(next.begin(), next.end());
  }
}

}  // namespace moss
