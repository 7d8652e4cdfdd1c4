// Adapts the real Model (model/model.h) to LanguageModel: one Model, one KV cache holding the whole
// context window, and the tokenizer read from the same file's metadata.
#include <cstdio>
#include <memory>

#include "formats/model_file.h"
#include "generate/language_model.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss {
namespace {

class ModelLanguageModel : public LanguageModel {
 public:
  explicit ModelLanguageModel(std::unique_ptr<Model> model)
      : model_(std::move(model)),
        cache_(model_->new_cache()),
        tokenizer_(Tokenizer::from_metadata(model_->file().meta)) {}

  int32_t n_vocab() const override { return static_cast<int32_t>(model_->config().n_vocab); }
  int32_t n_ctx() const override { return static_cast<int32_t>(cache_.capacity()); }
  std::span<const float> eval(std::span<const int32_t> tokens) override {
    if (tokens.empty()) fail("LanguageModel::eval: no tokens");
    logits_ = model_->forward(cache_, tokens, /*all_logits=*/false);
    return logits_;
  }
  size_t n_past() const override { return static_cast<size_t>(cache_.size()); }
  void truncate(size_t n) override { cache_.truncate(static_cast<int64_t>(n)); }
  const Tokenizer* tokenizer() const override { return &tokenizer_; }

 private:
  std::unique_ptr<Model> model_;
  KvCache cache_;
  Tokenizer tokenizer_;
  std::vector<float> logits_;
};

}  // namespace

std::unique_ptr<LanguageModel> load_language_model(const std::string& path, int threads, DType kv_type) {
  auto model = Model::load(path, threads, kv_type);
  if (const std::string hint = model->layout_hint(); !hint.empty()) std::fprintf(stderr, "moss: %s\n", hint.c_str());
  return std::make_unique<ModelLanguageModel>(std::move(model));
}

Tokenizer load_model_tokenizer(const std::string& path) { return Tokenizer::from_metadata(open_model(path).meta); }

}  // namespace moss
