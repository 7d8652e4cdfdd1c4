// AVX2 + AVX-VNNI kernel table (compiled with -mavx2 -mfma -mf16c -mavxvnni; used only after cpuid
// says so): the AVX2 table's kernels with each u8 x i8 dot product in one vpdpbusd instead of
// vpmaddubsw + vpmaddwd (the same exact integers: the AVX2 operands never saturate), plus panel
// kernels for q4_0 and q8_0 (matmul_panels_avxvnni.cpp).
#include <immintrin.h>

#include <cstring>

#include "kernels/matmul_kernels.h"
#include "tensor/quant_blocks.h"

namespace moss {
namespace {

inline __m256i dot_u8_i8(__m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s); }
}  // namespace
}  // namespace moss

namespace moss {
namespace {
#include "kernels/matmul_simd_impl.h"

const MatmulKernels kTableAvxVnni = [] {
  MatmulKernels t = kTable;
  t.q4_0_panels = gemm256vnni_q4_0_panels;
  t.q8_0_panels = gemm256vnni_q8_0_panels;
  t.q4_k_panels = gemm256vnni_q4_k_panels;
  return t;
}();
}  // namespace
const MatmulKernels& matmul_kernels_avxvnni() { return kTableAvxVnni; }
}  // namespace moss
