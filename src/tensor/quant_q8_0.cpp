// Q8_0: blocks of 32 int8 with one fp16 scale. quantize_q8_0_ref is ggml's quantize_row_q8_0_ref:
// d = amax/127, q = roundf(x/d) (half away from zero), byte-exact.
#include <cmath>
#include <cstring>

#include "tensor/quant_blocks.h"
#include "tensor/quant_internal.h"
#include "util/half.h"
#include "util/multiversion.h"

namespace moss {

// Multi-versioned (it also quantizes every KV-cache row of a q8_0 cache). The comparisons below are
// fmax / fmin for these operands (a NaN |x| never wins the maximum; v is not NaN where clamped), but
// unlike the libm calls they vectorise; roundf is exact in every version, so all give the same bytes.
MOSS_MULTIVERSION void quantize_q8_0_ref(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) {
      const float a = std::fabs(x[j]);
      amax = a > amax ? a : amax;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    b.d = f32_to_fp16(d);
    for (int j = 0; j < kQK; ++j) {
      // roundf of |x*id| <= 127 (up to rounding); NaN inputs are stored as 0 instead of UB.
      const float v = std::roundf(x[j] * id);
      const float c = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
      b.qs[j] = static_cast<int8_t>(v == v ? c : 0.0f);
    }
    std::memcpy(y + i, &b, sizeof b);
  }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
  const auto* y = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = fp16_to_f32(y[i].d);
    for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = static_cast<float>(y[i].qs[j]) * d;
  }
}

}  // namespace moss
