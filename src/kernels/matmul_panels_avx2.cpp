// The AVX2 panel GEMMs (q4_0, q4_k), for CPUs without AVX-512 or AVX-VNNI: the 256-bit bodies of
// matmul_panels_256.h with each dot product in vpmaddubsw + vpmaddwd. The weights are nibbles
// (0..15), so a 16-bit pair sum is at most 2 * 15 * 128 = 3840 and the 8 of a block add up in 16 bits
// without saturating (at most 30720) before one vpmaddwd widens them. q8_0 has no panels here: its
// quants stored + 128 would saturate (2 * 255 * 127), and the sign trick the row kernels use did as
// much work per weight as they do and decoded slower (bench/README.md). Outputs: the AVX-512 panel
// kernels' bits.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/matmul_kernels.h"
#include "kernels/weight_panels.h"

namespace moss {
namespace {

#include "kernels/matmul_panels_256.h"

struct Avx2Dot {
  static __m256i sum(__m256i init, const __m256i (&wv)[8], const int8_t* x) {
    __m256i s16 = _mm256_maddubs_epi16(wv[0], broadcast4(x));
    for (int k = 1; k < 8; ++k) s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(wv[k], broadcast4(x + 4 * k)));
    return _mm256_add_epi32(init, _mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
  }
};

}  // namespace

void gemm256_q4_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  (void)stride;  // == act_bytes(K): contiguous BlockQ8A rows
  gemm256_panels_impl<PanelQ4_0, Avx2Dot>(act, m, w, K, n0, n1, y, ldy);
}

void gemm256_q4_k_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                         int64_t n1, float* y, int64_t ldy) {
  (void)stride;
  gemm256_q4_k_panels_impl<Avx2Dot>(act, m, w, K, n0, n1, y, ldy);
}

}  // namespace moss
