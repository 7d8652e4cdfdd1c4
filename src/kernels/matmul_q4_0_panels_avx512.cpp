// The AVX-512 VNNI GEMM for q4_0 weights in 16-row panels (layout and rationale: q4_0_panels.h).
// Per block of 32 elements and activation row: the row's 32 int8 activations are broadcast 4 bytes
// at a time against the panel's 8 nibble vectors (unsigned 0..15, one lane per weight row); the 8
// vpdpbusd start from -8 * sum(q) (q4_0's offset, taken from the activation side) and give each lane
// the exact integer sum of (q_w - 8) * q_x over the block. One convert, a multiply by the activation
// scale and an FMA with the 16 weight scales then add the block to the 16 outputs. Each output's sum
// runs over the blocks in order in one lane, so it does not depend on m, the tile or the thread.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 intrinsic headers (see matmul_avx512.cpp)
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/act_layout512.h"
#include "kernels/matmul_kernels.h"
#include "kernels/q4_0_panels.h"
#include "tensor/quant_blocks.h"

namespace moss {
namespace {

constexpr size_t kUnit = 576;  // a block pair of a panel: 2 x 4 nibble vectors, then 2 x 16 fp16 scales

inline int32_t load4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// MX activation rows x one panel (16 weight rows): y[r * ldy + 0..15].
template <int MX>
void panel_tile(const uint8_t* act, size_t stride, const ActLayout512& L, const uint8_t* panel, float* y,
                int64_t ldy) {
  __m512 acc[MX];
  for (int r = 0; r < MX; ++r) acc[r] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (int64_t t = 0; t < L.nb / 2; ++t) {
    const uint8_t* unit = panel + kUnit * static_cast<size_t>(t);
    for (int l = 0; l < 9; ++l) _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
    const __m512 dw[2] = {_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + 512))),
                          _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + 544)))};
    for (int h = 0; h < 2; ++h) {
      __m512i lo[4], hi[4];
      for (int k = 0; k < 4; ++k) {
        const __m512i v = _mm512_loadu_si512(unit + 256 * h + 64 * k);
        lo[k] = _mm512_and_si512(v, low4);
        hi[k] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      }
      const int64_t b = 2 * t + h;
      for (int r = 0; r < MX; ++r) {
        const uint8_t* xr = act + static_cast<size_t>(r) * stride;
        const uint8_t* xq = xr + L.xs_off + 32 * static_cast<size_t>(b);
        ActBlockTerms terms;
        std::memcpy(&terms, xr + L.bd_off + 8 * static_cast<size_t>(b), sizeof terms);
        __m512i s = _mm512_set1_epi32(terms.c8);
        for (int k = 0; k < 4; ++k) {
          s = _mm512_dpbusd_epi32(s, lo[k], _mm512_set1_epi32(load4(xq + 4 * k)));
          s = _mm512_dpbusd_epi32(s, hi[k], _mm512_set1_epi32(load4(xq + 16 + 4 * k)));
        }
        acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(terms.d)), dw[h], acc[r]);
      }
    }
  }
  for (int r = 0; r < MX; ++r) _mm512_storeu_ps(y + r * ldy, acc[r]);
}

// All panels of [n0, n1) for MX activation rows starting at act.
template <int MX>
void panel_rows(const uint8_t* act, size_t stride, const ActLayout512& L, const uint8_t* w, size_t panel_bytes,
                int64_t n0, int64_t n1, float* y, int64_t ldy) {
  for (int64_t n = n0; n < n1; n += kQ4_0PanelRows)
    panel_tile<MX>(act, stride, L, w + panel_bytes * static_cast<size_t>(n / kQ4_0PanelRows), y + n, ldy);
}

}  // namespace

void gemm512_q4_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  const ActLayout512 L(K);
  const size_t panel_bytes = static_cast<size_t>(kQ4_0PanelRows) * static_cast<size_t>(L.nb) * sizeof(BlockQ4_0);
  // Activation tiles of up to 8 rows outside (they stay in L1), the chunk's panels inside.
  for (int64_t i = 0; i < m; i += 8) {
    const uint8_t* a = act + static_cast<size_t>(i) * stride;
    float* yi = y + i * ldy;
    switch (m - i >= 8 ? 8 : m - i) {
      case 8: panel_rows<8>(a, stride, L, w, panel_bytes, n0, n1, yi, ldy); break;
      case 7: panel_rows<7>(a, stride, L, w, panel_bytes, n0, n1, yi, ldy); break;
      case 6: panel_rows<6>(a, stride, L, w, panel_bytes, n0, n1, yi, ldy); break;
      case 5: panel_rows<5>(a, stride, L, w, panel_bytes, n0, n1, yi, ldy); break;
      case 4: panel_rows<4>(a, stride, L, w, panel_bytes, n0, n1, yi, ldy); break;
      case 3: panel_rows<3>(a, stride, L, w, panel_bytes, n0, n1, yi, ldy); break;
      case 2: panel_rows<2>(a, stride, L, w, panel_bytes, n0, n1, yi, ldy); break;
      default: panel_rows<1>(a, stride, L, w, panel_bytes, n0, n1, yi, ldy); break;
    }
  }
}

}  // namespace moss
