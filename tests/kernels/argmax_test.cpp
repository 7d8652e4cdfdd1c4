// argmax_first and row_max against the plain loops they replace, on rows of every length around the
// 16-lane body, ties placed so that a later lane holds the earlier index, and NaN / -inf rows.
#include "kernels/argmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "util/error.h"

namespace moss {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The first index of the largest non-NaN value, or -1 when there is none.
int32_t plain_argmax(const std::vector<float>& v) {
  int32_t best = -1;
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isnan(v[i]) && (best < 0 || v[i] > v[static_cast<size_t>(best)])) best = static_cast<int32_t>(i);
  return best;
}

TEST(Argmax, EqualsThePlainLoopOnRandomRowsOfEveryLength) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<size_t> lengths;
  for (size_t n = 1; n <= 70; ++n) lengths.push_back(n);
  lengths.push_back(107008);  // MOSS's vocabulary
  lengths.push_back(107008 + 5);
  for (size_t n : lengths) {
    std::vector<float> v(n);
    for (float& x : v) x = g(rng);
    EXPECT_EQ(argmax_first(v), plain_argmax(v)) << n;
    EXPECT_EQ(row_max(v), v[static_cast<size_t>(plain_argmax(v))]) << n;
  }
}

TEST(Argmax, TiesGoToTheFirstIndexWhateverItsLane) {
  // Maxima at 20 (lane 4) and 5 (lane 5): lane 4 meets its maximum later in the row but first in lane
  // order; the answer is 5. Then one in the tail after the 16-lane body, one in the body.
  std::vector<float> v(40, 0.0f);
  v[20] = 3.0f, v[5] = 3.0f;
  EXPECT_EQ(argmax_first(v), 5);
  std::vector<float> w(35, -1.0f);
  w[33] = 2.0f, w[17] = 2.0f, w[34] = 2.0f;
  EXPECT_EQ(argmax_first(w), 17);
  std::vector<float> all_equal(50, 1.5f);
  EXPECT_EQ(argmax_first(all_equal), 0);
  std::vector<float> same_lane(64, 0.0f);
  same_lane[3] = 1.0f, same_lane[19] = 1.0f, same_lane[51] = 1.0f;
  EXPECT_EQ(argmax_first(same_lane), 3);
}

TEST(Argmax, NaNNeverWinsAndInfinitiesAreValues) {
  std::vector<float> v(33, 0.0f);
  v[0] = kNaN, v[7] = kNaN, v[9] = 1.0f, v[32] = kNaN;
  EXPECT_EQ(argmax_first(v), 9);
  EXPECT_EQ(row_max(v), 1.0f);
  v[30] = kInf;
  EXPECT_EQ(argmax_first(v), 30);
  std::vector<float> minus_inf(20, -kInf);
  EXPECT_EQ(argmax_first(minus_inf), 0);
  minus_inf[0] = kNaN;
  EXPECT_EQ(argmax_first(minus_inf), 1);  // the first -inf, as there is nothing larger
  EXPECT_EQ(row_max(minus_inf), -kInf);
  std::vector<float> nan_only(18, kNaN);
  EXPECT_EQ(argmax_first(nan_only), 0);
  EXPECT_EQ(row_max(nan_only), -kInf);
  std::vector<float> negative(17, -5.0f);
  negative[16] = -4.0f;
  EXPECT_EQ(argmax_first(negative), 16);
}

TEST(Argmax, EmptyRowIsAnError) {
  EXPECT_THROW(argmax_first(std::span<const float>()), Error);
  EXPECT_EQ(row_max(std::span<const float>()), -kInf);
}

}  // namespace
}  // namespace moss
