// How far a model's logits are from a reference model's on the same tokens: the quality report of
// `moss quality` (one figure set per weight format). Over all positions p and vocabulary rows v of
// the evaluated texts, with a = model logits and b = reference logits:
//   relative RMS error = sqrt(sum (a-b)^2) / sqrt(sum b^2)
//   top-1 agreement    = share of positions where argmax a = argmax b (first index on ties)
//   mean KL            = mean over positions of KL(softmax b || softmax a), in double precision.
//   decided top-1      = top-1 agreement over the positions where the reference's top-1 logit
//                        leads its runner-up by at least `margin`. Random-weight models (the test
//                        fixtures, the benchmark models) have nearly flat logits, and a position
//                        whose two best logits differ by less than the quantization error of the
//                        logits is a coin toss in any format; this figure leaves those out.
// All LM-head rows count, padding rows included: they are what a sampler sees.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace moss {

class Model;

struct QualityStats {
  int64_t positions = 0;
  int64_t top1_matches = 0;
  int64_t n_vocab = 0;
  int64_t decided_positions = 0, decided_matches = 0;  // reference margin >= the margin given
  double sum_sq_diff = 0, sum_sq_ref = 0, sum_kl = 0;

  double rel_rms() const;
  double top1_agreement() const;  // in [0, 1]
  double mean_kl() const;
  double decided_top1_agreement() const;  // in [0, 1]; 1 when no position was decided
  double ref_rms() const;                 // RMS of the reference logits
};

// Adds the positions of one text: ref and logits are [positions, n_vocab] row-major; `margin` (in
// logits) decides which positions count for decided_top1_agreement. Throws moss::Error if the sizes
// disagree.
void accumulate_quality(std::span<const float> ref, std::span<const float> logits, int64_t n_vocab, QualityStats& stats,
                        double margin = 0.1);

// KL(softmax(p) || softmax(q)) of two logit rows, in double precision.
double kl_divergence(std::span<const float> p_logits, std::span<const float> q_logits);

// The logits of every position of `tokens` in one prefill from an empty cache ([T, n_vocab]).
// Throws moss::Error if the tokens do not fit the context length or are out of range.
std::vector<float> prefill_logits(Model& model, std::span<const int32_t> tokens);

}  // namespace moss
