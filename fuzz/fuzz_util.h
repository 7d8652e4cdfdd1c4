// Shared by the fuzz targets: reads every byte of each parsed tensor so that AddressSanitizer
// flags any view that points outside the input buffer.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace moss::fuzz {

inline void touch(const TensorSet& ts) {
  volatile uint8_t sink = 0;
  for (const auto& t : ts.all()) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    for (size_t k = 0; k < t.nbytes; ++k) sink = static_cast<uint8_t>(sink ^ p[k]);
  }
  (void)sink;
}

}  // namespace moss::fuzz
