// softmax_inplace against the double formula, with the bound derived from its roundings, and its
// special values.
#include "kernels/softmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace moss {
namespace {

// Each term e_j = exp(x_j) with x_j = s_j - max rounded in float (|dx| <= u |x_j|, so a relative
// error u |x_j| in exp) and the exp rounded once (u, plus 1e-15 from the double polynomial); the sum
// of n terms adds at most (n - 1) u relative error, the division u. So p~_j is within
// p_j ((|x_j| + |x|max + 2) u + (n - 1) u + u + 2e-15) of p_j, plus second-order terms (x 1.01).
TEST(Softmax, MatchesDoubleFormulaWithinDerivedBound) {
  const double u = std::ldexp(1.0, -24);
  std::mt19937 rng(5);
  for (int64_t n : {1, 3, 7, 8, 9, 16, 100, 1001}) {
    for (float spread : {0.1f, 3.0f, 30.0f}) {
      std::normal_distribution<float> g(0.0f, spread);
      std::vector<float> s(static_cast<size_t>(n));
      for (auto& v : s) v = g(rng);
      std::vector<float> p = s;
      softmax_inplace(p.data(), n);
      float mx = s[0];
      for (float v : s) mx = std::max(mx, v);
      double sum = 0, xmax = 0;
      for (float v : s) sum += std::exp(double(v) - mx), xmax = std::max(xmax, double(mx) - v);
      for (int64_t j = 0; j < n; ++j) {
        const double want = std::exp(double(s[j]) - mx) / sum;
        const double x = double(mx) - s[j];
        const double tol = want * ((x + xmax + 2) * u + (n + 1) * u + 2e-15) * 1.01 + 1e-38;
        ASSERT_NEAR(p[j], want, tol) << "n " << n << " spread " << spread << " j " << j;
      }
    }
  }
}

TEST(Softmax, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> a{-inf, 2.0f, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf};
  softmax_inplace(a.data(), static_cast<int64_t>(a.size()));
  for (size_t j = 0; j < a.size(); ++j) EXPECT_EQ(a[j], j == 1 ? 1.0f : 0.0f);

  std::vector<float> b{1.0f, NAN, 0.5f, 0.25f, 0.0f, 1.0f, 2.0f, 3.0f, 4.0f};
  softmax_inplace(b.data(), static_cast<int64_t>(b.size()));
  for (float v : b) EXPECT_TRUE(std::isnan(v));

  std::vector<float> c(20, -1000.0f);  // far below the others: exp underflows to exactly 0
  c[7] = 0.0f;
  softmax_inplace(c.data(), static_cast<int64_t>(c.size()));
  for (size_t j = 0; j < c.size(); ++j) EXPECT_EQ(c[j], j == 7 ? 1.0f : 0.0f);

  softmax_inplace(nullptr, 0);  // nothing to do
}

}  // namespace
}  // namespace moss
