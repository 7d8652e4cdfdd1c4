// config.json of a MOSS Hugging Face folder (spec 1.1) -> validated hyper-parameters and the
// moss.* metadata keys. Separate from the folder reader so the fuzz target can feed it text.
#pragma once
#include <cstdint>
#include <string>

#include "formats/metadata.h"

namespace moss {

struct HfConfig {
  int64_t vocab_size = 107008;
  int64_t n_positions = 2048;
  int64_t n_embd = 4096;
  int64_t n_layer = 28;
  int64_t n_head = 16;
  int64_t rotary_dim = 64;
  int64_t n_inner = 0;  // resolved: null/absent -> 4 * n_embd
  double layer_norm_epsilon = 1e-5;
  int64_t bos_token_id = 106028;
  int64_t eos_token_id = 106068;
  int wbits = 0;  // 0: not a GPTQ checkpoint (absent, or the class default 32)
  int64_t groupsize = 128;

  int64_t head_dim() const { return n_embd / n_head; }
};

// MOSS's fused qkv projection always splits into mp_num = 4 chunks (modeling_moss.py).
inline constexpr int64_t kMossMpNum = 4;

// Parses and validates config.json text; defaults are MossConfig's (spec 1.1). Throws moss::Error
// naming `source` and the field for bad JSON, wrong types or inconsistent sizes.
HfConfig parse_hf_config(const std::string& json_text, const std::string& source);

// Writes general.architecture and the moss.* keys (and the bos/eos ids of config.json).
void hf_config_to_metadata(const HfConfig& c, Metadata& meta);

}  // namespace moss
