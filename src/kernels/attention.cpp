// Attention kernel (see attention.h). Each (sequence, head) is independent; a thread takes a group of
// contiguous heads of one sequence, and the query rows are processed one at a time with a score
// buffer of (heads in the group) x S floats.
#include "kernels/attention.h"

#include <algorithm>
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

// The cache rows are read once each (no reuse) and a row's slice starts a new page: asking for the
// row kAhead steps on keeps the memory busy while this one is computed.
constexpr int64_t kAhead = 4;
inline void prefetch_span(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(p + i);
}

// Heads [h0, h1) of one sequence. Keys and values are visited row by row, each row's slice for all
// these heads at once: the heads of a row are contiguous, so a thread reads one span per cache row
// instead of one 1 KiB piece per head (with rows 8 KiB apart that was a TLB miss per head and row,
// and the attention of a decode step cost as much as a third of the weight reads). Per head the
// arithmetic is the same as visiting the heads one by one: same operations, same order.
void attend_heads(const AttentionSeq& s, int64_t h0, int64_t h1, int64_t head_dim, std::vector<float>& scores) {
  // The reference divides by sqrt(D) as a float32 scalar (16.0 exactly for D = 256).
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(head_dim)));
  const int64_t G = h1 - h0;
  for (int64_t t = 0; t < s.n_new; ++t) {
    const int64_t n_keys = s.n_past + t + 1;  // causal: positions 0..P+t
    if (static_cast<int64_t>(scores.size()) < G * n_keys) scores.resize(static_cast<size_t>(G * n_keys));
    float* sc = scores.data();  // [G][n_keys]
    for (int64_t j = 0; j < n_keys; ++j) {
      const float* k = s.k + j * s.kv_stride;
      if (j + kAhead < n_keys) prefetch_span(k + kAhead * s.kv_stride + h0 * head_dim, G * head_dim);
      for (int64_t g = 0; g < G; ++g) {
        const int64_t off = (h0 + g) * head_dim;
        sc[g * n_keys + j] = dot(s.q + t * s.q_stride + off, k + off, head_dim) / scale;
      }
    }
    for (int64_t g = 0; g < G; ++g) {
      float* row = sc + g * n_keys;
      float max_score = -INFINITY;
      for (int64_t j = 0; j < n_keys; ++j)
        if (row[j] > max_score) max_score = row[j];
      float sum = 0.0f;
      for (int64_t j = 0; j < n_keys; ++j) {
        row[j] = std::exp(row[j] - max_score);
        sum += row[j];
      }
      for (int64_t j = 0; j < n_keys; ++j) row[j] = row[j] / sum;  // the probabilities
    }
    float* out = s.out + t * s.out_stride + h0 * head_dim;
    for (int64_t d = 0; d < G * head_dim; ++d) out[d] = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) {
      const float* v = s.v + j * s.kv_stride + h0 * head_dim;
      if (j + kAhead < n_keys) prefetch_span(v + kAhead * s.kv_stride, G * head_dim);
      for (int64_t g = 0; g < G; ++g) {
        const float p = sc[g * n_keys + j];
        float* o = out + g * head_dim;
        const float* vg = v + g * head_dim;
        for (int64_t d = 0; d < head_dim; ++d) o[d] += p * vg[d];
      }
    }
  }
}

}  // namespace

void attention(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim, ThreadPool& pool) {
  // Work items: (sequence, group of contiguous heads), one group per thread for each sequence.
  const int64_t groups = std::min<int64_t>(n_head, pool.size());
  const int64_t n_items = static_cast<int64_t>(seqs.size()) * groups;
  pool.parallel_for(n_items, [&](int64_t b, int64_t e) {
    std::vector<float> scores;  // one per worker and call: O(heads per group x S)
    for (int64_t item = b; item < e; ++item) {
      int64_t h0, h1;
      split_range(n_head, static_cast<int>(item % groups), static_cast<int>(groups), h0, h1);
      attend_heads(seqs[static_cast<size_t>(item / groups)], h0, h1, head_dim, scores);
    }
  });
}

void attention_reference(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim) {
  std::vector<float> scores;
  for (const AttentionSeq& s : seqs)
    for (int64_t h = 0; h < n_head; ++h) attend_heads(s, h, h + 1, head_dim, scores);
}

}  // namespace moss
