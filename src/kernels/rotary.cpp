// Rotary embedding tables and rotation (see rotary.h).
#include "kernels/rotary.h"

#include <cmath>

#include "util/half.h"

namespace moss {

std::vector<float> rope_inv_freq(int64_t rotary_dim, float base, RopeVariant variant) {
  std::vector<float> inv(static_cast<size_t>(rotary_dim / 2));
  for (int64_t i = 0; i < rotary_dim / 2; ++i) {
    // torch: arange(0, R, 2) / R is a float32 true division of two exactly representable integers.
    const float x = static_cast<float>(2 * i) / static_cast<float>(rotary_dim);
    if (variant == RopeVariant::kFp32) {
      const float p = std::pow(base, x);  // float overload: float32 pow
      inv[static_cast<size_t>(i)] = 1.0f / p;
    } else {
      // With the default dtype fp16, each op is computed in float and rounded to fp16.
      const float x16 = round_fp16(x);
      const float p16 = round_fp16(std::pow(base, x16));
      inv[static_cast<size_t>(i)] = round_fp16(1.0f / p16);
    }
  }
  return inv;
}

RopeTable::RopeTable(int64_t n_pos, int64_t rotary_dim, float base, RopeVariant variant)
    : n_pos_(n_pos), half_(rotary_dim / 2), inv_freq_(rope_inv_freq(rotary_dim, base, variant)) {
  sin_.resize(static_cast<size_t>(n_pos * half_));
  cos_.resize(static_cast<size_t>(n_pos * half_));
  for (int64_t p = 0; p < n_pos; ++p) {
    for (int64_t i = 0; i < half_; ++i) {
      const float theta = static_cast<float>(p) * inv_freq_[static_cast<size_t>(i)];
      sin_[static_cast<size_t>(p * half_ + i)] = std::sin(theta);
      cos_[static_cast<size_t>(p * half_ + i)] = std::cos(theta);
    }
  }
}

void apply_rotary(float* x, int64_t rotary_dim, const float* sin, const float* cos) {
  for (int64_t i = 0; i < rotary_dim / 2; ++i) {
    const float x0 = x[2 * i], x1 = x[2 * i + 1];
    const float c = cos[i], s = sin[i];
    // (x * cos) + (rot(x) * sin) with rot(x)[2i] = -x[2i+1], rot(x)[2i+1] = x[2i]
    const float p0 = x0 * c, q0 = -x1 * s;
    const float p1 = x1 * c, q1 = x0 * s;
    x[2 * i] = p0 + q0;
    x[2 * i + 1] = p1 + q1;
  }
}

}  // namespace moss
