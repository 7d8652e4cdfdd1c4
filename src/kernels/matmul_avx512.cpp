// AVX-512 (F/BW/VL/DQ + VNNI) kernel table: the int8 dot products use one vpdpbusd per block.
#include <immintrin.h>

#include <cstring>

#include "kernels/matmul_kernels.h"
#include "tensor/quant_blocks.h"

namespace moss {
namespace {

inline __m256i dot_u8_i8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
}  // namespace
}  // namespace moss

namespace moss {
namespace {
#include "kernels/matmul_simd_impl.h"
}  // namespace
const MatmulKernels& matmul_kernels_avx512() { return kTable; }
}  // namespace moss
