// Logits processors and token samplers with the semantics of Hugging Face `generate` in
// transformers 4.25.1 and of moss_inference.py (spec 4.2, 4.8): repetition penalty over every id
// of the sequence (prompt included), temperature, top-k (ties kept), top-p in both the ascending
// (HF 4.25.1) and the descending (moss_inference) variant, greedy, and multinomial sampling with a
// seedable RNG. Removed logits become -inf, as with HF's filter_value.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace moss {

enum class TopPVariant {
  Ascending,   // HF 4.25.1 TopPLogitsWarper: sort ascending, drop cumsum <= 1 - p, keep the largest
  Descending,  // moss_inference.py: sort descending, drop position r if cumsum[r-1] > p
};

struct SamplingParams {
  // Defaults of the official demos (spec 4.1): T 0.7, top-p 0.8, repetition penalty 1.02, top-k off.
  float temperature = 0.7f;
  int top_k = 0;  // 0 = off
  float top_p = 0.8f;  // >= 1 = off
  float repetition_penalty = 1.02f;  // 1 = off
  bool greedy = false;  // argmax after the repetition penalty (HF greedy search)
  TopPVariant top_p_variant = TopPVariant::Ascending;
  uint64_t seed = 0;
};

// logit <- logit * penalty if logit < 0 else logit / penalty, for each distinct id in `ids`
// (ids outside the row are ignored). No-op for penalty == 1.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> ids, float penalty);
// logits /= temperature (no-op for 1). Throws moss::Error for temperature <= 0.
void apply_temperature(std::span<float> logits, float temperature);
// Keeps the logits >= the k-th largest (ties with it survive); k <= 0 is off; k > size keeps all.
void apply_top_k(std::span<float> logits, int k);
// Nucleus filtering; p >= 1 is off. Ties are ordered by index (a stable sort).
void apply_top_p(std::span<float> logits, float p, TopPVariant variant);
// softmax over the row (-inf -> 0), computed in double, returned as float.
std::vector<float> softmax(std::span<const float> logits);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  const SamplingParams& params() const { return params_; }
  // Picks the next id. `logits` is modified in place (the processors run on it); `sequence` is the
  // whole sequence so far (prompt + generated) for the repetition penalty. `n_valid` (if > 0)
  // restricts the choice to ids < n_valid (LM-head padding rows are never produced).
  int32_t sample(std::span<float> logits, std::span<const int32_t> sequence, int32_t n_valid = 0);
  // Runs the processors only (for tests and inspection): the filtered logits.
  void process(std::span<float> logits, std::span<const int32_t> sequence, int32_t n_valid = 0) const;

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

}  // namespace moss
