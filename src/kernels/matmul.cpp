// matmul: dispatch. For now every type goes through the dequantize-a-row path, split over rows of W
// across threads. Faster per-type kernels plug in here.
#include "kernels/matmul.h"

#include <vector>

#include "tensor/convert.h"
#include "util/thread_pool.h"

namespace moss {

namespace {
void matmul_rows(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, int64_t n0,
                 int64_t n1) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  const size_t rb = row_bytes(w.dtype, w.cols);
  for (int64_t n = n0; n < n1; ++n) {
    dequantize_row(w.dtype, static_cast<const uint8_t*>(w.data) + rb * static_cast<size_t>(n), row.data(), w.cols);
    for (int64_t i = 0; i < m; ++i) {
      const float* xi = x + i * w.cols;
      float acc = 0.0f;
      for (int64_t k = 0; k < w.cols; ++k) acc += xi[k] * row[static_cast<size_t>(k)];
      y[i * w.rows + n] = acc + (bias ? bias[n] : 0.0f);
    }
  }
}
}  // namespace

void matmul_reference(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y) {
  matmul_rows(x, m, w, bias, y, 0, w.rows);
}

void matmul(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool) {
  pool.parallel_for(w.rows, [&](int64_t n0, int64_t n1) { matmul_rows(x, m, w, bias, y, n0, n1); });
}

}  // namespace moss
