// The AVX-VNNI panel GEMMs (q4_0, q8_0, q4_k), for CPUs that have 256-bit vpdpbusd but no AVX-512
// (Intel Alder Lake and later client cores): the 256-bit bodies of matmul_panels_256.h with each
// dot product in vpdpbusd, which cannot saturate, so q8_0's offset quants (+ 128) use the panels
// here too. Their outputs are the AVX-512 panel kernels' bits.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/matmul_kernels.h"
#include "kernels/weight_panels.h"

namespace moss {
namespace {

#include "kernels/matmul_panels_256.h"

struct VnniDot {
  static __m256i sum(__m256i init, const __m256i (&wv)[8], const int8_t* x) {
    for (int k = 0; k < 8; ++k) init = _mm256_dpbusd_avx_epi32(init, wv[k], broadcast4(x + 4 * k));
    return init;
  }
};

}  // namespace

void gemm256vnni_q4_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                             int64_t n1, float* y, int64_t ldy) {
  (void)stride;  // == act_bytes(K): contiguous BlockQ8A rows
  gemm256_panels_impl<PanelQ4_0, VnniDot>(act, m, w, K, n0, n1, y, ldy);
}

void gemm256vnni_q8_0_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                             int64_t n1, float* y, int64_t ldy) {
  (void)stride;
  gemm256_panels_impl<PanelQ8_0, VnniDot>(act, m, w, K, n0, n1, y, ldy);
}

void gemm256vnni_q4_k_panels(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0,
                             int64_t n1, float* y, int64_t ldy) {
  (void)stride;
  gemm256_q4_k_panels_impl<VnniDot>(act, m, w, K, n0, n1, y, ldy);
}

}  // namespace moss
