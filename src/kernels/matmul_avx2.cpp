// AVX2 + FMA + F16C kernel table (compiled with -mavx2 -mfma -mf16c; used only after cpuid says so).
#include <immintrin.h>

#include <cstring>

#include "kernels/matmul_kernels.h"
#include "tensor/quant_blocks.h"

namespace moss {
namespace {

inline __m256i dot_u8_i8(__m256i u, __m256i s) {
  // u8 x i8 pairs -> i16 (no saturation: |u| <= 128, |s| <= 127, two products < 32767) -> i32
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
}  // namespace
}  // namespace moss

namespace moss {
namespace {
#include "kernels/matmul_simd_impl.h"

const MatmulKernels kTableAvx2 = [] {
  MatmulKernels t = kTable;
  t.q4_0_panels = gemm256_q4_0_panels;  // matmul_panels_avx2.cpp
  t.q4_k_panels = gemm256_q4_k_panels;
  return t;
}();
}  // namespace
const MatmulKernels& matmul_kernels_avx2() { return kTableAvx2; }
}  // namespace moss
