// gelu_new vs the tanh formula in double.
#include "kernels/gelu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <vector>

namespace moss {
namespace {

TEST(GeluNew, MatchesDoubleFormula) {
  const double c = std::sqrt(2.0 / M_PI);
  const double u1 = std::ldexp(1.0, -23);  // float ulp at 1: covers one rounding and libm's tanh
  for (double x = -12.0; x <= 12.0; x += 0.0137) {
    const float xf = static_cast<float>(x);
    const double xd = xf;
    const double u = c * (xd + 0.044715 * xd * xd * xd);
    const double t = std::tanh(u);
    const double want = 0.5 * xd * (1.0 + t);
    // Error budget: u carries ~5 float roundings relative to |u| (no cancellation: x and x^3 share
    // a sign), which tanh scales by (1 - t^2); tanh, 1 + t and the two products add a few more.
    const double tol = 0.5 * std::fabs(xd) * (5 * u1 * std::fabs(u) * (1 - t * t) + 3 * u1) + 2 * u1 * std::fabs(want);
    EXPECT_NEAR(gelu_new(xf), want, tol) << "x = " << xf;
  }
}

// In pieces cut anywhere (as MatmulJob's chunks cut fc_in's outputs): the scalar bits for every value.
TEST(GeluNew, ArrayEqualsScalar) {
  std::vector<float> v(1001);
  for (size_t i = 0; i < v.size(); ++i) v[i] = -5.0f + 0.01f * i;
  std::vector<float> w = v;
  const int64_t cuts[] = {0, 3, 16, 123, 500, 997, 1001};  // pieces of 3, 13, 107, ... values
  for (size_t k = 0; k + 1 < std::size(cuts); ++k) gelu_new_range(w.data(), cuts[k], cuts[k + 1]);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(w[i], gelu_new(v[i]));
  EXPECT_EQ(gelu_new(0.0f), 0.0f);
}

// The array path (8 lanes at a time) against the scalar one over a wide range and the special values:
// the same bits, NaN for NaN.
TEST(GeluNew, ArrayEqualsScalarWideRangeAndSpecials) {
  std::vector<float> v;
  for (float x = -30.0f; x <= 30.0f; x += 0.0071f) v.push_back(x);
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, 3.4e38f, -3.4e38f, INFINITY, -INFINITY, NAN}) v.push_back(x);
  std::vector<float> w = v;
  gelu_new_range(w.data(), 0, static_cast<int64_t>(w.size()));
  for (size_t i = 0; i < v.size(); ++i) {
    const float want = gelu_new(v[i]);
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(w[i])) << "x = " << v[i];
    else
      EXPECT_EQ(w[i], want) << "x = " << v[i];
  }
  EXPECT_EQ(gelu_new(INFINITY), INFINITY);
  EXPECT_EQ(gelu_new(-30.0f), -0.0f);
}

}  // namespace
}  // namespace moss
