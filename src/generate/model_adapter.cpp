// The real Model behind the LanguageModel interface: one KV cache, a forward pass per eval() that
// appends the new tokens and returns the last position's logits. The tokenizer comes from the same
// model file's metadata.
#include <vector>

#include "formats/model_file.h"
#include "generate/language_model.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss {

namespace {

class ModelLanguageModel final : public LanguageModel {
 public:
  explicit ModelLanguageModel(std::unique_ptr<Model> model) : model_(std::move(model)), cache_(model_->new_cache()) {}

  int32_t n_vocab() const override { return static_cast<int32_t>(model_->config().n_vocab); }
  int32_t n_ctx() const override { return static_cast<int32_t>(model_->config().n_ctx); }
  size_t n_past() const override { return static_cast<size_t>(cache_.size()); }
  void truncate(size_t n) override { cache_.truncate(static_cast<int64_t>(n)); }

  std::span<const float> eval(std::span<const int32_t> tokens) override {
    if (tokens.empty()) fail("eval: no tokens");
    logits_ = model_->forward(cache_, tokens, /*all_logits=*/false);
    return logits_;
  }

  const Model& model() const { return *model_; }

 private:
  std::unique_ptr<Model> model_;
  KvCache cache_;
  std::vector<float> logits_;
};

}  // namespace

std::unique_ptr<LanguageModel> load_language_model(const std::string& path, int threads) {
  return std::make_unique<ModelLanguageModel>(Model::load(path, threads));
}

Tokenizer load_model_tokenizer(const std::string& path) {
  // Opening a GGUF file only maps it; a Hugging Face folder also un-fuses qkv. Callers that load
  // the model too should prefer load_chat_model, which opens the file once.
  const ModelFile file = open_model(path);
  return Tokenizer::from_metadata(file.meta);
}

ChatModel load_chat_model(const std::string& path, int threads) {
  auto model = Model::load(path, threads);
  ChatModel out;
  out.tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_metadata(model->file().meta));
  out.model = std::make_unique<ModelLanguageModel>(std::move(model));
  return out;
}

}  // namespace moss
