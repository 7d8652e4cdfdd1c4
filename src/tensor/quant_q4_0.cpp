// Q4_0: blocks of 32 four-bit values with one fp16 scale and an implicit offset of 8.
// quantize_q4_0_ref is ggml's quantize_row_q4_0_ref: max = the signed value of largest |x|,
// d = max / -8, q = MIN(15, (int8)(x/d + 8.5)), byte-exact.
#include <cmath>
#include <cstring>

#include "tensor/quant_blocks.h"
#include "tensor/quant_internal.h"
#include "util/half.h"

namespace moss {

namespace {
// (int8_t)(v) of ggml truncates toward zero; v is in [0, 16.5] for finite input. Non-finite
// input (NaN/inf weights) is clamped rather than hitting undefined float->int conversion.
inline uint8_t q4(float v) {
  if (!(v >= 0.0f)) return 0;
  if (v >= 15.0f) return 15;
  return static_cast<uint8_t>(static_cast<int>(v));
}
}  // namespace

void quantize_q4_0_ref(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 b;
    b.d = f32_to_fp16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t lo = q4(x[j] * id + 8.5f);
      const uint8_t hi = q4(x[kQK / 2 + j] * id + 8.5f);
      b.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
    std::memcpy(y + i, &b, sizeof b);
  }
}

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
  const auto* y = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = fp16_to_f32(y[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[i * kQK + j] = static_cast<float>((y[i].qs[j] & 0x0F) - 8) * d;
      dst[i * kQK + j + kQK / 2] = static_cast<float>((y[i].qs[j] >> 4) - 8) * d;
    }
  }
}

}  // namespace moss
