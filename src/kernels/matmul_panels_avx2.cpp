// The AVX2 GEMM for q4_0 weights in 16-row panels (layout and rationale: weight_panels.h), for CPUs
// without AVX-512. A panel's 64-byte vectors are taken as two halves of 8 rows. Per block of 32
// elements, activation row and half: the 8 nibble vectors (unsigned 0..15, a 4-byte lane per weight
// row) are multiplied with the row's int8 activations broadcast 4 bytes at a time (vpmaddubsw; the
// 16-bit pair sums are at most 2 * 15 * 128 = 3840, so the 8 of them add up in 16 bits without
// saturating, to at most 30720), and one vpmaddwd gives each lane the block's integer sum of
// q_w * q_x. Adding q4_0's offset term -8 * sum(q_x) (an integer, once per call and activation
// block) makes it the exact sum of (q_w - 8) * q_x, which a convert, a multiply by d_x and an FMA
// with d_w add to the output: the AVX-512 panel kernel's steps on the same values, so the same bits
// (WeightPanels.PanelKernelsGiveTheSameBitsOnEveryLevel). Each output's sum runs over the blocks in
// order in one lane, so it does not depend on m, the tile or the thread. q8_0 has no AVX2 panel kernel: its quants stored + 128 would overflow vpmaddubsw's
// 16-bit pair sums (2 * 255 * 127).
#include <immintrin.h>

#include <vector>

#include "kernels/matmul_kernels.h"
#include "kernels/weight_panels.h"

namespace moss {
namespace {

constexpr PanelGeometry G = kPanelQ4_0;

inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// MX activation rows x one panel (16 weight rows): y[r * ldy + 0..15].
// out[i] = -8 * (sum of the 32 quants of activation block i), for i < count: q4_0's offset term,
// where each block's integer chain starts.
void q4_0_offsets(const BlockQ8A* x, int64_t count, int32_t* out) {
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < count; ++i) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs));
    const __m256i s8 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    s = _mm_hadd_epi32(s, s);
    s = _mm_hadd_epi32(s, s);
    out[i] = -8 * _mm_cvtsi128_si32(s);
  }
}

template <int MX>
void panel_tile(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* panel, float* y, int64_t ldy) {
  __m256 acc[MX][2];
  for (int r = 0; r < MX; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  for (int64_t t = 0; t < nb / 2; ++t) {
    const uint8_t* unit = panel + G.unit() * static_cast<size_t>(t);
    for (size_t l = 0; l < G.unit() / 64; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
    for (int h = 0; h < 2; ++h) {
      const int64_t b = 2 * t + h;
      for (int half = 0; half < 2; ++half) {
        const __m256 dw = _mm256_cvtph_ps(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(unit + G.scales() + 32 * h + 16 * half)));
        __m256i lo[4], hi[4];
        for (int k = 0; k < 4; ++k) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + 64 * G.vectors() * h + 64 * k + 32 * half));
          lo[k] = _mm256_and_si256(v, low4);
          hi[k] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        }
        for (int r = 0; r < MX; ++r) {
          const BlockQ8A& xb = x[r * nb + b];
          __m256i s16 = _mm256_maddubs_epi16(lo[0], broadcast4(xb.qs));
          for (int k = 1; k < 4; ++k) s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(lo[k], broadcast4(xb.qs + 4 * k)));
          for (int k = 0; k < 4; ++k)
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi[k], broadcast4(xb.qs + 16 + 4 * k)));
          // The exact block sum of (nibble - 8) * q, then the AVX-512 panel kernel's float steps.
          const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(off[r * nb + b]));
          acc[r][half] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(xb.d)), dw, acc[r][half]);
        }
      }
    }
  }
  for (int r = 0; r < MX; ++r) {
    _mm256_storeu_ps(y + r * ldy, acc[r][0]);
    _mm256_storeu_ps(y + r * ldy + 8, acc[r][1]);
  }
}

template <int MX>
void panel_rows(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* w, int64_t n0, int64_t n1, float* y,
                int64_t ldy) {
  const size_t panel_bytes = G.panel_bytes(nb);
  for (int64_t n = n0; n < n1; n += kPanelRows)
    panel_tile<MX>(x, off, nb, w + panel_bytes * static_cast<size_t>(n / kPanelRows), y + n, ldy);
}

// q4_k (matmul_panels_q4_k_256.h): a sub-block's dot product with vpmaddubsw as for q4_0 above (the
// 8 pair sums of nibbles 0..15 times int8 add up in 16 bits without saturating), then vpmaddwd.
struct Avx2Dot {
  static __m256i sum(const __m256i (&wv)[8], const int8_t* x) {
    __m256i s16 = _mm256_maddubs_epi16(wv[0], broadcast4(x));
    for (int k = 1; k < 8; ++k) s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(wv[k], broadcast4(x + 4 * k)));
    return _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
  }
};
#include "kernels/matmul_panels_q4_k_256.h"

}  // namespace

void gemm256_q4_k_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  (void)stride;
  gemm256_q4_k_panels_impl<Avx2Dot>(act, m, w, K, n0, n1, y, ldy);
}

void gemm256_q4_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  (void)stride;  // rows are contiguous: stride == act_bytes(K), a whole number of BlockQ8A
  const auto* x = reinterpret_cast<const BlockQ8A*>(act);
  const int64_t nb = K / 32;
  thread_local std::vector<int32_t> offsets;  // once per call rather than once per panel
  offsets.resize(static_cast<size_t>(m * nb));
  q4_0_offsets(x, m * nb, offsets.data());
  // Activation tiles of up to 4 rows outside (they stay in L1), the chunk's panels inside.
  for (int64_t i = 0; i < m; i += 4) {
    const BlockQ8A* xi = x + i * nb;
    const int32_t* oi = offsets.data() + i * nb;
    float* yi = y + i * ldy;
    switch (m - i >= 4 ? 4 : m - i) {
      case 4: panel_rows<4>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      case 3: panel_rows<3>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      case 2: panel_rows<2>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      default: panel_rows<1>(xi, oi, nb, w, n0, n1, yi, ldy); break;
    }
  }
}

}  // namespace moss
