// quant_ops: the table of implemented block formats. Add a type here when its quant_<type>.cpp exists.
#include "tensor/quant.h"

namespace moss {

const QuantOps* quant_ops(DType /*type*/) {
  return nullptr;
}

}  // namespace moss
