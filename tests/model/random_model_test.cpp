// Random-weight models (model/random_model.h): the file opens as a model, carries a working MOSS
// tokenizer (built-in vocabulary or GPT-2's BPE), and the same seed writes the same bytes.
#include "model/random_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "formats/model_file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss {
namespace {

namespace fs = std::filesystem;

class RandomModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("moss_random_model_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string bytes(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  }
  fs::path dir_;
};

// Built-in vocabulary: 256 bytes + 32 merges + <|endoftext|> = 289 base tokens, then the 43 added.
constexpr int32_t kBase = 256 + 32 + 1;

TEST_F(RandomModel, TinyModelOpensWithAWorkingTokenizerAndRuns) {
  write_random_model(path("t.gguf"), random_model_shape("tiny"), DType::F32);
  ModelFile file = open_model(path("t.gguf"));
  const Tokenizer tok = Tokenizer::from_metadata(file.meta);
  EXPECT_EQ(tok.n_tokens(), kBase + 43);
  EXPECT_EQ(tok.bos_id(), kBase - 1);
  EXPECT_EQ(tok.token_id("<|endoftext|>"), kBase - 1);
  // spec 2.1 layout: 31 spaces first ... 2 spaces, 9 tabs ... 2 tabs, then the five markers
  EXPECT_EQ(tok.token_id(std::string(31, ' ')), kBase);
  EXPECT_EQ(tok.token_id(std::string(2, ' ')), kBase + 29);
  EXPECT_EQ(tok.token_id(std::string(9, '\t')), kBase + 30);
  EXPECT_EQ(tok.token_id(std::string(2, '\t')), kBase + 37);
  const char* markers[] = {"<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(tok.token_id(markers[i]), kBase + 38 + i) << markers[i];
    EXPECT_TRUE(tok.is_special(kBase + 38 + i)) << markers[i];
  }
  EXPECT_EQ(tok.eos_id(), tok.token_id("<eom>"));
  EXPECT_FALSE(tok.is_special(kBase));  // whitespace runs are added but not special

  const std::string text = "<|Human|>: Is the stem cell research in 中文 ok?<eoh>\n<|MOSS|>: Yes.<eom>";
  const std::vector<int32_t> ids = tok.encode(text, /*parse_special=*/true);
  EXPECT_EQ(tok.decode(ids), "<|Human|>: Is the stem cell research in 中文 ok? <eoh> \n<|MOSS|>: Yes. <eom>")
      << "added tokens decode as their own space-joined segments (spec 2.6)";
  EXPECT_NE(std::find(ids.begin(), ids.end(), tok.token_id("<eoh>")), ids.end());
  EXPECT_EQ(ids.back(), tok.eos_id());
  EXPECT_LT(ids.size(), text.size()) << "the merges apply (\" the\" is one token)";
  const std::vector<int32_t> plain = tok.encode("plain text, no markers");
  EXPECT_EQ(tok.decode(plain), "plain text, no markers");

  Model model(std::move(file), 1);
  EXPECT_EQ(model.config().n_vocab, 512);
  KvCache cache = model.new_cache(static_cast<int64_t>(ids.size()));
  const std::vector<float> logits = model.forward(cache, ids, /*all_logits=*/true);
  ASSERT_EQ(logits.size(), ids.size() * 512);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

TEST_F(RandomModel, SameSeedSameBytesOtherSeedOtherWeights) {
  const auto& s = random_model_shape("tiny");
  write_random_model(path("a.gguf"), s, DType::Q8_0, 7);
  write_random_model(path("b.gguf"), s, DType::Q8_0, 7);
  write_random_model(path("c.gguf"), s, DType::Q8_0, 8);
  EXPECT_EQ(bytes(path("a.gguf")), bytes(path("b.gguf")));
  EXPECT_NE(bytes(path("a.gguf")), bytes(path("c.gguf")));
  EXPECT_EQ(bytes(path("a.gguf")).size(), bytes(path("c.gguf")).size());
  EXPECT_FALSE(fs::exists(path("a.gguf.tmp")));
}

TEST_F(RandomModel, Gpt2VocabularyFromAFolder) {
  const std::string dir = std::string(MOSS_SHARED_DIR) + "/data/gpt2-bpe";
  const Metadata meta = random_model_tokenizer(dir);
  const Tokenizer tok = Tokenizer::from_metadata(meta);
  EXPECT_EQ(tok.n_tokens(), 50257 + 43);
  EXPECT_EQ(tok.bos_id(), 50256);
  EXPECT_EQ(tok.eos_id(), 50257 + 39);                                       // <eom>
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int32_t>{15496, 995}));  // GPT-2's ids
  // 50,300 tokens do not fit the tiny shape's 512 rows: a clear error and no file left behind
  EXPECT_THROW(write_random_model(path("g.gguf"), random_model_shape("tiny"), DType::F32, 1, dir), Error);
  EXPECT_FALSE(fs::exists(path("g.gguf")));
  EXPECT_FALSE(fs::exists(path("g.gguf.tmp")));
}

TEST_F(RandomModel, BadInputsAreErrors) {
  EXPECT_THROW(random_model_shape("huge"), Error);
  EXPECT_THROW(random_model_tokenizer(path("no-such-folder")), Error);
  fs::create_directories(path("bad"));
  std::ofstream(path("bad/encoder.json")) << "{not json";
  std::ofstream(path("bad/vocab.bpe")) << "#version: 0.2\n";
  EXPECT_THROW(random_model_tokenizer(path("bad")), Error);
  EXPECT_THROW(write_random_model(path("no-dir/x.gguf"), random_model_shape("tiny"), DType::F32), Error);
  EXPECT_THROW(write_random_model(path("x.gguf"), random_model_shape("tiny"), DType::I32), Error);
}

}  // namespace
}  // namespace moss
