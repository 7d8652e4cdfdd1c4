// A restricted unpickler for PyTorch state dicts (data.pkl inside a torch.save zip). It interprets
// only the opcodes a state dict uses and knows only the globals a state dict names
// (checkpoint-formats.md); anything else is refused by name and never resolved or called. The
// result is a description of each tensor; the caller (torch_zip.cpp) validates it against the
// storages in the archive.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace moss {

struct PickledTensor {
  std::string name;           // state-dict key
  std::string storage_key;    // entry <top>/data/<key> of the archive
  DType dtype = DType::F32;   // from the storage class (HalfStorage -> F16, ...)
  int64_t storage_numel = 0;  // elements the storage claims to hold
  int64_t offset = 0;         // storage offset, in elements
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;  // in elements
};

// Interprets `data` as a protocol-2 pickle of a {name: tensor} dict. Throws moss::Error naming the
// problem (a forbidden global such as "os.system", an unsupported opcode, a malformed structure).
std::vector<PickledTensor> unpickle_state_dict(const uint8_t* data, size_t size, const std::string& source);

}  // namespace moss
