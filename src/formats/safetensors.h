// safetensors reader: u64 header length, JSON header {name: {dtype, shape, data_offsets}}, byte
// buffer. Every field is validated (checkpoint-formats.md); tensors are views into the buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace moss {

// Parses a safetensors image held in memory; views point into `data`, which the caller keeps
// alive. Tensor names are kept as stored. `source` names the file in messages.
void parse_safetensors(const uint8_t* data, size_t size, const std::string& source, TensorSet& out);

// Maps and parses a file; the mapping lives as long as the returned set.
TensorSet read_safetensors(const std::string& path);

}  // namespace moss
