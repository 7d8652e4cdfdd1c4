// fp16/bf16 conversion: exhaustive round trip of every fp16 bit pattern, and rounding ties.
#include <gtest/gtest.h>

#include <cmath>

#include "util/half.h"

namespace moss {

TEST(Half, EveryFp16RoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_fp16(f), h) << "bits " << h;
  }
}

TEST(Half, RoundsToNearestEven) {
  // 1 + 2^-11 lies exactly between 1 and the next fp16 (1 + 2^-10): ties go to the even mantissa.
  EXPECT_EQ(f32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);   // overflows to inf
  EXPECT_EQ(f32_to_fp16(65519.0f), 0x7bff);   // largest finite
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and the smallest subnormal
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.5f, -25)), 0x0001);
}

TEST(Half, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(bits_to_f32(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(bits_to_f32(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(bf16_to_f32(0x4049), bits_to_f32(0x40490000u));
}

}  // namespace moss
