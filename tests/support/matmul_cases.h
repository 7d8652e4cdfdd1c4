// Test helpers shared by the matmul kernel tests (matmul_test.cpp, weight_panels_test.cpp): random
// cases, running one kernel table over a whole matrix, and the magnitudes the error bounds use.
#pragma once
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"
#include "tensor/convert.h"
#include "tensor/quant_blocks.h"
#include "util/half.h"

namespace moss::test {

constexpr float kEps = FLT_EPSILON / 2;  // unit roundoff of f32

struct Case {
  DType type;
  int64_t m, n, k;
  size_t misalign = 0;  // weight bytes start this far past a 64-byte boundary
};

struct Data {
  std::vector<float> x, wf, bias;
  std::vector<uint8_t> storage;
  std::span<uint8_t> w;
  WeightMatrix wm;
};

inline Data make(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  Data d;
  d.x.resize(static_cast<size_t>(c.m * c.k));
  d.wf.resize(static_cast<size_t>(c.n * c.k));
  d.bias.resize(static_cast<size_t>(c.n));
  for (auto& v : d.x) v = g(rng);
  for (auto& v : d.wf) v = 0.05f * g(rng);
  for (auto& v : d.bias) v = g(rng);
  if (c.m > 1) d.x[3] = 20.0f;  // an outlier in one activation block
  const size_t rb = row_bytes(c.type, c.k);
  d.storage.resize(rb * static_cast<size_t>(c.n) + 64 + c.misalign);
  const size_t to64 = (64 - reinterpret_cast<uintptr_t>(d.storage.data()) % 64) % 64;
  d.w = std::span<uint8_t>(d.storage.data() + to64 + c.misalign, rb * static_cast<size_t>(c.n));
  for (int64_t r = 0; r < c.n; ++r) quantize_row(c.type, d.wf.data() + r * c.k, d.w.data() + r * rb, c.k);
  d.wm = WeightMatrix{d.w.data(), c.type, c.n, c.k};
  return d;
}

inline bool is_quant(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_K; }

// A[k]: the largest magnitude a single weight element contributes to a product term in the kernels'
// block sums. q8_0: |w|. q4_0: the level q (<= 15) and the offset 8 enter separately: 23|d|.
// q4_k: 15*d*sc (levels) + dmin*m (the min term).
inline std::vector<float> weight_magnitudes(DType t, const uint8_t* row, int64_t K) {
  std::vector<float> a(static_cast<size_t>(K));
  if (t == DType::Q8_0) {
    dequantize_row(t, row, a.data(), K);
    for (auto& v : a) v = std::fabs(v);
  } else if (t == DType::Q4_0) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(row);
    for (int64_t k = 0; k < K; ++k) a[k] = 23.0f * std::fabs(fp16_to_f32(b[k / 32].d));
  } else {
    const auto* b = reinterpret_cast<const BlockQ4_K*>(row);
    for (int64_t k = 0; k < K; ++k) {
      uint8_t sc, mn;
      get_scale_min_k4(static_cast<int>((k % 256) / 32), b[k / 256].scales, &sc, &mn);
      a[k] = 15.0f * fp16_to_f32(b[k / 256].d) * sc + fp16_to_f32(b[k / 256].dmin) * mn;
    }
  }
  return a;
}

// Runs one kernel table over the whole matrix (no bias).
inline std::vector<float> run_table(const MatmulKernels& kt, const Case& c, const Data& d) {
  std::vector<float> y(static_cast<size_t>(c.m * c.n));
  if (is_quant(c.type)) {
    const size_t stride = kt.act_bytes(c.k);
    std::vector<uint8_t> xq(stride * static_cast<size_t>(c.m));
    for (int64_t i = 0; i < c.m; ++i) kt.quantize_act(d.x.data() + i * c.k, xq.data() + i * stride, c.k);
    QuantGemm g = c.type == DType::Q8_0 ? kt.q8_0 : c.type == DType::Q4_0 ? kt.q4_0 : kt.q4_k;
    g(xq.data(), stride, c.m, d.w.data(), c.k, 0, c.n, y.data(), c.n);
  } else {
    FloatGemm g = c.type == DType::F32 ? kt.f32 : c.type == DType::F16 ? kt.f16 : kt.bf16;
    g(d.x.data(), c.m, d.w.data(), c.k, 0, c.n, y.data(), c.n);
  }
  return y;
}

// The activation blocks as the kernels see them (values q*d), to bound errors.
inline std::vector<float> quantized_x(const Case& c, const Data& d) {
  std::vector<BlockQ8A> xq(static_cast<size_t>(c.m * c.k / 32));
  for (int64_t i = 0; i < c.m; ++i)
    matmul_kernels_scalar().quantize_act(d.x.data() + i * c.k, reinterpret_cast<uint8_t*>(xq.data() + i * c.k / 32),
                                         c.k);
  std::vector<float> xh(d.x.size());
  for (size_t b = 0; b < xq.size(); ++b)
    for (int j = 0; j < 32; ++j) xh[b * 32 + j] = xq[b].qs[j] * xq[b].d;
  return xh;
}

}  // namespace moss::test
