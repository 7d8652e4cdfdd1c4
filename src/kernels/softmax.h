// Softmax of one row of attention scores, in place: p_j = exp(s_j - max) / sum_i exp(s_i - max).
// One implementation for every instruction set (attention calls it whatever its row kernels are),
// so f32, f16 and q8_0 caches and all ISAs still agree bit for bit. exp is evaluated in double
// (kernels/exp_double.h: relative error < 1e-15) and rounded to float once, so each exp term is
// within one float rounding of the exact value, as libm's expf was; the sum runs in 8 lanes
// (lane j mod 8) added pairwise at the end. NaN scores make the row NaN; -inf scores give 0.
#pragma once
#include <cstdint>

namespace moss {

void softmax_inplace(float* row, int64_t n);

}  // namespace moss
