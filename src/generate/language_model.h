// The narrow interface the generation and chat loops use to talk to a model, so that they never
// depend on the model class: append tokens to the context, get the logits of the next position,
// drop the tail of the context. The real Model is adapted to it by load_language_model
// (model_adapter.cpp: one Model + one KV cache of the full context length); tests use
// ScriptedLanguageModel (scripted_model.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "tensor/dtype.h"

namespace moss {

class Tokenizer;

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  // Width of a logits row (the LM head may have padding rows beyond the tokenizer's ids).
  virtual int32_t n_vocab() const = 0;
  // Most positions the context can hold.
  virtual int32_t n_ctx() const = 0;
  // Appends `tokens` to the context (one prefill pass) and returns the logits of the position after
  // the last one, n_vocab() floats, valid until the next call. Throws moss::Error if the context
  // would exceed n_ctx() or `tokens` is empty.
  virtual std::span<const float> eval(std::span<const int32_t> tokens) = 0;
  // Positions currently in the context.
  virtual size_t n_past() const = 0;
  // Keeps the first n positions of the context (n <= n_past()).
  virtual void truncate(size_t n) = 0;
  // The tokenizer stored with the model, if the implementation has one (the real adapter does).
  virtual const Tokenizer* tokenizer() const { return nullptr; }
};

// Opens a model file (GGUF or Hugging Face folder) for generation with `threads` CPU threads
// (0 = all) and a KV cache of kv_type (F32 or F16, see model/kv_cache.h). Implemented in
// model_adapter.cpp over the real Model.
std::unique_ptr<LanguageModel> load_language_model(const std::string& path, int threads, DType kv_type = DType::F32);

// The tokenizer stored with the same model file.
Tokenizer load_model_tokenizer(const std::string& path);


}  // namespace moss
