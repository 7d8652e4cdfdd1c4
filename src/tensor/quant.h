// Registry of block-quantized types: each quant_<type>.cpp provides the reference quantizer and
// dequantizer of one GGUF block format (ggml-quants.c semantics, byte-exact).
#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace moss {

struct QuantOps {
  void (*quantize)(const float* src, void* dst, int64_t n);
  void (*dequantize)(const void* src, float* dst, int64_t n);
};

// nullptr when the type has no implementation.
const QuantOps* quant_ops(DType type);

}  // namespace moss
