// Fuzz target: config.json and tokenizer files. The input is split at NUL bytes into
// config.json, vocab.json, merges.txt, added_tokens.json, special_tokens_map.json and
// tokenizer_config.json (missing parts are empty = absent).
#include <string>
#include <vector>

#include "formats/hf_config.h"
#include "formats/hf_tokenizer.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> parts(1);
  for (size_t k = 0; k < size; ++k) {
    if (data[k] == 0 && parts.size() < 6)
      parts.emplace_back();
    else
      parts.back() += static_cast<char>(data[k]);
  }
  parts.resize(6);
  moss::Metadata meta;
  try {
    moss::HfConfig c = moss::parse_hf_config(parts[0], "config.json");
    moss::hf_config_to_metadata(c, meta);
  } catch (const moss::Error&) {
  }
  try {
    moss::HfTokenizerFiles f{parts[1], parts[2], parts[3], parts[4], parts[5]};
    moss::hf_tokenizer_to_metadata(f, "tokenizer", meta);
  } catch (const moss::Error&) {
  }
  return 0;
}
