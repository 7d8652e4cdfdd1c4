// Attention kernel (see attention.h). Each (sequence, head) is independent; within one, the query
// rows are processed one at a time with a score buffer of S floats.
#include "kernels/attention.h"

#include <cmath>
#include <vector>

#include "util/thread_pool.h"

namespace moss {

namespace {

// q . k with 16 independent partial sums (lane i sums the terms d = i mod 16), added pairwise at the
// end: the compiler turns the lanes into SIMD registers, and the additions no longer wait on each
// other (one serial chain of D float additions was the decode step's largest cost outside the
// matmuls). Any summation order keeps |error| <= (D - 1) u sum|q k|, within the documented bound.
float dot(const float* q, const float* k, int64_t n) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int64_t d = 0;
  for (; d + kLanes <= n; d += kLanes)
    for (int i = 0; i < kLanes; ++i) acc[i] += q[d + i] * k[d + i];
  for (int i = 0; d < n; ++d, ++i) acc[i] += q[d] * k[d];
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int i = 0; i < w; ++i) acc[i] += acc[i + w];
  return acc[0];
}

void attend_one_head(const AttentionSeq& s, int64_t h, int64_t head_dim, std::vector<float>& scores) {
  // The reference divides by sqrt(D) as a float32 scalar (16.0 exactly for D = 256).
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(head_dim)));
  const int64_t off = h * head_dim;
  for (int64_t t = 0; t < s.n_new; ++t) {
    const float* q = s.q + t * s.q_stride + off;
    const int64_t n_keys = s.n_past + t + 1;  // causal: positions 0..P+t
    if (static_cast<int64_t>(scores.size()) < n_keys) scores.resize(static_cast<size_t>(n_keys));
    float max_score = -INFINITY;
    for (int64_t j = 0; j < n_keys; ++j) {
      const float* k = s.k + j * s.kv_stride + off;
      scores[static_cast<size_t>(j)] = dot(q, k, head_dim) / scale;
      if (scores[static_cast<size_t>(j)] > max_score) max_score = scores[static_cast<size_t>(j)];
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) {
      scores[static_cast<size_t>(j)] = std::exp(scores[static_cast<size_t>(j)] - max_score);
      sum += scores[static_cast<size_t>(j)];
    }
    float* out = s.out + t * s.out_stride + off;
    for (int64_t d = 0; d < head_dim; ++d) out[d] = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) {
      const float p = scores[static_cast<size_t>(j)] / sum;
      const float* v = s.v + j * s.kv_stride + off;
      for (int64_t d = 0; d < head_dim; ++d) out[d] += p * v[d];
    }
  }
}

}  // namespace

void attention(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim, ThreadPool& pool) {
  const int64_t n_items = static_cast<int64_t>(seqs.size()) * n_head;
  pool.parallel_for(n_items, [&](int64_t b, int64_t e) {
    std::vector<float> scores;  // one per worker and call: O(S)
    for (int64_t item = b; item < e; ++item)
      attend_one_head(seqs[static_cast<size_t>(item / n_head)], item % n_head, head_dim, scores);
  });
}

void attention_reference(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim) {
  std::vector<float> scores;
  for (const AttentionSeq& s : seqs)
    for (int64_t h = 0; h < n_head; ++h) attend_one_head(s, h, head_dim, scores);
}

}  // namespace moss
