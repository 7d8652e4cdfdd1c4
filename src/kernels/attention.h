// Causal multi-head attention of new query rows over a KV cache (spec 1.6 steps 7-11), in float32:
// scores = q . k / sqrt(D), query t (at position P + t) sees cache positions 0..P+t, softmax over
// them, output = probs . v. Memory is O(heads per thread * S) per worker (one score row per head at a time), never O(T * S).
#pragma once
#include <cstdint>
#include <span>

namespace moss {

class ThreadPool;

// One sequence's attention in one layer. Rows are row-major with the given strides (in floats);
// head h occupies elements [h*D, (h+1)*D) of a row.
struct AttentionSeq {
  const float* q = nullptr;  // [n_new rows, q_stride], rotary already applied
  int64_t q_stride = 0;
  const float* k = nullptr;  // [n_past + n_new rows, kv_stride]: cache positions 0..S-1
  const float* v = nullptr;
  int64_t kv_stride = 0;
  float* out = nullptr;  // [n_new rows, out_stride]
  int64_t out_stride = 0;
  int64_t n_past = 0;  // P
  int64_t n_new = 0;   // T
};

// Runs every (sequence, head) pair, spread over the pool's threads.
void attention(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim, ThreadPool& pool);

// The same computation on the calling thread only: the scalar reference.
void attention_reference(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim);

}  // namespace moss
