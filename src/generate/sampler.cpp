// See sampler.h. The order of the processors is HF's: repetition penalty, temperature, top-k,
// top-p, softmax, multinomial (spec 4.8); greedy takes the argmax right after the penalty.
#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "util/error.h"

namespace moss {
namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// First index of the largest value (torch.argmax on ties).
int32_t first_max(std::span<const float> logits) {
  if (logits.empty()) fail("argmax of an empty row");
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}
}  // namespace

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> ids, float penalty) {
  if (penalty == 1.0f) return;
  if (!(penalty > 0.0f)) fail("repetition penalty must be positive, got ", penalty);
  // Each distinct id once: HF gathers the scores first and scatters them back, so duplicates in the
  // sequence do not compound the penalty.
  std::vector<bool> seen(logits.size(), false);
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size() || seen[id]) continue;
    seen[id] = true;
    float& v = logits[id];
    v = v < 0 ? v * penalty : v / penalty;
  }
}

void apply_temperature(std::span<float> logits, float temperature) {
  if (!(temperature > 0.0f) || !std::isfinite(temperature)) fail("temperature must be positive, got ", temperature);
  if (temperature == 1.0f) return;
  for (float& v : logits) v /= temperature;
}

void apply_top_k(std::span<float> logits, int k) {
  if (k <= 0 || static_cast<size_t>(k) >= logits.size()) return;
  std::vector<float> sorted(logits.begin(), logits.end());
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float kth = sorted[k - 1];
  for (float& v : logits)
    if (v < kth) v = kNegInf;
}

std::vector<float> softmax(std::span<const float> logits) {
  std::vector<float> out(logits.size(), 0.0f);
  float mx = kNegInf;
  for (float v : logits) mx = std::max(mx, v);
  if (mx == kNegInf) fail("softmax: every logit is -inf");
  std::vector<double> e(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    e[i] = logits[i] == kNegInf ? 0.0 : std::exp(double(logits[i]) - mx);
    sum += e[i];
  }
  for (size_t i = 0; i < logits.size(); ++i) out[i] = float(e[i] / sum);
  return out;
}

void apply_top_p(std::span<float> logits, float p, TopPVariant variant) {
  if (p >= 1.0f) return;
  if (!(p >= 0.0f)) fail("top-p must be in [0, 1], got ", p);
  const size_t n = logits.size();
  if (n == 0) return;
  const std::vector<float> probs = softmax(logits);
  // Both variants keep a prefix of the tokens in descending order (spec 4.2, 4.8):
  //  * ascending (HF): sort ascending, remove r if cumsum[r] <= 1 - p. cumsum[r] = 1 - (mass above r),
  //    so r is kept iff the mass strictly above it is < p; the largest is always kept;
  //  * descending (moss_inference): remove r if cumsum[r-1] > p, i.e. kept iff mass above <= p.
  // Ties are ordered as a stable sort of the original order would leave them: by index ascending
  // in the sort direction, so in descending view the ascending variant sees tied indices reversed.
  // Only the head of the order is sorted (the kept set is usually small), doubling until the cut
  // is found. Sums are in double; the fixtures keep every cumulative value 1e-4 away from the
  // threshold, far beyond float32-vs-double summation differences.
  const bool asc = variant == TopPVariant::Ascending;
  auto before = [&](int32_t a, int32_t b) {
    if (logits[a] != logits[b]) return logits[a] > logits[b];
    return asc ? a > b : a < b;
  };
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  size_t sorted = 0;  // order[0, sorted) is the head in final order
  double above = 0;   // mass of order[0, r)
  for (size_t r = 0;; ++r) {
    if (r == n) return;  // everything kept
    if (r == sorted) {
      const size_t k = std::min(n, std::max<size_t>(64, sorted * 4));
      if (k < n) std::nth_element(order.begin() + sorted, order.begin() + k, order.end(), before);
      std::sort(order.begin() + sorted, order.begin() + k, before);
      sorted = k;
    }
    const bool keep = r == 0 || (asc ? above < double(p) : above <= double(p));
    if (!keep) {
      for (size_t q = r; q < n; ++q) logits[order[q]] = kNegInf;
      return;
    }
    above += probs[order[r]];
  }
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  if (!params.greedy) {
    if (!(params.temperature > 0.0f)) fail("temperature must be positive, got ", params.temperature);
    if (!(params.top_p >= 0.0f)) fail("top-p must be in [0, 1], got ", params.top_p);
  }
  if (!(params.repetition_penalty > 0.0f)) fail("repetition penalty must be positive, got ", params.repetition_penalty);
  if (params.top_k < 0) fail("top-k must be >= 0, got ", params.top_k);
}

void Sampler::process(std::span<float> logits, std::span<const int32_t> sequence, int32_t n_valid) const {
  if (n_valid > 0 && static_cast<size_t>(n_valid) < logits.size())
    std::fill(logits.begin() + n_valid, logits.end(), kNegInf);
  apply_repetition_penalty(logits, sequence, params_.repetition_penalty);
  if (params_.greedy) return;
  apply_temperature(logits, params_.temperature);
  apply_top_k(logits, params_.top_k);
  apply_top_p(logits, params_.top_p, params_.top_p_variant);
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> sequence, int32_t n_valid) {
  process(logits, sequence, n_valid);
  for (float v : logits)
    if (std::isnan(v)) fail("sampler: the logits contain NaN");
  if (params_.greedy) return first_max(logits);
  const std::vector<float> probs = softmax(logits);
  double total = 0;
  for (float q : probs) total += q;
  std::uniform_real_distribution<double> uni(0.0, total);
  const double u = uni(rng_);
  double c = 0;
  int32_t last_nonzero = -1;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0) continue;
    last_nonzero = static_cast<int32_t>(i);
    c += probs[i];
    if (u < c) return last_nonzero;
  }
  return last_nonzero;  // rounding at the very top end
}

}  // namespace moss
