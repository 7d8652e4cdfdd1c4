// AVX-512 half <-> float conversions for the f16 KV cache (vcvtph2ps / vcvtps2ph on 16 elements;
// used only after cpuid says so). The tail uses masked loads and stores, so every element takes the
// same instruction (same rounding) as the others.
// GCC 12's avx512fintrin.h initializes vectors with _mm512_undefined_*(), which -Wmaybe-uninitialized
// reports at every inlined use (a known header false positive); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/attention_kernels.h"

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

constexpr HalfKernels kTable{to_f32_avx512, to_f16_avx512};

}  // namespace

const HalfKernels& half_kernels_avx512() { return kTable; }

}  // namespace moss
