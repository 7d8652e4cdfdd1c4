// Q4_K: super-blocks of 256 = 8 sub-blocks of 32 four-bit values, each sub-block with a 6-bit
// scale and 6-bit min, themselves scaled by the fp16 d and dmin of the super-block:
// y = d*sc*q - dmin*m. quantize_q4_k_ref follows ggml's quantize_row_q4_K_ref and
// make_qkx2_quants (weights av_x + |x|, rmin -1, rdelta 0.1, 20 steps) operation by operation in
// float32 so that the bytes match.
#include <cmath>
#include <cstring>

#include "tensor/quant_blocks.h"
#include "tensor/quant_internal.h"
#include "util/half.h"

namespace moss {

namespace {

// ggml's nearest_int: round half to even via the 1.5*2^23 trick, valid for |v| <= 2^22.
// Values outside (only from non-finite input) are clamped first so the result stays defined.
inline int nearest_int(float v) {
  if (!(std::fabs(v) <= 4194303.0f)) v = v > 0 ? 4194303.0f : (v < 0 ? -4194303.0f : 0.0f);
  const float t = v + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &t, 4);
  return (i & 0x007fffff) - 0x00400000;
}

float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, uint8_t* Laux,
                       float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_mad = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(l < 0 ? 0 : (l > nmax ? nmax : l));
    float diff = scale * L[i] + min - x[i];
    diff = diff * diff;
    best_mad += weights[i] * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = l < 0 ? 0 : (l > nmax ? nmax : l);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float mad = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = diff * diff;
        mad += weights[i] * diff;
      }
      if (mad < best_mad) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_mad = mad;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

}  // namespace

void quantize_q4_k_ref(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_K*>(dst);
  uint8_t L[kQKK], Laux[32];
  float weights[32], mins[8], scales[8];
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    BlockQ4_K b;
    std::memset(&b, 0, sizeof b);
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < 8; ++j) {
      // ggml stores nearest_int into a uint8_t before MIN(63, .): same wrap-around here.
      uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
      uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
      if (ls > 63) ls = 63;
      if (lm > 63) lm = 63;
      if (j < 4) {
        b.scales[j] = ls;
        b.scales[j + 4] = lm;
      } else {
        b.scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        b.scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
        b.scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
      }
    }
    b.d = f32_to_fp16(max_scale / 63.0f);
    b.dmin = f32_to_fp16(max_min / 63.0f);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, b.scales, &sc, &m);
      const float d = fp16_to_f32(b.d) * sc;
      if (d == 0.0f) continue;  // keeps make_qkx2_quants' L, as ggml does
      const float dm = fp16_to_f32(b.dmin) * m;
      for (int ii = 0; ii < 32; ++ii) {
        int l = nearest_int((x[32 * j + ii] + dm) / d);
        L[32 * j + ii] = static_cast<uint8_t>(l < 0 ? 0 : (l > 15 ? 15 : l));
      }
    }
    uint8_t* q = b.qs;
    for (int j = 0; j < kQKK; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    std::memcpy(y + i, &b, sizeof b);
  }
}

void dequantize_q4_k(const void* src, float* dst, int64_t n) {
  const auto* y = static_cast<const BlockQ4_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = fp16_to_f32(y[i].d), dmin = fp16_to_f32(y[i].dmin);
    const uint8_t* q = y[i].qs;
    float* out = dst + i * kQKK;
    for (int c = 0; c < 4; ++c, q += 32, out += 64) {
      uint8_t sc, m;
      get_scale_min_k4(2 * c, y[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      get_scale_min_k4(2 * c + 1, y[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) out[l] = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) out[32 + l] = d2 * (q[l] >> 4) - m2;
    }
  }
}

}  // namespace moss
