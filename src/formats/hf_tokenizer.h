// The tokenizer files of a MOSS Hugging Face folder (spec 2.1) -> the tokenizer.* metadata keys:
// tokens indexed by id (vocab + added tokens, dense), token types (1 normal, 3 special, 4 other
// added), merges by rank, unk id, add_bos, and the ids whose neighbours are stripped (spec 2.5).
#pragma once
#include <string>

#include "formats/metadata.h"

namespace moss {

// File contents; an empty string means the file is absent (only vocab.json and merges.txt are
// required).
struct HfTokenizerFiles {
  std::string vocab_json;
  std::string merges_txt;
  std::string added_tokens_json;
  std::string special_tokens_map_json;
  std::string tokenizer_config_json;
};

void hf_tokenizer_to_metadata(const HfTokenizerFiles& files, const std::string& source, Metadata& meta);

}  // namespace moss
