// Placeholder adapter between the model layer and LanguageModel: the lead replaces these two
// definitions with ones that open the real Model and its Tokenizer. Until then `moss chat` reports
// a clear error instead of failing to link.
#include "generate/language_model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss {

std::unique_ptr<LanguageModel> load_language_model(const std::string& path, int /*threads*/) {
  fail("load_language_model(", path, "): the model adapter is not available yet");
}

Tokenizer load_model_tokenizer(const std::string& path) {
  fail("load_model_tokenizer(", path, "): the model adapter is not available yet");
}

}  // namespace moss
