// MossConfig: the hyper-parameters of a MOSS (CodeGen-style) model as the forward pass needs them,
// read from model metadata (formats/metadata.h keys; spec 1.1) and validated, so that the model code
// can trust every size it computes with.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/rotary.h"  // RopeVariant

namespace moss {

class Metadata;

struct MossConfig {
  int64_t n_vocab = 0;  // embedding / LM-head rows (V); may exceed the tokenizer's length
  int64_t n_ctx = 0;    // positions 0..n_ctx-1 are valid (rotary table size)
  int64_t n_embd = 0;   // E
  int64_t n_layer = 0;
  int64_t n_head = 0;      // H
  int64_t head_dim = 0;    // D = E / H
  int64_t rotary_dim = 0;  // R: rotary applies to the first R dims of each head (R even, R <= D)
  int64_t n_inner = 0;     // F, MLP hidden size
  float eps = 1e-5f;       // LayerNorm epsilon
  float rope_base = 10000.0f;
  RopeVariant rope_variant = RopeVariant::kFp32;
  int32_t bos_id = -1;  // -1 when the metadata does not say
  int32_t eos_id = -1;

  // Reads the moss.* keys (and tokenizer bos/eos ids when present). Throws moss::Error naming the
  // key for missing values, and for inconsistent or absurd sizes (see validate()).
  static MossConfig from_metadata(const Metadata& meta);

  // Throws moss::Error unless: all sizes positive and below sane limits, E % H == 0,
  // R even and R <= D, eps > 0 and finite.
  void validate() const;

  std::string describe() const;  // one line for logs: "E=6144 H=24 D=256 R=64 F=24576 L=34 V=107008 ctx=2048"
};

}  // namespace moss
