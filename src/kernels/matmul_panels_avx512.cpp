// The AVX-512 VNNI GEMMs for q4_0 and q8_0 weights in 16-row panels (layout and rationale:
// weight_panels.h). Per block of 32 elements and activation row: the row's 32 int8 activations are
// broadcast 4 bytes at a time against the block's 8 unsigned weight vectors (one lane per weight
// row: q4_0 nibbles 0..15, q8_0 quants + 128); the 8 vpdpbusd start from the weights' offset times
// the block's activation sum (q4_0: -8 * sum(q), q8_0: -128 * sum(q), from the activation side) and
// give each lane the exact integer dot product of the block. One convert, a multiply by the
// activation scale and an FMA with the 16 weight scales then add the block to the 16 outputs. Each
// output's sum runs over the blocks in order in one lane, so it does not depend on m, the tile or the
// thread.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 intrinsic headers (see matmul_avx512.cpp)
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/act_layout512.h"
#include "kernels/matmul_kernels.h"
#include "kernels/weight_panels.h"

namespace moss {
namespace {

inline int32_t load4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Vector j of a block (j = 0..7) multiplies activations 4j..4j+3.
struct PanelQ4_0 {
  static constexpr PanelGeometry kGeometry = kPanelQ4_0;
  static constexpr int32_t kOffsetPerSum = 1;  // c8 = -8 * sum(q) as stored in the activation row
  static void load(const uint8_t* block, __m512i (&wv)[8]) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int k = 0; k < 4; ++k) {
      const __m512i v = _mm512_loadu_si512(block + 64 * k);
      wv[k] = _mm512_and_si512(v, low4);                             // elements 4k..4k+3
      wv[k + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);  // elements 16+4k..16+4k+3
    }
  }
};
struct PanelQ8_0 {
  static constexpr PanelGeometry kGeometry = kPanelQ8_0;
  static constexpr int32_t kOffsetPerSum = 16;  // -128 * sum(q) = 16 * c8
  static void load(const uint8_t* block, __m512i (&wv)[8]) {
    for (int k = 0; k < 8; ++k) wv[k] = _mm512_loadu_si512(block + 64 * k);
  }
};

// MX activation rows x one panel (16 weight rows): y[r * ldy + 0..15].
template <class T, int MX>
void panel_tile(const uint8_t* act, size_t stride, const ActLayout512& L, const uint8_t* panel, float* y,
                int64_t ldy) {
  constexpr PanelGeometry G = T::kGeometry;
  __m512 acc[MX];
  for (int r = 0; r < MX; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t t = 0; t < L.nb / 2; ++t) {
    const uint8_t* unit = panel + G.unit() * static_cast<size_t>(t);
    for (size_t l = 0; l < G.unit() / 64; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
    const __m512 dw[2] = {_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + G.scales()))),
                          _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + G.scales() + 32)))};
    for (int h = 0; h < 2; ++h) {
      __m512i wv[8];
      T::load(unit + 64 * G.vectors() * static_cast<size_t>(h), wv);
      const int64_t b = 2 * t + h;
      for (int r = 0; r < MX; ++r) {
        const uint8_t* xr = act + static_cast<size_t>(r) * stride;
        const uint8_t* xq = xr + L.xs_off + 32 * static_cast<size_t>(b);
        ActBlockTerms terms;
        std::memcpy(&terms, xr + L.bd_off + 8 * static_cast<size_t>(b), sizeof terms);
        __m512i s = _mm512_set1_epi32(T::kOffsetPerSum * terms.c8);
        for (int j = 0; j < 8; ++j) s = _mm512_dpbusd_epi32(s, wv[j], _mm512_set1_epi32(load4(xq + 4 * j)));
        acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(terms.d)), dw[h], acc[r]);
      }
    }
  }
  for (int r = 0; r < MX; ++r) _mm512_storeu_ps(y + r * ldy, acc[r]);
}

// All panels of [n0, n1) for MX activation rows starting at act.
template <class T, int MX>
void panel_rows(const uint8_t* act, size_t stride, const ActLayout512& L, const uint8_t* w, int64_t n0, int64_t n1,
                float* y, int64_t ldy) {
  const size_t panel_bytes = T::kGeometry.panel_bytes(L.nb);
  for (int64_t n = n0; n < n1; n += kPanelRows)
    panel_tile<T, MX>(act, stride, L, w + panel_bytes * static_cast<size_t>(n / kPanelRows), y + n, ldy);
}

// Activation tiles of up to 8 rows outside (they stay in L1), the chunk's panels inside.
template <class T>
void gemm_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1,
                 float* y, int64_t ldy) {
  const ActLayout512 L(K);
  for (int64_t i = 0; i < m; i += 8) {
    const uint8_t* a = act + static_cast<size_t>(i) * stride;
    float* yi = y + i * ldy;
    switch (m - i >= 8 ? 8 : m - i) {
      case 8: panel_rows<T, 8>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 7: panel_rows<T, 7>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 6: panel_rows<T, 6>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 5: panel_rows<T, 5>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 4: panel_rows<T, 4>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 3: panel_rows<T, 3>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 2: panel_rows<T, 2>(a, stride, L, w, n0, n1, yi, ldy); break;
      default: panel_rows<T, 1>(a, stride, L, w, n0, n1, yi, ldy); break;
    }
  }
}

}  // namespace

void gemm512_q4_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  gemm_panels<PanelQ4_0>(act, stride, m, w, K, n0, n1, y, ldy);
}

void gemm512_q8_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  gemm_panels<PanelQ8_0>(act, stride, m, w, K, n0, n1, y, ldy);
}

}  // namespace moss
