// The per-instruction-set half <-> float conversions behind the f16 KV cache (internal to kernels/
// and its tests). Every table gives the same bits: half -> float is exact, and float -> half rounds
// to nearest even (F16C / AVX-512 with _MM_FROUND_TO_NEAREST_INT, util/half.h in the scalar table),
// overflow to +-inf included. Only NaN payloads may differ (they stay NaN).
#pragma once
#include <cstdint>

#include "kernels/cpu_features.h"

namespace moss {

struct HalfKernels {
  void (*to_f32)(const uint16_t* src, float* dst, int64_t n);
  void (*to_f16)(const float* src, uint16_t* dst, int64_t n);
};

const HalfKernels& half_kernels_scalar();
const HalfKernels& half_kernels_avx2();
const HalfKernels& half_kernels_avx512();
// The table for `isa`; throws moss::Error if the CPU lacks it.
const HalfKernels& half_kernels(Isa isa);

}  // namespace moss
