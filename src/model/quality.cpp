// Logit-level comparison of a model against a reference (see quality.h).
#include "model/quality.h"

#include <algorithm>
#include <cmath>

#include "model/model.h"
#include "util/error.h"

namespace moss {

double QualityStats::rel_rms() const { return sum_sq_ref > 0 ? std::sqrt(sum_sq_diff / sum_sq_ref) : 0.0; }
double QualityStats::top1_agreement() const {
  return positions > 0 ? static_cast<double>(top1_matches) / static_cast<double>(positions) : 0.0;
}
double QualityStats::decided_top1_agreement() const {
  return decided_positions > 0 ? static_cast<double>(decided_matches) / static_cast<double>(decided_positions) : 1.0;
}
double QualityStats::ref_rms() const {
  return positions > 0 && n_vocab > 0 ? std::sqrt(sum_sq_ref / static_cast<double>(positions * n_vocab)) : 0.0;
}
double QualityStats::mean_kl() const { return positions > 0 ? sum_kl / static_cast<double>(positions) : 0.0; }

double kl_divergence(std::span<const float> p_logits, std::span<const float> q_logits) {
  if (p_logits.size() != q_logits.size() || p_logits.empty()) fail("kl_divergence: rows of different or zero length");
  // log-softmax of each row with the max subtracted (no overflow), then sum p (log p - log q).
  auto log_norm = [](std::span<const float> x) {
    const double m = *std::max_element(x.begin(), x.end());
    double s = 0;
    for (float v : x) s += std::exp(static_cast<double>(v) - m);
    return m + std::log(s);
  };
  const double lp = log_norm(p_logits), lq = log_norm(q_logits);
  double kl = 0;
  for (size_t i = 0; i < p_logits.size(); ++i) {
    const double logp = static_cast<double>(p_logits[i]) - lp, logq = static_cast<double>(q_logits[i]) - lq;
    kl += std::exp(logp) * (logp - logq);
  }
  return std::max(kl, 0.0);  // rounding can leave -1e-17 for identical rows
}

void accumulate_quality(std::span<const float> ref, std::span<const float> logits, int64_t n_vocab, QualityStats& s,
                        double margin) {
  if (n_vocab <= 0 || ref.size() != logits.size() || ref.size() % static_cast<size_t>(n_vocab) != 0)
    fail("quality: logits of ", logits.size(), " and ", ref.size(), " values do not form rows of ", n_vocab);
  if (s.n_vocab != 0 && s.n_vocab != n_vocab)
    fail("quality: rows of ", n_vocab, " logits added to rows of ", s.n_vocab);
  s.n_vocab = n_vocab;
  const size_t V = static_cast<size_t>(n_vocab);
  for (size_t row = 0; row < ref.size() / V; ++row) {
    const auto b = ref.subspan(row * V, V), a = logits.subspan(row * V, V);
    for (size_t i = 0; i < V; ++i) {
      const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      s.sum_sq_diff += d * d;
      s.sum_sq_ref += static_cast<double>(b[i]) * static_cast<double>(b[i]);
    }
    const auto best_b = std::max_element(b.begin(), b.end());
    const bool match = std::max_element(a.begin(), a.end()) - a.begin() == best_b - b.begin();
    s.top1_matches += match;
    float runner_up = -INFINITY;
    for (auto it = b.begin(); it != b.end(); ++it)
      if (it != best_b) runner_up = std::max(runner_up, *it);
    if (static_cast<double>(*best_b) - static_cast<double>(runner_up) >= margin) {
      ++s.decided_positions;
      s.decided_matches += match;
    }
    s.sum_kl += kl_divergence(b, a);
    ++s.positions;
  }
}

std::vector<float> prefill_logits(Model& model, std::span<const int32_t> tokens) {
  if (tokens.empty()) fail("quality: an empty text has no positions to compare");
  KvCache cache = model.new_cache(static_cast<int64_t>(tokens.size()));
  return model.forward(cache, tokens, /*all_logits=*/true);
}

}  // namespace moss
