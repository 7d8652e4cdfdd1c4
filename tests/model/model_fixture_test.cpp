// The forward pass vs the Python reference (tools/reference_moss.py, float64) on every fixture
// folder: each checkpoint layout (pytorch_model.bin, sharded .bin + index, model.safetensors) with
// fp32 and fp16 weights, loaded through open_model. Checks prefill logits at every position, decode
// steps through the KV cache, the greedy continuation, chunked prefill, truncation and batching.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "formats/metadata.h"
#include "model/greedy.h"
#include "model/model.h"
#include "model_fixtures.h"
#include "util/error.h"

namespace moss {
namespace {

using testing::ids_of;
using testing::kLogitTol;
using testing::max_abs_diff;
using testing::model_manifest;
using testing::read_f32;

const std::vector<std::string> kFolders = {"a_f32_bin",     "a_f32_safetensors", "a_f16_sharded",
                                           "b_f32_sharded", "b_f16_bin",         "b_f16_safetensors"};

struct Fixture {
  std::unique_ptr<Model> model;
  nlohmann::json c;  // the manifest case
};

Fixture load(const std::string& folder) {
  for (const auto& f : model_manifest()["folders"]) {
    if (f["folder"] == folder) {
      Fixture fx{Model::load(testing::model_fixture_dir() + "/" + folder, 2),
                 model_manifest()["cases"][f["case"].get<std::string>()]};
      return fx;
    }
  }
  throw std::runtime_error("folder " + folder + " is not in the manifest");
}

class ModelFixture : public ::testing::TestWithParam<std::string> {};

TEST(ModelFixtureList, MatchesManifest) {
  std::vector<std::string> listed;
  for (const auto& f : model_manifest()["folders"]) listed.push_back(f["folder"]);
  EXPECT_EQ(listed, kFolders);
}

TEST_P(ModelFixture, ConfigMatchesFolder) {
  Fixture fx = load(GetParam());
  const MossConfig& c = fx.model->config();
  EXPECT_EQ(c.n_vocab, model_manifest()["n_vocab"].get<int64_t>());
  EXPECT_EQ(c.n_ctx, 64);
  EXPECT_EQ(c.eos_id, model_manifest()["eos"].get<int32_t>());
  EXPECT_EQ(c.rope_variant, RopeVariant::kFp32);  // HF fp16/fp32 checkpoints: variant A
}

TEST_P(ModelFixture, PrefillThenDecodeMatchesReference) {
  Fixture fx = load(GetParam());
  const int64_t V = fx.model->config().n_vocab;
  const auto prompt = ids_of(fx.c["prompt"]);
  KvCache cache = fx.model->new_cache();
  const auto logits = fx.model->forward(cache, prompt, /*all_logits=*/true);
  const auto want = read_f32(fx.c["prefill_logits"]);
  ASSERT_EQ(logits.size(), prompt.size() * V);
  EXPECT_LE(max_abs_diff(logits, want), kLogitTol);
  EXPECT_EQ(cache.size(), static_cast<int64_t>(prompt.size()));

  const auto decode = ids_of(fx.c["decode_ids"]);
  const auto want_dec = read_f32(fx.c["decode_logits"]);
  for (size_t i = 0; i < decode.size(); ++i) {
    const auto step = fx.model->forward(cache, std::span<const int32_t>(&decode[i], 1));
    ASSERT_EQ(step.size(), static_cast<size_t>(V));
    EXPECT_LE(max_abs_diff(step, std::span<const float>(want_dec).subspan(i * V, V)), kLogitTol) << "step " << i;
  }
}

TEST_P(ModelFixture, GreedyMatchesReference) {
  Fixture fx = load(GetParam());
  KvCache cache = fx.model->new_cache();
  const auto got = generate_greedy(*fx.model, cache, ids_of(fx.c["prompt"]), fx.c["greedy_n"].get<int64_t>(),
                                   fx.model->config().eos_id);
  EXPECT_EQ(got, ids_of(fx.c["greedy_ids"]));
}

TEST_P(ModelFixture, ChunkedPrefillAndTruncateReproduceLogits) {
  Fixture fx = load(GetParam());
  const int64_t V = fx.model->config().n_vocab;
  const auto prompt = ids_of(fx.c["prompt"]);
  const auto want = read_f32(fx.c["prefill_logits"]);
  KvCache cache = fx.model->new_cache(16);
  std::span<const int32_t> p(prompt);
  fx.model->forward(cache, p.subspan(0, 3), true);
  const auto rest = fx.model->forward(cache, p.subspan(3), true);
  EXPECT_LE(max_abs_diff(rest, std::span<const float>(want).subspan(3 * V)), kLogitTol);
  // Drop the last 2 positions and feed them again (chat-history reuse).
  cache.truncate(static_cast<int64_t>(prompt.size()) - 2);
  const auto again = fx.model->forward(cache, p.subspan(prompt.size() - 2), true);
  EXPECT_LE(max_abs_diff(again, std::span<const float>(want).subspan((prompt.size() - 2) * V)), kLogitTol);
  EXPECT_THROW(cache.truncate(cache.size() + 1), Error);
}

INSTANTIATE_TEST_SUITE_P(AllLayouts, ModelFixture, ::testing::ValuesIn(kFolders));

TEST(ModelBatch, SequencesOfDifferentLengthsEqualEachAlone) {
  Fixture fx = load("b_f16_safetensors");
  Model& m = *fx.model;
  const int64_t V = m.config().n_vocab;
  const auto prompt = ids_of(fx.c["prompt"]);
  const auto decode = ids_of(fx.c["decode_ids"]);
  std::span<const int32_t> p(prompt);

  // Alone: A = full prompt; B = prompt then one decode token; C = two tokens.
  KvCache a1 = m.new_cache(), b1 = m.new_cache(), c1 = m.new_cache();
  const auto la = m.forward(a1, p, true);
  m.forward(b1, p);
  const auto lb = m.forward(b1, std::span<const int32_t>(&decode[0], 1));
  const auto lc = m.forward(c1, std::span<const int32_t>(decode).subspan(1, 2), true);

  // Together in one forward call (B's prompt already cached, so B is a decode step beside two prefills).
  KvCache a2 = m.new_cache(), b2 = m.new_cache(), c2 = m.new_cache(20);
  m.forward(b2, p);
  std::vector<SeqBatch> batch = {{&a2, p, true},
                                 {&b2, std::span<const int32_t>(&decode[0], 1), false},
                                 {&c2, std::span<const int32_t>(decode).subspan(1, 2), true}};
  m.forward(batch);
  // Both are float32 evaluations of the same math; the only freedom is the summation order a
  // matmul may pick for m = 1 vs m > 1, each within kLogitTol / 2 of exact (see model_fixtures.h).
  EXPECT_LE(max_abs_diff(batch[0].logits, la), kLogitTol);
  EXPECT_LE(max_abs_diff(batch[1].logits, lb), kLogitTol);
  EXPECT_LE(max_abs_diff(batch[2].logits, lc), kLogitTol);
  EXPECT_EQ(batch[1].logits.size(), static_cast<size_t>(V));
  EXPECT_EQ(a2.size(), 7);
  EXPECT_EQ(b2.size(), 8);
  EXPECT_EQ(c2.size(), 2);
  // And against the reference: A's logits are the fixture's prefill, B's the first decode step.
  EXPECT_LE(max_abs_diff(batch[0].logits, read_f32(fx.c["prefill_logits"])), kLogitTol);
  EXPECT_LE(max_abs_diff(batch[1].logits, std::span<const float>(read_f32(fx.c["decode_logits"])).subspan(0, V)),
            kLogitTol);
}

TEST(ModelErrors, RejectsBadInputWithoutTouchingTheCache) {
  Fixture fx = load("a_f32_bin");
  Model& m = *fx.model;
  KvCache cache = m.new_cache();
  const std::vector<int32_t> ok = {1, 2, 3};
  m.forward(cache, ok);
  const std::vector<int32_t> bad_id = {5, static_cast<int32_t>(m.config().n_vocab)};
  EXPECT_THROW(m.forward(cache, bad_id), Error);
  const std::vector<int32_t> negative = {-1};
  EXPECT_THROW(m.forward(cache, negative), Error);
  EXPECT_THROW(m.forward(cache, std::span<const int32_t>()), Error);
  EXPECT_EQ(cache.size(), 3);

  // Positions >= n_ctx (64) are an error, never a wrap-around.
  std::vector<int32_t> long_seq(61, 7);
  m.forward(cache, long_seq);
  EXPECT_EQ(cache.size(), 64);
  try {
    m.forward(cache, ok);
    ADD_FAILURE() << "position 64 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context length"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cache.size(), 64);
  EXPECT_THROW(m.new_cache(65), Error);

  // The same cache twice in one batch.
  KvCache c2 = m.new_cache();
  std::vector<SeqBatch> twice = {{&c2, ok, false}, {&c2, ok, false}};
  EXPECT_THROW(m.forward(twice), Error);
  EXPECT_EQ(c2.size(), 0);
}

TEST(ModelErrors, GreedyStopsAtContextEnd) {
  Fixture fx = load("a_f32_bin");
  KvCache cache = fx.model->new_cache(10);
  const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8};
  // 2 slots left: the token produced after the prompt is fed (position 8), the next one (9) is fed,
  // then the cache is full and the third token ends generation.
  const auto out = generate_greedy(*fx.model, cache, prompt, 100);
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(cache.size(), 10);
}

}  // namespace
}  // namespace moss

namespace moss {
namespace {

// Rotary variant B (fp16-rounded inv_freq, spec 1.5) selected through the metadata key: the model
// must follow the variant-B reference, and must measurably differ from variant A on this prompt
// (the reference puts the A-B gap at 4.4e-4 here, 4x kLogitTol, while our error is ~1e-6).
TEST(ModelRope, VariantBFromMetadataMatchesReference) {
  const auto& cs = model_manifest()["cases"]["b_f32_rope_fp16"];
  const std::string folder = testing::model_fixture_dir() + "/" + cs["folder"].get<std::string>();
  ModelFile file = open_model(folder);
  file.meta.set(keys::kRopeInvFreqVariant, MetaValue::str("fp16"));
  Model b(std::move(file), 2);
  ASSERT_EQ(b.config().rope_variant, RopeVariant::kFp16);
  EXPECT_EQ(b.rope().inv_freq(), rope_inv_freq(b.config().rotary_dim, 10000.0f, RopeVariant::kFp16));
  const auto prompt = ids_of(cs["prompt"]);
  const auto want = read_f32(cs["prefill_logits"]);
  KvCache cache = b.new_cache();
  EXPECT_LE(max_abs_diff(b.forward(cache, prompt, true), want), kLogitTol);

  auto a = Model::load(folder, 2);
  KvCache cache_a = a->new_cache();
  EXPECT_GT(max_abs_diff(a->forward(cache_a, prompt, true), want), cs["variant_a_max_abs_diff"].get<double>() / 2);
}

// A checkpoint whose tensors disagree with its config is rejected with the tensor's name.
TEST(ModelErrors, MissingOrMisshapenTensorNamed) {
  const std::string folder = testing::model_fixture_dir() + "/a_f32_bin";
  {
    ModelFile f = open_model(folder);
    f.tensors.erase("blk.1.ffn_down.bias");
    try {
      Model m(std::move(f), 1);
      ADD_FAILURE() << "accepted a model without blk.1.ffn_down.bias";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("blk.1.ffn_down.bias"), std::string::npos) << e.what();
    }
  }
  {
    ModelFile f = open_model(folder);
    f.meta.set(keys::kFeedForwardLength, MetaValue::u32(64));  // the file's fc_in has 128 rows
    try {
      Model m(std::move(f), 1);
      ADD_FAILURE() << "accepted n_inner that disagrees with the tensors";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("blk.0.ffn_up.weight"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace moss

namespace moss {
namespace {

// The GGUF path: a fixture folder converted with write_gguf and opened again gives the same
// logits (f32 folder -> f32 GGUF; fp16 folder -> f16 GGUF, whose 1-D tensors become exact f32
// copies of the fp16 values).
TEST(ModelGguf, ConvertedFixtureMatchesReference) {
  const std::pair<const char*, DType> cases[] = {{"a_f32_bin", DType::F32}, {"a_f16_sharded", DType::F16}};
  for (const auto& [folder, type] : cases) {
    std::string case_name;
    for (const auto& f : model_manifest()["folders"])
      if (f["folder"] == folder) case_name = f["case"];
    const auto& cs = model_manifest()["cases"][case_name];
    const std::string path = ::testing::TempDir() + "moss_model_test_" + folder + ".gguf";
    write_gguf(path, open_model(testing::model_fixture_dir() + "/" + folder), type);
    auto m = Model::load(path, 2);
    KvCache cache = m->new_cache();
    EXPECT_LE(max_abs_diff(m->forward(cache, ids_of(cs["prompt"]), true), read_f32(cs["prefill_logits"])), kLogitTol)
        << folder;
    m.reset();
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace moss
