// quant_ops: the table of implemented block formats. Add a type here when its quant_<type>.cpp exists.
#include "tensor/quant.h"

#include "tensor/quant_internal.h"

namespace moss {

const QuantOps* quant_ops(DType type) {
  static constexpr QuantOps kQ8_0{quantize_q8_0_ref, dequantize_q8_0};
  static constexpr QuantOps kQ4_0{quantize_q4_0_ref, dequantize_q4_0};
  static constexpr QuantOps kQ4_K{quantize_q4_k_ref, dequantize_q4_k};
  switch (type) {
    case DType::Q8_0:
      return &kQ8_0;
    case DType::Q4_0:
      return &kQ4_0;
    case DType::Q4_K:
      return &kQ4_K;
    default:
      return nullptr;
  }
}

}  // namespace moss
