// Plain-type row conversion and dispatch to the block quantizers.
#include "tensor/convert.h"

#include <cstring>

#include "tensor/quant.h"
#include "util/error.h"
#include "util/half.h"

namespace moss {

bool can_dequantize(DType type) {
  switch (type) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::F64:
      return true;
    default:
      return quant_ops(type) != nullptr;
  }
}

bool can_quantize(DType type) {
  switch (type) {
    case DType::F32: case DType::F16: case DType::BF16:
      return true;
    default:
      return quant_ops(type) != nullptr;
  }
}

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(s[i]);
      return;
    }
    case DType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::F64: {
      const auto* s = static_cast<const double*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    }
    default:
      break;
  }
  const QuantOps* ops = quant_ops(type);
  if (!ops) fail("cannot read tensors of type ", dtype_name(type));
  row_bytes(type, n);  // validates the block multiple
  ops->dequantize(src, dst, n);
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::F16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_fp16(src[i]);
      return;
    }
    case DType::BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    default:
      break;
  }
  const QuantOps* ops = quant_ops(type);
  if (!ops) fail("cannot write tensors of type ", dtype_name(type));
  row_bytes(type, n);
  ops->quantize(src, dst, n);
}

}  // namespace moss
