// LayerNorm kernel (see layer_norm.h).
#include "kernels/layer_norm.h"

#include <cmath>

#include "util/multiversion.h"

namespace moss {

namespace {

// sum over i of f(x[i]) in double, in 8 independent partial sums (element i goes to sum i mod 8),
// added pairwise at the end: one serial chain of n double additions cost ~2 us per 2048-element
// row, twice per LayerNorm, while the other threads waited. The order is fixed, so results do not
// depend on the machine; any order is within double-precision noise of the formula.
template <class F>
double sum8(const float* x, int64_t n, F f) {
  constexpr int kLanes = 8;
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += f(x[i + l]);
  for (int l = 0; i < n; ++i, ++l) acc[l] += f(x[i]);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

}  // namespace

MOSS_MULTIVERSION void layer_norm(const float* x, int64_t n_rows, int64_t n, const float* w, const float* b, float eps,
                                  float* y) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    const double mean = sum8(xr, n, [](float v) { return static_cast<double>(v); }) / static_cast<double>(n);
    const double var = sum8(xr, n, [mean](float v) {
                         const double d = v - mean;
                         return d * d;
                       }) /
                       static_cast<double>(n);
    const double inv_std = 1.0 / std::sqrt(var + static_cast<double>(eps));
    for (int64_t i = 0; i < n; ++i) {
      yr[i] = static_cast<float>((xr[i] - mean) * inv_std * w[i] + b[i]);
    }
  }
}

}  // namespace moss
