// LayerNorm kernel (see layer_norm.h).
#include "kernels/layer_norm.h"

#include <cmath>

namespace moss {

void layer_norm(const float* x, int64_t n_rows, int64_t n, const float* w, const float* b, float eps, float* y) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += xr[i];
    const double mean = sum / static_cast<double>(n);
    double sq = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = xr[i] - mean;
      sq += d * d;
    }
    const double var = sq / static_cast<double>(n);
    const double inv_std = 1.0 / std::sqrt(var + static_cast<double>(eps));
    for (int64_t i = 0; i < n; ++i) {
      yr[i] = static_cast<float>((xr[i] - mean) * inv_std * w[i] + b[i]);
    }
  }
}

}  // namespace moss
