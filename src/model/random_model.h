// Random-weight MOSS models in GGUF, for benchmarks and for tests of everything that needs a model
// file (chat, generate, the server, quality reports). The weights are normal(0, 0.02) values drawn
// for a few dozen distinct rows per row length and reused cyclically (the values do not change the
// speed, and quantizing every row of a 16B model would take minutes); norms are 1, biases 0.
// The file carries a working MOSS tokenizer: GPT-2's byte-level BPE when a folder with
// encoder.json + vocab.bpe is given, else a small built-in byte-level vocabulary (256 byte tokens, a
// handful of merges, <|endoftext|>), followed in both cases by MOSS's 43 added tokens (spec 2.1:
// 30 space runs, 8 tab runs, <eoh> <eom> <eot> <eoc> <eor>) with eos = <eom>, bos = unk =
// <|endoftext|>. The embedding/LM-head rows stay as the shape says (rows past the tokenizer are
// padding, as in the real model).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "formats/metadata.h"
#include "formats/model_file.h"
#include "util/paths.h"  // find_beside_checkout (random models look for the GPT-2 files with it)
#include "tensor/dtype.h"

namespace moss {

// A few dozen distinct random rows (normal(0, 0.02), quantized to `type`) per row length, reused
// cyclically: the weights of random models and of `moss bench --kernels`.
struct RandomRows {
  static constexpr int kRows = 61;
  DType type;
  int64_t cols;
  size_t rb;  // bytes per row
  std::vector<uint8_t> rows;
  RandomRows(DType t, int64_t c, uint32_t seed);
  const uint8_t* row(int64_t i) const { return rows.data() + rb * static_cast<size_t>((i * 17) % kRows); }
  void fill(uint8_t* dst, int64_t n_rows) const;  // n_rows consecutive rows
};

struct RandomModelShape {
  const char* name;
  int64_t n_embd, n_layer, n_head, rotary, vocab, n_inner, n_ctx;
};

// "small" (MOSS scaled down, 1.24B parameters), "moss16b" (moss-moon-003, 16.7B), "tiny" (for
// tests: E=256, 2 layers, 512 vocabulary rows, context 128), "tiny-chat" (tiny with context 2048,
// room for the chat prompt) or "tiny-gpt2" (E=64, 2 layers, 50,368 rows: room for GPT-2's BPE).
// Throws moss::Error for other names.
const RandomModelShape& random_model_shape(const std::string& name);

// The tokenizer.* metadata keys described above. vocab_dir empty: the built-in vocabulary.
// Throws moss::Error if the folder's files are missing or malformed.
Metadata random_model_tokenizer(const std::string& vocab_dir);

// Writes the model (GGUF v3, via a temporary file renamed at the end). Weight matrices are stored
// as weight_type (f32, f16, bf16 or a quantized type whose block divides the row lengths); the
// same seed gives the same file (seed 1 reproduces the original benchmark models). Throws
// moss::Error if the tokenizer has more tokens than the shape's vocabulary rows.
void write_random_model(const std::string& path, const RandomModelShape& shape, DType weight_type, uint32_t seed = 1,
                        const std::string& vocab_dir = {}, const Progress& progress = {});


}  // namespace moss
