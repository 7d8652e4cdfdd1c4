// GPTQ import (MOSS int4 / int8 checkpoints, spec moss-003.md §3): the packed tensors of one
// QuantLinear (qweight [K/p, N] i32, qzeros [G, N/p] i32, scales [G, N] f16, g_idx [K] i32) become one
// canonical weight [N, K] (a PyTorch Linear weight as stored) that matmul() reads directly.
//
// What the Triton kernel multiplies by is fp16(scales[g, n] * (q - z)) (z includes the +1 offset).
// Representations:
//  * Q8_0 (default when exact): one q8_0 block per 32 inputs with d = scales[g, n] and qs = q - z.
//    Possible when every 32-input block uses one group (true for group 128 with the trivial
//    g_idx = k div 128) and q - z fits int8 (always for int4: -16..14; for int8 only if it does).
//    Dequantized it is the exact product s * (q - z), i.e. the Triton weight before its fp16
//    rounding: |difference| <= 2^-11 |w| (half an fp16 ulp), measured in tests/formats/gptq_test.cpp.
//    Size: 1.0625 bytes per weight (the int4 file holds ~0.52).
//  * F16: fp16(s * (q - z)) bit for bit the Triton weight; 2 bytes per weight. Used for act-order
//    g_idx or out-of-range int8 values when Auto is asked for.
// The bias (fp16, fc_in / fc_out only) is an ordinary tensor and is not handled here.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace moss {

struct GptqLinear {
  const TensorView* qweight = nullptr;  // I32 [K/p, N]
  const TensorView* qzeros = nullptr;   // I32 [G, N/p]
  const TensorView* scales = nullptr;   // F16 [G, N]
  const TensorView* g_idx = nullptr;    // I32 [K]
  int bits = 4;                         // 4 or 8 (config.wbits)
};

enum class GptqTarget { Auto, Q8_0, F16 };

// Adds tensor `name` [N, K] to `dst` (memory owned by dst) and returns it. Throws moss::Error naming
// `name` for inconsistent shapes/types, g_idx entries out of range, or a Q8_0 request that cannot be
// exact.
const TensorView& import_gptq_linear(const GptqLinear& in, TensorSet& dst, const std::string& name,
                                     GptqTarget target = GptqTarget::Auto);

}  // namespace moss
