// Row conversion between float32 and every weight type: dequantize_row for reading any weight,
// quantize_row for writing one. The plain types (f32/f16/bf16) are here; quantized block types
// (q8_0, q4_0, q4_k, ...) are registered by tensor/quant_*.cpp with the reference (bit-exact)
// algorithms of ggml-quants.c.
#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace moss {

// dst[0..n) = the n values of one row stored as `type` at src. n must be a multiple of the block size.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);
// Stores n floats as `type` at dst (row_bytes(type, n) bytes). Throws for types we cannot write.
void quantize_row(DType type, const float* src, void* dst, int64_t n);
// Whether quantize_row / dequantize_row support `type`.
bool can_quantize(DType type);
bool can_dequantize(DType type);

}  // namespace moss
