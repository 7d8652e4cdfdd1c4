// Causal multi-head attention of new query rows over a KV cache (spec 1.6 steps 7-11), in float32:
// scores = q . k / sqrt(D), query t (at position P + t) sees cache positions 0..P+t, softmax over
// them, output = probs . v. Memory is O(heads per thread * S) per worker (one score row per head at a time), never O(T * S).
// The cached keys and values are float32 or IEEE half (DType::F16: half the memory and half the
// bytes read per decode step). Half rows are converted exactly to float32 (F16C / AVX-512 / scalar,
// all giving the same bits) and then take the float32 arithmetic unchanged, so an f16 cache gives
// exactly the result of an f32 cache holding the half-rounded values.
#pragma once
#include <atomic>
#include <cstdint>
#include <span>

#include "tensor/dtype.h"

namespace moss {

class ThreadPool;
struct AttentionKernels;  // attention_kernels.h

// One sequence's attention in one layer. Rows are row-major with the given strides (in elements);
// head h occupies elements [h*D, (h+1)*D) of a row. The cache rows may come in blocks (the KV
// cache's layout, kv_cache.h): positions b*B .. b*B+B-1 at k + b * kv_block_stride, kv_stride apart.
struct AttentionSeq {
  const float* q = nullptr;  // [n_new rows, q_stride], rotary already applied
  int64_t q_stride = 0;
  const void* k = nullptr;  // [n_past + n_new rows, kv_stride] of kv_type: cache positions 0..S-1
  const void* v = nullptr;
  int64_t kv_stride = 0;
  float* out = nullptr;  // [n_new rows, out_stride]
  int64_t out_stride = 0;
  int64_t n_past = 0;  // P
  int64_t n_new = 0;   // T
  DType kv_type = DType::F32;  // element type of k and v: F32, F16 or Q8_0 (head_dim a multiple of 32)
  int64_t kv_block_rows = 0;    // B: 0 (all rows kv_stride apart) or a power of two
  int64_t kv_block_stride = 0;  // elements from one block's first row to the next block's
};

// The KV element types attention() reads: F32, F16 and Q8_0 (rows of 34-byte blocks of 32 values,
// the GGUF q8_0 layout, dequantized exactly to float32 before the arithmetic).
bool kv_type_supported(DType t);
// Throws moss::Error naming the supported types when kv_type_supported(t) is false.
void require_kv_type(DType t);
// require_kv_type, and for Q8_0 heads of whole blocks (rows are read per head group): throws
// moss::Error naming the head size otherwise.
void require_kv_layout(DType t, int64_t head_dim);
// dst[0..n) = src converted to the KV element type t (F16: round to nearest even, magnitudes from
// 65520 on to +-inf; Q8_0: the reference quantizer, n a multiple of 32; F32: a copy), with the
// active instruction set's conversions (every set gives the same bits). Throws moss::Error for an
// unsupported t.
void kv_from_f32(DType t, const float* src, void* dst, int64_t n);
// dst[0..n) = src (of KV element type t) as float32; exact.
void kv_to_f32(DType t, const void* src, float* dst, int64_t n);

// Runs every (sequence, head) pair, spread over the pool's threads. Throws moss::Error (before any
// work) if a sequence's kv_type is not supported or its kv_block_rows is not 0 or a power of two.
void attention(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim, ThreadPool& pool);

// attention() in pieces, for running it beside other work in one parallel region (the model computes
// fc_in meanwhile): the constructor checks the sequences (throws before any work), then any threads
// call run_next_item() until it returns false; each item is one sequence's group of heads (as many
// groups per sequence as `threads`, at most n_head). Bit-identical to attention(). `seqs` and the
// sequences' buffers must outlive the job.
class AttentionJob {
 public:
  AttentionJob(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim, int threads);
  bool run_next_item();  // thread-safe

 private:
  std::span<const AttentionSeq> seqs_;
  const AttentionKernels& kernels_;  // the active instruction set's, looked up once
  int64_t n_head_, head_dim_, groups_, items_;
  std::atomic<int64_t> next_{0};
};

// The same computation on the calling thread only: the scalar reference (half rows converted by the
// portable util/half.h code).
void attention_reference(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim);

}  // namespace moss
