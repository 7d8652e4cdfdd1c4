// GPTQ Hugging Face folders (moss-moon-003-sft[-plugin]-int4 / -int8, spec moss-003.md §3): reads the
// packed tensors of one QuantLinear by its HF prefix, checks them against the shapes config.json
// implies, and imports it as one canonical weight through import_gptq_linear (formats/gptq.h).
#pragma once
#include <string>
#include <vector>

#include "formats/hf_config.h"
#include "tensor/tensor.h"

namespace moss {

// The tensors a QuantLinear `hf` (e.g. "transformer.h.0.mlp.fc_in") stores besides its bias.
std::vector<std::string> hf_gptq_tensor_names(const std::string& hf);

// Imports QuantLinear `hf` with K inputs and N outputs as `name` [N, K] into `dst` (memory owned by
// dst): exact q8_0 when every 32-input block uses one group and q - z fits int8 (always so for the
// released int4 files with their trivial g_idx), else the bit-exact fp16 Triton weight (act-order
// g_idx, out-of-range int8). Throws moss::Error naming `source`, the tensor, the expected and the
// actual shape/type for anything inconsistent with the config (bits c.wbits, groups
// G = ceil(K / c.groupsize), or 1 for groupsize -1).
const TensorView& import_hf_gptq(const TensorSet& raw, const std::string& hf, int64_t N, int64_t K, const HfConfig& c,
                                 TensorSet& dst, const std::string& name, const std::string& source);

}  // namespace moss
