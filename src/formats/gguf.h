// GGUF v3 reading (validating every count, length and offset against the file) and the pieces of
// the format the writer shares with it. The public entry points are open_model / write_gguf in
// model_file.h; parse_gguf is exposed for the fuzz target and tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/metadata.h"
#include "formats/model_file.h"
#include "tensor/tensor.h"

namespace moss {

inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint64_t kGgufDefaultAlignment = 32;  // when a file has no general.alignment
// What moss writes (and records in general.alignment, which llama.cpp honours too): every tensor on a
// 64-byte cache-line boundary, which the AVX-512 whole-line q4_0 kernels need to apply (when matrices
// are not repacked into panels at load: kernels/weight_panels.h).
inline constexpr uint64_t kMossWriteAlignment = 64;
inline constexpr size_t kGgufMaxName = 63;  // llama.cpp rejects names of GGML_MAX_NAME (64) bytes or more
inline constexpr int kGgufMaxDims = 4;

// True when the buffer starts with the "GGUF" magic.
bool is_gguf(const uint8_t* data, size_t size);

// Parses a GGUF image held in memory (a mapping, or a fuzzer's buffer). Tensor views point into
// `data`, which the caller keeps alive; shapes are converted to PyTorch order (ne[] reversed).
// `source` names the file in error messages.
void parse_gguf(const uint8_t* data, size_t size, const std::string& source, Metadata& meta, TensorSet& tensors);

// Maps and parses a GGUF file; the mapping lives as long as the returned tensors.
ModelFile read_gguf(const std::string& path);

// One tensor's entry in a GGUF header; shape in PyTorch order (written reversed: ne[0] innermost).
struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  DType type;
  uint64_t offset;  // from the start of the data section
};

// The bytes a tensor of `nbytes` takes in the data section: padded to a multiple of `alignment`, so
// that the next tensor's offset (the running sum, in tensor-info order) is aligned. Both writers use it.
inline uint64_t gguf_padded_size(uint64_t nbytes, uint64_t alignment) {
  return (nbytes + alignment - 1) / alignment * alignment;
}

// The bytes of a GGUF v3 header: magic, version, counts, the metadata, the tensor infos, then zeros up
// to a multiple of `alignment` (where the data section starts). Both writers (write_gguf and the
// random benchmark models) use it.
std::string encode_gguf_header(const Metadata& meta, const std::vector<GgufTensorInfo>& tensors, uint64_t alignment);

// GGUF's general.file_type (LLAMA_FTYPE) for a file whose weight matrices are `weight_type`.
uint32_t gguf_file_type(DType weight_type);

}  // namespace moss
