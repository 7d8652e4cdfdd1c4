// A model as the rest of the program sees it, whatever file it came from: metadata (GGUF keys, see
// metadata.h) and the tensors under their canonical names, in the canonical layout:
//   token_embd.weight [V, E]
//   blk.N.attn_norm.{weight,bias} [E]          (ln_1, shared by attention and MLP)
//   blk.N.attn_qkv.weight [3E, E]               rows: Q (head h, dim d at h*D+d), then K, then V
//                                               (the fused MOSS mp_num=4 q/v/k order is undone here)
//   blk.N.attn_output.weight [E, E]
//   blk.N.ffn_up.{weight [F, E], bias [F]}     (fc_in)
//   blk.N.ffn_down.{weight [E, F], bias [E]}   (fc_out)
//   output_norm.{weight,bias} [E]               (ln_f)
//   output.{weight [V, E], bias [V]}            (lm_head)
// GPTQ checkpoints are imported into this layout too (see formats/gptq.h).
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "formats/metadata.h"
#include "tensor/tensor.h"

namespace moss {

struct ModelFile {
  Metadata meta;
  TensorSet tensors;
  std::string source;  // the path it was opened from, for messages
};

// Opens a GGUF file or a Hugging Face model folder (config.json + tokenizer files + weights as
// pytorch_model.bin, sharded .bin with index, or *.safetensors). Weights stay memory-mapped where
// the stored layout is already canonical. Throws moss::Error with the file and the problem.
ModelFile open_model(const std::string& path);

// Progress callback: bytes done, bytes total.
using Progress = std::function<void(uint64_t, uint64_t)>;

// Writes `model` as GGUF v3 to `path` (via a temporary file renamed at the end, so a failed
// conversion never leaves a half-written model). Weight matrices (2-D tensors named *.weight other
// than norms) are stored as `weight_type`; 1-D tensors stay f32. Throws if a tensor cannot be
// represented (a row not divisible by the block size, an already-quantized source re-quantized).
// keep_weight_types: weight matrices keep their stored type instead (f64 -> f32), a lossless copy,
// e.g. of a GPTQ folder's exact q8_0 Linears and fp16 embeddings; weight_type is then ignored and
// general.file_type names the type holding most weight bytes.
void write_gguf(const std::string& path, const ModelFile& model, DType weight_type, const Progress& progress = {},
                bool keep_weight_types = false);

// Weight types per role: `weights` for every weight matrix, except the token embedding
// (token_embd.weight) and the LM head (output.weight) where `embedding` / `output` are set. The LM
// head is the largest single matmul of a decode step and the embedding is only ever read one row
// per token, so the two are worth choosing separately (see bench/README.md, "LM head and embedding
// precision").
struct WeightTypes {
  DType weights = DType::F16;
  std::optional<DType> embedding;  // token_embd.weight; unset: `weights`
  std::optional<DType> output;     // output.weight; unset: `weights`
};

// As above, with per-role types. With keep_weight_types, a set `embedding` / `output` still
// applies to its tensor (an explicit request wins over "keep"); the other matrices keep theirs.
void write_gguf(const std::string& path, const ModelFile& model, const WeightTypes& types, const Progress& progress = {},
                bool keep_weight_types = false);

}  // namespace moss
