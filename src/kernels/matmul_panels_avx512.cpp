// The AVX-512 VNNI GEMMs for q4_0, q8_0 and q4_k weights in 16-row panels (layout and rationale:
// weight_panels.h); q4_k is described at its kernel below. For q4_0 and q8_0, per block of 32
// elements and activation row: the row's 32 int8 activations are broadcast 4 bytes at a time
// against the block's 8 unsigned weight vectors (one lane per weight row: q4_0 nibbles 0..15, q8_0
// quants + 128); the 8 vpdpbusd start from the weights' offset times the block's activation sum
// (q4_0: -8 * sum(q), q8_0: -128 * sum(q), from the activation side) and give each lane the exact
// integer dot product of the block. One convert, a multiply by the
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

// Activation row xr's terms of block b (ActLayout512's bd section).
inline ActBlockTerms block_terms(const uint8_t* xr, const ActLayout512& L, int64_t b) {
  ActBlockTerms terms;
  std::memcpy(&terms, xr + L.bd_off + 8 * static_cast<size_t>(b), sizeof terms);
  return terms;
}

// init + the exact integer dot products of block b's 32 activations of row xr (signed, ActLayout512's
// xs section) with the 8 weight vectors of 16 rows: lane i gets weight row i's sum.
inline __m512i block_dot(__m512i init, const __m512i (&wv)[8], const uint8_t* xr, const ActLayout512& L, int64_t b) {
  const uint8_t* xq = xr + L.xs_off + 32 * static_cast<size_t>(b);
  for (int j = 0; j < 8; ++j) init = _mm512_dpbusd_epi32(init, wv[j], _mm512_set1_epi32(load4(xq + 4 * j)));
  return init;
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
        const ActBlockTerms terms = block_terms(xr, L, b);
        const __m512i s = block_dot(_mm512_set1_epi32(T::kOffsetPerSum * terms.c8), wv, xr, L, b);
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

// ---- q4_k (layout: weight_panels.h, PanelQ4KGeometry) ----

// Byte k (0..3) of each 32-bit lane, zero-extended (k is a constant once the callers are unrolled).
inline __m512i lane_byte(__m512i v, int k) {
  const __m512i ff = _mm512_set1_epi32(0xFF);
  switch (k) {
    case 0: return _mm512_and_si512(v, ff);
    case 1: return _mm512_and_si512(_mm512_srli_epi32(v, 8), ff);
    case 2: return _mm512_and_si512(_mm512_srli_epi32(v, 16), ff);
    default: return _mm512_srli_epi32(v, 24);
  }
}

// d * scale and dmin * min of the unit's 8 sub-blocks for its 16 rows (get_scale_min_k4 in every
// lane; both products are exact in f32: an 11-bit significand times a 6-bit integer).
inline void q4_k_scales(const uint8_t* unit, __m512 (&scale)[8], __m512 (&mins)[8]) {
  using G = PanelQ4KGeometry;
  const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + G::kD)));
  const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + G::kDmin)));
  const __m512i s0 = _mm512_loadu_si512(unit + G::kScales), s1 = _mm512_loadu_si512(unit + G::kScales + 64),
                s2 = _mm512_loadu_si512(unit + G::kScales + 128);
  const __m512i m63 = _mm512_set1_epi32(63), m15 = _mm512_set1_epi32(15);
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {  // scale bytes j, j + 4, j + 8
    const __m512i b0 = lane_byte(s0, j), b1 = lane_byte(s1, j), b2 = lane_byte(s2, j);
    const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(b2, m15), _mm512_slli_epi32(_mm512_srli_epi32(b0, 6), 4));
    const __m512i mn_hi = _mm512_or_si512(_mm512_srli_epi32(b2, 4), _mm512_slli_epi32(_mm512_srli_epi32(b1, 6), 4));
    scale[j] = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_and_si512(b0, m63)));
    mins[j] = _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(_mm512_and_si512(b1, m63)));
    scale[j + 4] = _mm512_mul_ps(d, _mm512_cvtepi32_ps(sc_hi));
    mins[j + 4] = _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(mn_hi));
  }
}

// MX activation rows x one q4_k panel: per sub-block the exact integer sum s of nibble x q (8
// vpdpbusd from 0), then acc += s * ((d * scale) * d_x) and corr += (dmin * min) * (d_x * sum(q)),
// each product and sum rounded on its own (no FMA), over the sub-blocks in order, y = acc - corr:
// the scalar table's operations in its order, one output per lane, so the same bits
// (WeightPanels.Q4KKernelsGiveTheScalarTableBits). That makes a repacked q4_k model compute what
// the scalar path computes, bit for bit: q4_k's activation sums and mins cancel, and a last-bit
// difference elsewhere can flip the int8 rounding of a later activation (~1e-3 of the logits).
template <int MX>
void panel_tile_q4_k(const uint8_t* act, size_t stride, const ActLayout512& L, const uint8_t* panel, float* y,
                     int64_t ldy) {
  using G = PanelQ4KGeometry;
  __m512 acc[MX], corr[MX];
  for (int r = 0; r < MX; ++r) acc[r] = corr[r] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < L.nb / 8; ++sb) {
    const uint8_t* unit = panel + G::kUnit * static_cast<size_t>(sb);
    for (size_t l = 0; l < G::kQuants / 64; ++l)  // the scales' 4 lines; each sub-block's 4 below
      _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
    __m512 scale[8], mins[8];
    q4_k_scales(unit, scale, mins);
    for (int j = 0; j < 8; ++j) {
      const uint8_t* q = unit + G::kQuants + G::kSubBlock * static_cast<size_t>(j);
      for (size_t l = 0; l < G::kSubBlock / 64; ++l)
        _mm_prefetch(reinterpret_cast<const char*>(q) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
      __m512i wv[8];
      PanelQ4_0::load(q, wv);
      const int64_t b = 8 * sb + j;
      for (int r = 0; r < MX; ++r) {
        const uint8_t* xr = act + static_cast<size_t>(r) * stride;
        const ActBlockTerms terms = block_terms(xr, L, b);
        const __m512i s = block_dot(_mm512_setzero_si512(), wv, xr, L, b);
        // Separate multiplies and adds, in the scalar table's order: its bits (see the comment above).
        const __m512 t = _mm512_mul_ps(scale[j], _mm512_set1_ps(terms.d));
        acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(_mm512_cvtepi32_ps(s), t));
        const float ds = terms.d * static_cast<float>(-terms.c8 / 8);  // d_x * sum(q), as the other tables have it
        corr[r] = _mm512_add_ps(corr[r], _mm512_mul_ps(mins[j], _mm512_set1_ps(ds)));
      }
    }
  }
  for (int r = 0; r < MX; ++r) _mm512_storeu_ps(y + r * ldy, _mm512_sub_ps(acc[r], corr[r]));
}

template <int MX>
void panel_rows_q4_k(const uint8_t* act, size_t stride, const ActLayout512& L, const uint8_t* w, int64_t n0, int64_t n1,
                     float* y, int64_t ldy) {
  const size_t panel_bytes = PanelQ4KGeometry::kUnit * static_cast<size_t>(L.nb / 8);
  for (int64_t n = n0; n < n1; n += kPanelRows)
    panel_tile_q4_k<MX>(act, stride, L, w + panel_bytes * static_cast<size_t>(n / kPanelRows), y + n, ldy);
}

}  // namespace

void gemm512_q4_k_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  const ActLayout512 L(K);
  for (int64_t i = 0; i < m; i += 8) {
    const uint8_t* a = act + static_cast<size_t>(i) * stride;
    float* yi = y + i * ldy;
    switch (m - i >= 8 ? 8 : m - i) {
      case 8: panel_rows_q4_k<8>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 7: panel_rows_q4_k<7>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 6: panel_rows_q4_k<6>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 5: panel_rows_q4_k<5>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 4: panel_rows_q4_k<4>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 3: panel_rows_q4_k<3>(a, stride, L, w, n0, n1, yi, ldy); break;
      case 2: panel_rows_q4_k<2>(a, stride, L, w, n0, n1, yi, ldy); break;
      default: panel_rows_q4_k<1>(a, stride, L, w, n0, n1, yi, ldy); break;
    }
  }
}

void gemm512_q4_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  gemm_panels<PanelQ4_0>(act, stride, m, w, K, n0, n1, y, ldy);
}

void gemm512_q8_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  gemm_panels<PanelQ8_0>(act, stride, m, w, K, n0, n1, y, ldy);
}

}  // namespace moss
