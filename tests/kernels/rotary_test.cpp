// Rotary embedding: inv_freq tables vs the values listed in spec 1.5 (both variants), the sin/cos
// table vs double-precision sin/cos of the fp32 angle, and the rotation vs its formula.
#include "kernels/rotary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "util/half.h"

namespace moss {
namespace {

// Spec 1.5, R = 64, printed with 9 significant digits (enough to identify a float).
const double kVariantA[32] = {1,
                              0.749894202,
                              0.562341332,
                              0.421696514,
                              0.316227764,
                              0.237137362,
                              0.177827939,
                              0.133352146,
                              0.100000001,
                              0.0749894157,
                              0.0562341288,
                              0.0421696492,
                              0.0316227786,
                              0.0237137359,
                              0.0177827943,
                              0.0133352149,
                              0.00999999978,
                              0.00749894232,
                              0.00562341325,
                              0.00421696482,
                              0.00316227786,
                              0.00237137382,
                              0.00177827943,
                              0.00133352145,
                              0.00100000005,
                              0.000749894185,
                              0.000562341302,
                              0.000421696488,
                              0.000316227786,
                              0.000237137385,
                              0.00017782794,
                              0.00013335215};
// Spec 1.5 variant B: fp16 values printed with 6 significant digits (fp16 spacing is ~1e-3
// relative, so rounding the printed value to fp16 recovers the exact value).
const double kVariantB[32] = {1,           0.749512,    0.5625,     0.421631,   0.316162,    0.237061,    0.177734,
                              0.133301,    0.0999756,   0.0750122,  0.0562439,  0.0421753,   0.0316162,   0.0237274,
                              0.0177917,   0.0133362,   0.0100021,  0.00749588, 0.00562286,  0.00421906,  0.00316238,
                              0.00237083,  0.00177765,  0.00133324, 0.0010004,  0.000749588, 0.000562668, 0.000421524,
                              0.000316143, 0.000237226, 0.00017786, 0.000133276};

int64_t ulp_distance(float a, float b) {
  return std::llabs(static_cast<int64_t>(f32_to_bits(a)) - static_cast<int64_t>(f32_to_bits(b)));
}

TEST(Rotary, InvFreqVariantAMatchesSpecWithinOneUlp) {
  const auto inv = rope_inv_freq(64, 10000.0f, RopeVariant::kFp32);
  ASSERT_EQ(inv.size(), 32u);
  for (int i = 0; i < 32; ++i) {
    // the spec allows +-1 ulp "depending on the libm pow"
    EXPECT_LE(ulp_distance(inv[i], static_cast<float>(kVariantA[i])), 1) << "i = " << i << " got " << inv[i];
  }
}

TEST(Rotary, InvFreqVariantBMatchesSpecExactly) {
  const auto inv = rope_inv_freq(64, 10000.0f, RopeVariant::kFp16);
  ASSERT_EQ(inv.size(), 32u);
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(inv[i], round_fp16(static_cast<float>(kVariantB[i]))) << "i = " << i;
    EXPECT_EQ(inv[i], round_fp16(inv[i])) << "not an fp16 value";
  }
}

TEST(Rotary, TableIsSinCosOfFp32Angle) {
  const RopeTable table(2048, 64, 10000.0f, RopeVariant::kFp32);
  ASSERT_EQ(table.n_pos(), 2048);
  for (int64_t p : {0, 1, 7, 500, 2047}) {
    for (int i = 0; i < 32; ++i) {
      const float theta = static_cast<float>(p) * table.inv_freq()[i];  // the spec's fp32 multiply
      // float sin/cos are correct to about one ulp, i.e. within 2^-23 absolute as |sin| <= 1.
      EXPECT_NEAR(table.sin(p)[i], std::sin(static_cast<double>(theta)), std::ldexp(1.0, -23));
      EXPECT_NEAR(table.cos(p)[i], std::cos(static_cast<double>(theta)), std::ldexp(1.0, -23));
    }
  }
  EXPECT_EQ(table.sin(0)[5], 0.0f);
  EXPECT_EQ(table.cos(0)[5], 1.0f);
}

TEST(Rotary, RotatesInterleavedPairs) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  const int64_t R = 8, D = 12;
  float x[D], sn[R / 2], cs[R / 2];
  for (auto& v : x) v = nd(rng);
  for (int i = 0; i < R / 2; ++i) {
    const double th = 0.3 + 0.7 * i;
    sn[i] = static_cast<float>(std::sin(th));
    cs[i] = static_cast<float>(std::cos(th));
  }
  float y[D];
  std::copy(x, x + D, y);
  apply_rotary(y, R, sn, cs);
  for (int i = 0; i < R / 2; ++i) {
    const double a = x[2 * i], b = x[2 * i + 1], c = cs[i], s = sn[i];
    // two products and a sum in float: at most 2 roundings relative to |a c| + |b s|
    const double tol = std::ldexp(std::fabs(a * c) + std::fabs(b * s), -23);
    EXPECT_NEAR(y[2 * i], a * c - b * s, tol);
    EXPECT_NEAR(y[2 * i + 1], b * c + a * s, tol);
  }
  for (int64_t d = R; d < D; ++d) EXPECT_EQ(y[d], x[d]) << "dims past rotary_dim must pass through";
}

}  // namespace
}  // namespace moss
