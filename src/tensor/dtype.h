// Element and block types of weights. Values equal the ggml_type ids written to GGUF files;
// types that GGUF cannot hold (U8, BOOL from PyTorch checkpoints) use private ids >= 1000 and are
// never written.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace moss {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
  U8 = 1000,
  BOOL = 1001,
};

struct DTypeTraits {
  const char* name;       // lower-case, as on the command line: "f32", "q4_0"
  int64_t block_size;     // elements per block (1 for plain types)
  size_t block_bytes;     // bytes per block
  bool quantized;
};

// Throws moss::Error for an id this program does not know (e.g. read from a hostile file).
const DTypeTraits& dtype_traits(DType t);
bool dtype_known(uint32_t id);
inline const char* dtype_name(DType t) { return dtype_traits(t).name; }
// Parses "f16", "q8_0", ...; throws moss::Error listing the accepted names otherwise.
DType dtype_from_name(const std::string& name);
// Bytes of one row of n elements; throws if n is not a multiple of the block size.
size_t row_bytes(DType t, int64_t n);

}  // namespace moss
