// F16C (AVX2 level) half <-> float conversions for the f16 KV cache (compiled with -mavx2 -mfma
// -mf16c; used only after cpuid says so). Eight elements per instruction; the tail goes through a
// zero-padded vector so every element takes the same instruction (same rounding) as the others.
// The attention arithmetic itself is the portable code at this level (no fused row operations).
#include <immintrin.h>

#include <cstring>

#include "kernels/attention_kernels.h"

namespace moss {
namespace {

void to_f32_avx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  if (i < n) {
    uint16_t h[8] = {};
    float f[8];
    std::memcpy(h, src + i, sizeof(uint16_t) * static_cast<size_t>(n - i));
    _mm256_storeu_ps(f, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h))));
    std::memcpy(dst + i, f, sizeof(float) * static_cast<size_t>(n - i));
  }
}

void to_f16_avx2(const float* src, uint16_t* dst, int64_t n) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), kRound));
  if (i < n) {
    float f[8] = {};
    uint16_t h[8];
    std::memcpy(f, src + i, sizeof(float) * static_cast<size_t>(n - i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h), _mm256_cvtps_ph(_mm256_loadu_ps(f), kRound));
    std::memcpy(dst + i, h, sizeof(uint16_t) * static_cast<size_t>(n - i));
  }
}

constexpr AttentionKernels kTable{to_f32_avx2, to_f16_avx2, nullptr, nullptr, nullptr, nullptr};

}  // namespace

const AttentionKernels& attention_kernels_avx2() { return kTable; }

}  // namespace moss
