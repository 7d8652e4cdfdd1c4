// AVX-512 pieces of attention (used only after cpuid says so): half <-> float conversions for the
// f16 KV cache (vcvtph2ps / vcvtps2ph on 16 elements; the tail uses masked loads and stores, so
// every element takes the same instruction, same rounding, as the others), and the two row
// operations of attention reading float or half cache rows directly (no conversion pass).
// The row operations must give the portable loops' bits (attention_kernels.h): one 16-lane vector
// is the portable code's 16 partial sums, and every multiply and add carries an explicit rounding
// mode ({rn-sae}, the default mode), which keeps the compiler from fusing them into an FMA.
// GCC 12's avx512fintrin.h initializes vectors with _mm512_undefined_*(), which -Wmaybe-uninitialized
// reports at every inlined use (a known header false positive); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/attention_kernels.h"
#include "tensor/quant_blocks.h"

namespace moss {
namespace {

void to_f32_avx512(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
  }
}

void to_f16_avx512(const float* src, uint16_t* dst, int64_t n) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), kRound));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(dst + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), kRound));
  }
}

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

inline __m512 mul(__m512 a, __m512 b) { return _mm512_mul_round_ps(a, b, kRound); }
inline __m512 add(__m512 a, __m512 b) { return _mm512_add_round_ps(a, b, kRound); }

// 16 elements of a cache row from element i on (all, or the lanes of m, the others zero).
template <bool F16>
inline __m512 load_row(const void* row, int64_t i) {
  if constexpr (F16)
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(row) + i)));
  else
    return _mm512_loadu_ps(static_cast<const float*>(row) + i);
}
template <bool F16>
inline __m512 load_row(const void* row, int64_t i, __mmask16 m) {
  if constexpr (F16)
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(row) + i));
  else
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(row) + i);
}

inline __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }

template <bool F16>
void dots_impl(const float* q, const void* row, int64_t G, int64_t D, float* out) {
  for (int64_t g = 0; g < G; ++g) {
    const float* qg = q + g * D;
    const int64_t base = g * D;
    __m512 acc = _mm512_setzero_ps();  // lane i: the portable code's acc[i]
    int64_t d = 0;
    for (; d + 16 <= D; d += 16) acc = add(acc, mul(_mm512_loadu_ps(qg + d), load_row<F16>(row, base + d)));
    if (d < D) {  // the tail goes to lanes 0.., the other lanes unchanged
      const __mmask16 m = tail_mask(D - d);
      acc = _mm512_mask_add_round_ps(acc, m, acc, mul(_mm512_maskz_loadu_ps(m, qg + d), load_row<F16>(row, base + d, m)),
                                     kRound);
    }
    alignas(64) float a[16];
    _mm512_store_ps(a, acc);
    for (int w = 8; w > 0; w /= 2)
      for (int i = 0; i < w; ++i) a[i] += a[i + w];
    out[g] = a[0];
  }
}

template <bool F16>
void axpy_impl(const float* p, int64_t p_stride, const void* row, int64_t G, int64_t D, float* out) {
  for (int64_t g = 0; g < G; ++g) {
    const __m512 pv = _mm512_set1_ps(p[g * p_stride]);
    float* o = out + g * D;
    const int64_t base = g * D;
    int64_t d = 0;
    for (; d + 16 <= D; d += 16) _mm512_storeu_ps(o + d, add(_mm512_loadu_ps(o + d), mul(pv, load_row<F16>(row, base + d))));
    if (d < D) {
      const __mmask16 m = tail_mask(D - d);
      _mm512_mask_storeu_ps(o + d, m, add(_mm512_maskz_loadu_ps(m, o + d), mul(pv, load_row<F16>(row, base + d, m))));
    }
  }
}

void dots512(const float* q, const void* row, bool f16, int64_t G, int64_t D, float* out) {
  f16 ? dots_impl<true>(q, row, G, D, out) : dots_impl<false>(q, row, G, D, out);
}
void axpy512(const float* p, int64_t p_stride, const void* row, bool f16, int64_t G, int64_t D, float* out) {
  f16 ? axpy_impl<true>(p, p_stride, row, G, D, out) : axpy_impl<false>(p, p_stride, row, G, D, out);
}

// q8_0 rows: 16 elements = half a block, d * q exact in float32 (an 11-bit scale times an 8-bit
// integer), so these are the values dequantize_row gives and the arithmetic is dots_impl's.
inline __m512 load_q8(const void* row, int64_t i) {
  const auto* b = static_cast<const BlockQ8_0*>(row) + i / 32;
  const __m512 q = _mm512_cvtepi32_ps(
      _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs + (i % 32)))));
  return mul(_mm512_set1_ps(_cvtsh_ss(b->d)), q);
}

void dots_q8_512(const float* q, const void* row, int64_t G, int64_t D, float* out) {
  for (int64_t g = 0; g < G; ++g) {
    const float* qg = q + g * D;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d += 16) acc = add(acc, mul(_mm512_loadu_ps(qg + d), load_q8(row, g * D + d)));
    alignas(64) float a[16];
    _mm512_store_ps(a, acc);
    for (int w = 8; w > 0; w /= 2)
      for (int i = 0; i < w; ++i) a[i] += a[i + w];
    out[g] = a[0];
  }
}

void axpy_q8_512(const float* p, int64_t p_stride, const void* row, int64_t G, int64_t D, float* out) {
  for (int64_t g = 0; g < G; ++g) {
    const __m512 pv = _mm512_set1_ps(p[g * p_stride]);
    float* o = out + g * D;
    for (int64_t d = 0; d < D; d += 16)
      _mm512_storeu_ps(o + d, add(_mm512_loadu_ps(o + d), mul(pv, load_q8(row, g * D + d))));
  }
}

constexpr AttentionKernels kTable{to_f32_avx512, to_f16_avx512, dots512, axpy512, dots_q8_512, axpy_q8_512};

}  // namespace

const AttentionKernels& attention_kernels_avx512() { return kTable; }

}  // namespace moss
