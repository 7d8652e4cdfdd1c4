// The per-instruction-set pieces of attention() (internal to kernels/ and its tests): half <-> float
// conversions for the f16 KV cache, and optionally fused row operations that read cache rows of any
// KV element type (f32, f16, q8_0) directly. Every table gives the same bits as the portable code:
//  * half -> float is exact, float -> half rounds to nearest even (F16C / AVX-512 with
//    _MM_FROUND_TO_NEAREST_INT, util/half.h in the scalar table), overflow to +-inf included; only
//    NaN payloads may differ (they stay NaN);
//  * the fused operations keep the portable loops' lanes and order of operations and never fuse a
//    multiply and an add (the portable code, built without FMA, rounds both).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu_features.h"
#include "tensor/dtype.h"

namespace moss {

// Where cache row j (of one layer, from the head group's first element on) lies: rows come in
// blocks of 2^block_shift, row_bytes apart within a block and block_bytes from one block to the next
// (the KV cache interleaves the layers' blocks, kv_cache.h). One contiguous run: block_shift 62 and
// block_mask all ones (at(j) = base + j * row_bytes, no branch).
struct KvRows {
  const uint8_t* base = nullptr;
  size_t row_bytes = 0, block_bytes = 0;
  int block_shift = 62;
  int64_t block_mask = -1;
  const uint8_t* at(int64_t j) const {
    return base + static_cast<size_t>(j >> block_shift) * block_bytes + static_cast<size_t>(j & block_mask) * row_bytes;
  }
};

struct AttentionKernels {
  void (*to_f32)(const uint16_t* src, float* dst, int64_t n);
  void (*to_f16)(const float* src, uint16_t* dst, int64_t n);
  // Optional (nullptr: the row is converted with to_f32 if half, then the portable loops run).
  // For G heads of D elements each, row = the heads' slice of one cache row (float or half):
  // dots: out[g] = q[gD..gD+D) . row[gD..gD+D), summed in 16 lanes (lane i takes d = i mod 16, the
  //       tail goes to lanes 0..), lanes then added pairwise: 8, 4, 2, 1 apart;
  // axpy: out[gD + d] += p[g * p_stride] * row[gD + d].
  void (*dots)(const float* q, const void* row, bool f16, int64_t G, int64_t D, float* out);
  void (*axpy)(const float* p, int64_t p_stride, const void* row, bool f16, int64_t G, int64_t D, float* out);
  // Optional, whole-range forms for one query row over n cache rows (row j at rows.at(j); element
  // type t: F32, F16 or Q8_0; D a multiple of 16, of 32 for Q8_0), with the same per-element
  // operations and order as the row forms above:
  // score_rows: out[g * out_stride + j] = dots(q, row j)[g] / scale;
  // weigh_rows: out[gD + d] = 0, then += p[g * p_stride + j] * row j [gD + d] for j = 0 .. n-1.
  // Q8_0 elements are d * q, exact in float32, so those results are the bits of the portable loops
  // on the dequantized rows.
  // One call per head group instead of one per row, the 16 lanes reduced in registers, and the
  // output kept in registers across a tile of rows.
  void (*score_rows)(const float* q, const KvRows& rows, int64_t n, DType t, int64_t G, int64_t D, float scale,
                     float* out, int64_t out_stride);
  void (*weigh_rows)(const float* p, int64_t p_stride, const KvRows& rows, int64_t n, DType t, int64_t G, int64_t D,
                     float* out);
};

// Cache rows are read once each, a row (or more) apart: the kernels ask for the row this many steps
// on while computing the current one, a cache line at a time over the bytes they will read.
constexpr int64_t kKvRowsAhead = 4;
inline void prefetch_lines(const void* p, size_t n) {
  for (size_t i = 0; i < n; i += 64) __builtin_prefetch(static_cast<const char*>(p) + i);
}

const AttentionKernels& attention_kernels_scalar();
const AttentionKernels& attention_kernels_avx2();
const AttentionKernels& attention_kernels_avx512();
// The table for `isa`; throws moss::Error if the CPU lacks it.
const AttentionKernels& attention_kernels(Isa isa);

}  // namespace moss
