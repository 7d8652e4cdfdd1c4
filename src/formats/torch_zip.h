// PyTorch zip checkpoints (torch.save, PyTorch >= 1.6): the ZIP directory locates data.pkl and the
// storages, the restricted unpickler describes the tensors, and each tensor becomes a view of its
// storage's bytes inside the archive (no copy).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace moss {

// Parses a torch.save archive held in memory; views point into `data`. Tensor names are the
// state-dict keys. Throws moss::Error for a legacy (pre-1.6) pickle, a forbidden global, a
// storage too small for its tensors, non-contiguous strides, ...
void parse_torch_zip(const uint8_t* data, size_t size, const std::string& source, TensorSet& out);

// Maps and parses a file; the mapping lives as long as the returned set.
TensorSet read_torch_checkpoint(const std::string& path);

}  // namespace moss
