// Hugging Face model folder -> ModelFile: config.json and tokenizer files become GGUF-style
// metadata, weights (pytorch_model.bin, sharded .bin + index, *.safetensors + index) become
// canonical tensors (model_file.h), with MOSS's fused q/v/k layout undone.
#pragma once
#include <string>

#include "formats/model_file.h"

namespace moss {

ModelFile open_hf_folder(const std::string& dir);

}  // namespace moss
