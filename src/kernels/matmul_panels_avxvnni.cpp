// The AVX-VNNI GEMMs for q4_0 and q8_0 weights in 16-row panels (layout: weight_panels.h), for CPUs
// that have 256-bit vpdpbusd but no AVX-512 (Intel Alder Lake and later client cores). A panel's
// 64-byte vectors are taken as two halves of 8 weight rows, one 32-bit lane per row, as in the AVX2
// kernel; the arithmetic is that of the AVX-512 panel kernels: per block of 32 elements, activation
// row and half, 8 vpdpbusd (unsigned weights: q4_0 nibbles 0..15, q8_0 quants + 128; activations
// broadcast 4 bytes at a time) start from the weights' offset times the block's activation sum
// (-8 * sum(q) or -128 * sum(q), an exact integer), so each lane holds the block's exact integer dot
// product; one convert, a multiply by the activation scale and an FMA with the 8 weight scales add it
// to the outputs. Those are the AVX-512 kernels' operations on the same values, in the same order per
// output, so the two give the same bits; unlike vpmaddubsw, vpdpbusd cannot saturate, which is what
// lets q8_0's offset quants use the panels here.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/matmul_kernels.h"
#include "kernels/weight_panels.h"

namespace moss {
namespace {

inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

struct PanelQ4_0 {
  static constexpr PanelGeometry kGeometry = kPanelQ4_0;
  static constexpr int32_t kOffset = -8;
  // The 8 vectors of one half of a block (8 rows): q4_0's 4 stored vectors give the low nibbles
  // (elements 4k..4k+3) and the high ones (elements 16+4k..16+4k+3).
  static void load(const uint8_t* half, __m256i (&wv)[8]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (int k = 0; k < 4; ++k) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(half + 64 * k));
      wv[k] = _mm256_and_si256(v, low4);
      wv[k + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    }
  }
};
struct PanelQ8_0 {
  static constexpr PanelGeometry kGeometry = kPanelQ8_0;
  static constexpr int32_t kOffset = -128;
  static void load(const uint8_t* half, __m256i (&wv)[8]) {
    for (int k = 0; k < 8; ++k) wv[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(half + 64 * k));
  }
};

// out[i] = offset * (sum of the 32 quants of activation block i), for i < count.
void block_offsets(const BlockQ8A* x, int64_t count, int32_t offset, int32_t* out) {
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t i = 0; i < count; ++i) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs));
    const __m256i s8 = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ones, q);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    s = _mm_hadd_epi32(s, s);
    s = _mm_hadd_epi32(s, s);
    out[i] = offset * _mm_cvtsi128_si32(s);
  }
}

// MX activation rows x one panel (16 weight rows): y[r * ldy + 0..15]. off[r * nb + b]: the start of
// block b's chain for row r. Two forms, the same operations per output in the same order:
// - joint: both halves of each block in one pass over the panel. For 1-2 rows (decode), where the
//   weights stream from memory once; 4 rows this way keep 8 accumulators and 8 weight vectors live,
//   more than AVX2's 16 registers.
// - by half: rows 0..7 over the whole panel, then rows 8..15 (the panel is in L1/L2 by then). For
//   3-4 rows. Measured, one thread, 8192 x 2048 in cache: 4 rows joint 270 (q4_0) / 233 (q8_0)
//   GFLOP/s, by half 319 / 296; 1 row joint 224 / 155, by half 167 / 107.
// The 8 weight rows' scales of block h (0, 1) of a unit, half `half`.
template <class T>
inline __m256 half_scales(const uint8_t* unit, int h, int half) {
  return _mm256_cvtph_ps(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(unit + T::kGeometry.scales() + 32 * h + 16 * half)));
}
// acc + one activation row's block against 8 weight rows: the exact integer sum (from the offset
// term `off`), then convert, multiply by the activation scale and FMA with the weight scales.
inline __m256 add_block(__m256 acc, const __m256i (&wv)[8], __m256 dw, const BlockQ8A& xb, int32_t off) {
  __m256i s = _mm256_set1_epi32(off);
  for (int j = 0; j < 8; ++j) s = _mm256_dpbusd_avx_epi32(s, wv[j], broadcast4(xb.qs + 4 * j));
  return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(xb.d)), dw, acc);
}
template <class T>
inline const uint8_t* half_quants(const uint8_t* unit, int h, int half) {
  return unit + 64 * T::kGeometry.vectors() * static_cast<size_t>(h) + 32 * static_cast<size_t>(half);
}

template <class T, int MX>
void panel_tile_joint(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* panel, float* y, int64_t ldy) {
  constexpr PanelGeometry G = T::kGeometry;
  __m256 acc[MX][2];
  for (int r = 0; r < MX; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t t = 0; t < nb / 2; ++t) {
    const uint8_t* unit = panel + G.unit() * static_cast<size_t>(t);
    for (size_t l = 0; l < G.unit() / 64; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
    for (int h = 0; h < 2; ++h) {
      const int64_t b = 2 * t + h;
      for (int half = 0; half < 2; ++half) {
        const __m256 dw = half_scales<T>(unit, h, half);
        __m256i wv[8];
        T::load(half_quants<T>(unit, h, half), wv);
        for (int r = 0; r < MX; ++r) acc[r][half] = add_block(acc[r][half], wv, dw, x[r * nb + b], off[r * nb + b]);
      }
    }
  }
  for (int r = 0; r < MX; ++r) {
    _mm256_storeu_ps(y + r * ldy, acc[r][0]);
    _mm256_storeu_ps(y + r * ldy + 8, acc[r][1]);
  }
}

template <class T, int MX>
void panel_tile_by_half(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* panel, float* y, int64_t ldy) {
  constexpr PanelGeometry G = T::kGeometry;
  for (int half = 0; half < 2; ++half) {
    __m256 acc[MX];
    for (int r = 0; r < MX; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t t = 0; t < nb / 2; ++t) {
      const uint8_t* unit = panel + G.unit() * static_cast<size_t>(t);
      if (half == 0)
        for (size_t l = 0; l < G.unit() / 64; ++l)
          _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
      for (int h = 0; h < 2; ++h) {
        const int64_t b = 2 * t + h;
        const __m256 dw = half_scales<T>(unit, h, half);
        __m256i wv[8];
        T::load(half_quants<T>(unit, h, half), wv);
        for (int r = 0; r < MX; ++r) acc[r] = add_block(acc[r], wv, dw, x[r * nb + b], off[r * nb + b]);
      }
    }
    for (int r = 0; r < MX; ++r) _mm256_storeu_ps(y + r * ldy + 8 * half, acc[r]);
  }
}

template <class T, int MX>
void panel_tile(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* panel, float* y, int64_t ldy) {
  if constexpr (MX <= 2)
    panel_tile_joint<T, MX>(x, off, nb, panel, y, ldy);
  else
    panel_tile_by_half<T, MX>(x, off, nb, panel, y, ldy);
}

template <class T, int MX>
void panel_rows(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* w, int64_t n0, int64_t n1, float* y,
                int64_t ldy) {
  const size_t panel_bytes = T::kGeometry.panel_bytes(nb);
  for (int64_t n = n0; n < n1; n += kPanelRows)
    panel_tile<T, MX>(x, off, nb, w + panel_bytes * static_cast<size_t>(n / kPanelRows), y + n, ldy);
}

template <class T>
void gemm_panels(const uint8_t* act, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y,
                 int64_t ldy) {
  const auto* x = reinterpret_cast<const BlockQ8A*>(act);  // rows are contiguous BlockQ8A[K / 32]
  const int64_t nb = K / 32;
  // The chains' starting values, once per call rather than once per panel.
  thread_local std::vector<int32_t> offsets;
  offsets.resize(static_cast<size_t>(m * nb));
  block_offsets(x, m * nb, T::kOffset, offsets.data());
  // Activation tiles of up to kTile rows outside (they stay in L1), the chunk's panels inside.
  constexpr int kTile = 4;  // 5 and 6 rows measured no faster (16 vector registers)
  for (int64_t i = 0; i < m; i += kTile) {
    const BlockQ8A* xi = x + i * nb;
    const int32_t* oi = offsets.data() + i * nb;
    float* yi = y + i * ldy;
    switch (m - i >= kTile ? kTile : m - i) {
      case 4: panel_rows<T, 4>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      case 3: panel_rows<T, 3>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      case 2: panel_rows<T, 2>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      default: panel_rows<T, 1>(xi, oi, nb, w, n0, n1, yi, ldy); break;
    }
  }
}

// q4_k (matmul_panels_q4_k_256.h): a sub-block's dot product in 8 vpdpbusd from 0.
struct VnniDot {
  static __m256i sum(const __m256i (&wv)[8], const int8_t* x) {
    __m256i s = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) s = _mm256_dpbusd_avx_epi32(s, wv[k], broadcast4(x + 4 * k));
    return s;
  }
};
#include "kernels/matmul_panels_q4_k_256.h"

}  // namespace

void gemm256vnni_q4_k_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                             int64_t n1, float* y, int64_t ldy) {
  (void)stride;
  gemm256_q4_k_panels_impl<VnniDot>(act, m, w, K, n0, n1, y, ldy);
}

void gemm256vnni_q4_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                             int64_t n1, float* y, int64_t ldy) {
  (void)stride;  // == act_bytes(K)
  gemm_panels<PanelQ4_0>(act, m, w, K, n0, n1, y, ldy);
}

void gemm256vnni_q8_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                             int64_t n1, float* y, int64_t ldy) {
  (void)stride;
  gemm_panels<PanelQ8_0>(act, m, w, K, n0, n1, y, ldy);
}

}  // namespace moss
