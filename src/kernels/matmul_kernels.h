// The per-instruction-set kernel tables behind matmul() (internal to kernels/ and its tests).
// For q8_0 / q4_0 / q4_k weights the activation rows are first quantized to BlockQ8A (32 int8 with an
// f32 scale, like ggml's q8_0 activations but with an f32 scale), so the inner loops are int8 dot
// products; the plain types (f32 / f16 / bf16) multiply f32 activations directly.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu_features.h"
#include "tensor/dtype.h"

namespace moss {

// Weight rows stream once from DRAM in decode; fetching them 6 KB ahead hides the miss latency the
// few dot products per byte cannot (measured on the AVX-512 kernels, see matmul_avx512.cpp).
inline constexpr int kWeightPrefetch = 6144;

struct BlockQ8A {
  float d;   // scale: x ~= d * qs
  float ds;  // d * sum(qs), for the zero offsets of q4_0 and the mins of q4_k
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8A) == 40);

// y[i * ldy + n] = dot(x row i, W row n) for i in [0, m), n in [n0, n1); no bias. For the quantized
// types, activation row i is the table's own encoding at act + i * stride (see quantize_act).
using QuantGemmFn = void(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy);
using QuantGemm = QuantGemmFn*;
using FloatGemm = void (*)(const float* x, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y,
                           int64_t ldy);

struct MatmulKernels {
  // Bytes of one encoded activation row of K elements.
  size_t (*act_bytes)(int64_t K);
  // x[0..K) -> the table's encoding of K/32 blocks with d = amax/127, q = round-half-even(x/d). The
  // values (d, q) are identical in every table, so the integer dot products of all tables agree
  // exactly; the scalar and AVX2 tables store them as BlockQ8A[K/32].
  void (*quantize_act)(const float* x, uint8_t* row, int64_t K);
  QuantGemm q8_0, q4_0, q4_k;
  FloatGemm f32, f16, bf16;
  // q4_0 / q8_0 weights in 16-row panels (weight_panels.h); w is the panel matrix, n0 and n1
  // multiples of 16. The AVX-512 and AVX-VNNI tables have both, the AVX2 table q4_0 only, the scalar
  // table none (nullptr: such matrices are not repacked).
  QuantGemm q4_0_panels = nullptr, q8_0_panels = nullptr;
  // Optional: quantize_act writing only what the panel kernels read (nullptr: quantize_act).
  void (*quantize_act_panels)(const float* x, uint8_t* row, int64_t K) = nullptr;
  // q4_k weights in panels (weight_panels.h), K a multiple of 256: the AVX-512, AVX-VNNI and AVX2 tables.
  QuantGemm q4_k_panels = nullptr;
  // quantize_act / quantize_act_panels of blocks [b0, b1) only (x and row: the whole row's; b0 a
  // multiple of 4, b1 too or K / 32): MatmulJob encodes a next matmul's input chunk by chunk with
  // them. Every table has quantize_act_range (BlockQ8A tables: blockq8a_range below), and
  // quantize_act_panels_range where it has quantize_act_panels.
  using QuantizeActRange = void (*)(const float* x, uint8_t* row, int64_t K, int64_t b0, int64_t b1);
  QuantizeActRange quantize_act_range = nullptr, quantize_act_panels_range = nullptr;

  // The panel GEMM for weights of type t, or nullptr (no panel type, or none in this table).
  QuantGemm panels_for(DType t) const {
    switch (t) {
      case DType::Q4_0: return q4_0_panels;
      case DType::Q8_0: return q8_0_panels;
      case DType::Q4_K: return q4_k_panels;
      default: return nullptr;
    }
  }
};

// quantize_act_range of a table whose encoding is BlockQ8A[K / 32]: blocks [b0, b1) are the encoding
// of their own 32 (b1 - b0) values.
template <void (*Quantize)(const float*, uint8_t*, int64_t)>
void blockq8a_range(const float* x, uint8_t* row, int64_t /*K*/, int64_t b0, int64_t b1) {
  Quantize(x + 32 * b0, row + static_cast<size_t>(b0) * sizeof(BlockQ8A), 32 * (b1 - b0));
}

// Whether the AVX-512 table's q4_0 GEMM uses its whole-cache-line kernels for a weight matrix at w
// with rows of K elements: the CPU has VBMI, K % 1024 == 0 and w is 64-byte aligned (rows are then
// aligned too). Otherwise it uses the block-pair kernels; both compute the same integer block sums.
bool avx512_q4_0_whole_lines(const uint8_t* w, int64_t K);

// The panel GEMMs of the AVX-512 table (matmul_panels_avx512.cpp), of the AVX2 table
// (matmul_panels_avx2.cpp) and of the AVX-VNNI table (matmul_panels_avxvnni.cpp; the AVX-512 panel
// kernels' bits).
QuantGemmFn gemm512_q4_0_panels, gemm512_q8_0_panels, gemm512_q4_k_panels;
QuantGemmFn gemm256_q4_0_panels, gemm256_q4_k_panels;
QuantGemmFn gemm256vnni_q4_0_panels, gemm256vnni_q8_0_panels, gemm256vnni_q4_k_panels;

const MatmulKernels& matmul_kernels_scalar();
const MatmulKernels& matmul_kernels_avx2();
const MatmulKernels& matmul_kernels_avxvnni();
const MatmulKernels& matmul_kernels_avx512();
// The table for `isa`; throws moss::Error if the CPU lacks it.
const MatmulKernels& matmul_kernels(Isa isa);

}  // namespace moss
