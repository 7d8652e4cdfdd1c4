// Matrix multiplication against a weight matrix of any stored type, the one hot operation of the
// model: y[m, n] = sum_k x[m, k] * W[n, k] + bias[n]. W is row-major with N rows of K elements
// (a PyTorch Linear weight as stored), x and y are float32 row-major. m = 1 is the decode GEMV,
// m > 1 the prefill GEMM. Each weight type has a scalar reference and SIMD paths chosen at run time.
#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace moss {

class ThreadPool;

struct WeightMatrix {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0;  // N, output features
  int64_t cols = 0;  // K, input features
};

// bias may be nullptr. x: [m, K], y: [m, N]; y must not alias x.
void matmul(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool);

// Whether matmul() has fast kernels for weights of this type (q8_0, q4_0, q4_k, f32, f16, bf16); other
// readable types go through the slow dequantize-a-row path.
bool matmul_supports(DType t);

// The plain scalar version that every fast path is tested against (dequantize each row, then dot
// products in float32, summed in index order).
void matmul_reference(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y);

}  // namespace moss
