// Hugging Face folders in the four layouts written by tools/make_format_fixtures.py (single .bin,
// sharded .bin with 6-digit names, safetensors, sharded safetensors; fp16/bf16/fp32): canonical
// names, shapes and values against the Python side, the fused-qkv permutation against both the
// reference code's split (expected.json) and spec 1.4's index formula, tokenizer metadata, and the
// GGUF round trip.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

#include "formats/gguf.h"
#include "formats/hf_folder.h"
#include "formats/safetensors.h"
#include "formats/torch_zip.h"
#include "tensor/convert.h"
#include "support/test_util.h"

namespace moss {
namespace {

using nlohmann::json;

const json& expected() {
  static const json j = json::parse(test::read_file(test::fixture_dir() + "/expected.json"));
  return j;
}

std::vector<float> as_floats(const TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  dequantize_row(t.dtype, t.data, out.data(), t.numel());
  return out;
}

class HfLayouts : public ::testing::TestWithParam<std::string> {};

TEST_P(HfLayouts, TensorsMatchThePythonSide) {
  const std::string name = GetParam();
  ModelFile m = open_model(test::fixture_dir() + "/" + name);
  const json& exp = expected()[name];
  ASSERT_EQ(m.tensors.size(), exp.size());  // buffers (causal_mask, masked_bias) are dropped
  const DType want = name.ends_with("bf16") ? DType::BF16 : name.ends_with("f16") ? DType::F16 : DType::F32;
  for (const auto& [cname, e] : exp.items()) {
    SCOPED_TRACE(cname);
    const TensorView& t = m.tensors.get(cname);
    EXPECT_EQ(t.dtype, want);
    EXPECT_EQ(t.shape, e["shape"].get<std::vector<int64_t>>());
    const std::vector<float> v = as_floats(t);
    // f16/bf16/f32 -> float is exact, and Python printed float(x) of the same values: equality.
    for (size_t k = 0; k < 4 && k < v.size(); ++k) EXPECT_EQ(v[k], e["first"][k].get<double>());
    // Sum in double: both sides add the same exact values in possibly different orders, so they
    // agree to n * 2^-52 * sum|x| (the classic bound for recursive summation).
    double sum = 0, abs_sum = 0;
    for (float x : v) {
      sum += x;
      abs_sum += std::fabs(x);
    }
    EXPECT_NEAR(sum, e["sum"].get<double>(), static_cast<double>(v.size()) * std::ldexp(1.0, -52) * abs_sum);
  }
}

TEST_P(HfLayouts, MetadataFromConfigAndTokenizer) {
  ModelFile m = open_model(test::fixture_dir() + "/" + GetParam());
  const Metadata& md = m.meta;
  EXPECT_EQ(md.get_string(keys::kArchitecture), "moss");
  EXPECT_EQ(md.get_string(keys::kName), GetParam());
  EXPECT_EQ(md.get_int(keys::kEmbeddingLength), 16);
  EXPECT_EQ(md.get_int(keys::kBlockCount), 2);
  EXPECT_EQ(md.get_int(keys::kHeadCount), 4);
  EXPECT_EQ(md.get_int(keys::kFeedForwardLength), 64);  // n_inner null -> 4 * n_embd
  EXPECT_EQ(md.get_int(keys::kContextLength), 64);
  EXPECT_EQ(md.get_int(keys::kRopeDims), 2);
  EXPECT_EQ(md.get_int(keys::kVocabSize), 48);
  EXPECT_FLOAT_EQ(static_cast<float>(md.get_float(keys::kLayerNormEps)), 1e-5f);
  EXPECT_EQ(md.get_float(keys::kRopeFreqBase), 10000.0);
  EXPECT_EQ(md.get_string(keys::kRopeInvFreqVariant), "fp32");
  EXPECT_EQ(md.get_int(keys::kTokBos), 260);
  EXPECT_EQ(md.get_int(keys::kTokEos), 300);
  EXPECT_EQ(md.get_int(keys::kTokUnk), 260);
  EXPECT_EQ(md.get_int(keys::kTokAddBos), 0);
  EXPECT_EQ(md.get_string(keys::kTokModel), "gpt2");

  const auto tokens = md.get_string_array(keys::kTokTokens);
  ASSERT_EQ(tokens.size(), 304u);  // 256 bytes + 4 merges + <|endoftext|> (260) + 43 added
  // The generator gives byte b the id b: 0x00 -> U+0100, 0x20 -> U+0120 'Ġ', '!' stays itself.
  EXPECT_EQ(tokens[0], "\xc4\x80");
  EXPECT_EQ(tokens[32], "\xc4\xa0");
  EXPECT_EQ(tokens[33], "!");
  EXPECT_EQ(tokens[259], "in");
  EXPECT_EQ(tokens[260], "<|endoftext|>");
  EXPECT_EQ(tokens[261], std::string(31, ' '));
  EXPECT_EQ(tokens[290], std::string(2, ' '));
  EXPECT_EQ(tokens[291], std::string(9, '\t'));
  EXPECT_EQ(tokens[298], std::string(2, '\t'));
  EXPECT_EQ(tokens[299], "<eoh>");
  EXPECT_EQ(tokens[303], "<eor>");

  const auto types = md.get_int_array(keys::kTokTypes);
  ASSERT_EQ(types.size(), tokens.size());
  for (size_t id = 0; id < types.size(); ++id) {
    // special: <|endoftext|> (bos/unk) and the 5 end markers; other added tokens: whitespace runs.
    const int want = (id == 260 || id >= 299) ? 3 : id >= 261 ? 4 : 1;
    EXPECT_EQ(types[id], want) << "id " << id;
  }
  // Spec 2.5: plain-string no-split tokens strip their neighbours (whitespace runs and
  // <|endoftext|>); the end markers are AddedToken objects with lstrip/rstrip false.
  std::vector<int64_t> strip_want = {260};
  for (int64_t id = 261; id <= 298; ++id) strip_want.push_back(id);
  EXPECT_EQ(md.get_int_array(keys::kTokStripIds), strip_want);
  EXPECT_EQ(md.get_string_array(keys::kTokMerges), (std::vector<std::string>{"\xc4\xa0 t", "h e", "\xc4\xa0t he", "i n"}));
}

TEST_P(HfLayouts, QkvPermutationMatchesReferenceSplitAndSpecFormula) {
  const std::string dir = test::fixture_dir() + "/" + GetParam();
  ModelFile m = open_model(dir);
  // The fused matrix as stored, read straight from the weight file(s).
  TensorSet raw;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (p.ends_with(".bin")) raw.merge(read_torch_checkpoint(p));
    if (p.ends_with(".safetensors")) raw.merge(read_safetensors(p));
  }
  const std::vector<int64_t> src_rows = expected()["qkv_source_rows"].get<std::vector<int64_t>>();
  const int64_t E = 16, H = 4, D = 4, local = E / 4, per_chunk = H / 4;
  ASSERT_EQ(src_rows.size(), static_cast<size_t>(3 * E));
  for (int layer = 0; layer < 2; ++layer) {
    const TensorView& fused = raw.get("transformer.h." + std::to_string(layer) + ".attn.qkv_proj.weight");
    const TensorView& canon = m.tensors.get("blk." + std::to_string(layer) + ".attn_qkv.weight");
    const size_t row = static_cast<size_t>(E) * dtype_traits(fused.dtype).block_bytes;
    for (int64_t r = 0; r < 3 * E; ++r) {
      // Spec 1.4 generalised: Q[h,d] = 3*local*m + 0*local + D*j + d, V at +local, K at +2*local.
      const int64_t part = r / E, h = (r % E) / D, d = r % D, m = h / per_chunk, j = h % per_chunk;
      const int64_t offset = part == 0 ? 0 : part == 1 ? 2 * local : local;  // canonical order Q, K, V
      const int64_t formula = 3 * local * m + offset + D * j + d;
      EXPECT_EQ(formula, src_rows[static_cast<size_t>(r)]) << "row " << r;
      EXPECT_EQ(std::memcmp(static_cast<const uint8_t*>(canon.data) + r * row,
                            static_cast<const uint8_t*>(fused.data) + formula * row, row), 0)
          << "layer " << layer << " row " << r;
    }
  }
}

TEST(HfQkv, MossSpotChecksOfSpec14) {
  // The released sizes (E 6144, H 24, D 256): the formula used above reproduces the spec's table.
  const int64_t E = 6144, H = 24, D = 256, local = E / 4, per_chunk = H / 4;
  auto q = [&](int64_t h, int64_t d) { return 3 * local * (h / per_chunk) + D * (h % per_chunk) + d; };
  EXPECT_EQ(q(0, 0), 0);
  EXPECT_EQ(q(5, 255), 1535);
  EXPECT_EQ(q(6, 0), 4608);
  EXPECT_EQ(q(23, 0), 15104);
  EXPECT_EQ(q(23, 255) + 2 * local, 18431);  // last K row
  EXPECT_EQ(q(6, 0) + local, 6144);          // head 6's first V row
}

TEST_P(HfLayouts, GgufRoundTripKeepsEverything) {
  test::TempDir tmp;
  ModelFile m = open_model(test::fixture_dir() + "/" + GetParam());
  const std::string out = tmp.path("m.gguf");
  write_gguf(out, m, DType::F32);
  ModelFile g = open_model(out);
  ASSERT_EQ(g.tensors.size(), m.tensors.size());
  for (const auto& t : m.tensors.all()) {
    SCOPED_TRACE(t.name);
    const TensorView& b = g.tensors.get(t.name);
    EXPECT_EQ(b.dtype, DType::F32);
    EXPECT_EQ(b.shape, t.shape);
    EXPECT_EQ(as_floats(b), as_floats(t));  // widening to f32 is exact
  }
  for (const auto& [k, v] : m.meta.entries()) {
    SCOPED_TRACE(k);
    const MetaValue* b = g.meta.find(k);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->type, v.type);
    EXPECT_EQ(b->i, v.i);
    EXPECT_EQ(b->s, v.s);
    EXPECT_EQ(b->array.size(), v.array.size());
  }
  EXPECT_EQ(g.meta.get_string_array(keys::kTokTokens), m.meta.get_string_array(keys::kTokTokens));
  // f16 output: weight matrices f16, vectors f32.
  write_gguf(out, m, DType::F16);
  ModelFile h = open_model(out);
  EXPECT_EQ(h.tensors.get("blk.1.attn_qkv.weight").dtype, DType::F16);
  EXPECT_EQ(h.tensors.get("blk.1.ffn_up.bias").dtype, DType::F32);
  EXPECT_EQ(h.tensors.get("output_norm.weight").dtype, DType::F32);
}

INSTANTIATE_TEST_SUITE_P(Formats, HfLayouts,
                         ::testing::Values("hf_bin_f16", "hf_sharded_bin_bf16", "hf_safetensors_f32", "hf_sharded_safetensors_f16"));

}  // namespace
}  // namespace moss
