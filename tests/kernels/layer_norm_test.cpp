// layer_norm vs the formula evaluated in double.
#include "kernels/layer_norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace moss {
namespace {

TEST(LayerNorm, MatchesDoubleFormula) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t rows = 5, n = 97;
  std::vector<float> x(rows * n), w(n), b(n), y(rows * n);
  for (auto& v : x) v = 3.0f + 2.0f * nd(rng);  // a non-zero mean, to exercise the centring
  for (auto& v : w) v = 1.0f + 0.3f * nd(rng);
  for (auto& v : b) v = 0.5f * nd(rng);
  const float eps = 1e-5f;
  layer_norm(x.data(), rows, n, w.data(), b.data(), eps, y.data());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[r * n + i];
    mean /= n;
    for (int64_t i = 0; i < n; ++i) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
    var /= n;
    for (int64_t i = 0; i < n; ++i) {
      const double scaled = (x[r * n + i] - mean) / std::sqrt(var + eps) * w[i];
      const double want = scaled + b[i];
      // The kernel works in double and rounds once to float: half an ulp of the result, plus
      // double-precision noise relative to the terms (1e-12 is far above 2^-53 times n).
      const double tol = std::ldexp(std::fabs(want), -24) + 1e-12 * (std::fabs(scaled) + std::fabs(b[i]));
      EXPECT_NEAR(y[r * n + i], want, tol) << "row " << r << " col " << i;
    }
  }
}

TEST(LayerNorm, InPlaceAndConstantRow) {
  // A constant row has zero variance: the result is exactly the bias (0 / sqrt(eps) * w + b).
  std::vector<float> x(8, 2.5f), w(8, 3.0f), b(8);
  for (int i = 0; i < 8; ++i) b[i] = 0.25f * i;
  layer_norm(x.data(), 1, 8, w.data(), b.data(), 1e-5f, x.data());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(x[i], b[i]);
}

}  // namespace
}  // namespace moss
