// Hugging Face folders that must be refused with a message naming the problem: wrong shapes vs
// config.json, missing tensors, GPTQ configs without QuantLinears, shard names escaping the folder, truncated weight
// files, inconsistent configs and tokenizer files; plus the merges.txt line rule of spec 2.1.
#include <cstring>
#include <filesystem>

#include "formats/hf_config.h"
#include "formats/hf_tokenizer.h"
#include "formats/model_file.h"
#include "support/test_util.h"

namespace moss {
namespace {

namespace fs = std::filesystem;

// A writable copy of a fixture folder.
struct Folder {
  test::TempDir tmp;
  std::string dir;
  explicit Folder(const std::string& name) {
    dir = tmp.path(name);
    fs::copy(test::fixture_dir() + "/" + name, dir, fs::copy_options::recursive);
  }
  std::string path(const std::string& f) const { return dir + "/" + f; }
  void replace(const std::string& file, const std::string& from, const std::string& to) const {
    std::string s = test::read_file(path(file));
    const size_t at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    test::write_file(path(file), s);
  }
};

TEST(HfErrors, ShapesMustMatchConfig) {
  Folder f("hf_safetensors_f32");
  f.replace("config.json", "\"vocab_size\": 48", "\"vocab_size\": 50");
  EXPECT_MOSS_ERROR(open_model(f.dir), "tensor transformer.wte.weight has shape [48, 16], expected [50, 16]");
}

TEST(HfErrors, MissingTensorNamesExpectedShape) {
  Folder f("hf_bin_f16");
  f.replace("config.json", "\"n_layer\": 2", "\"n_layer\": 3");
  EXPECT_MOSS_ERROR(open_model(f.dir), "missing tensor transformer.h.2.ln_1.weight (expected shape [16])");
}

TEST(HfErrors, FfnSizeFromExplicitNInner) {
  Folder f("hf_bin_f16");
  f.replace("config.json", "\"n_inner\": null", "\"n_inner\": 32");
  EXPECT_MOSS_ERROR(open_model(f.dir), "tensor transformer.h.0.mlp.fc_in.weight has shape [64, 16], expected [32, 16]");
}

TEST(HfErrors, GptqConfigNeedsQuantLinears) {  // GPTQ folders themselves: gptq_folder_test.cpp
  Folder f("hf_bin_f16");
  f.replace("config.json", "\"n_layer\": 2", "\"n_layer\": 2, \"wbits\": 4, \"groupsize\": 128");
  EXPECT_MOSS_ERROR(open_model(f.dir), "missing GPTQ tensor transformer.h.0.attn.qkv_proj.qweight");
  HfConfig c = parse_hf_config(test::read_file(f.path("config.json")), "config.json");
  Metadata m;
  hf_config_to_metadata(c, m);
  EXPECT_EQ(m.get_string(keys::kRopeInvFreqVariant), "fp16");  // spec 1.5 variant B for int4/int8
}

TEST(HfErrors, ShardIndexCannotEscapeTheFolder) {
  Folder f("hf_sharded_bin_bf16");
  f.replace("pytorch_model.bin.index.json", "\"pytorch_model-000001-of-000002.bin\"", "\"../../etc/passwd\"");
  EXPECT_MOSS_ERROR(open_model(f.dir), "not a plain file name in the folder");
}

TEST(HfErrors, ShardMustHoldWhatTheIndexSays) {
  Folder f("hf_sharded_bin_bf16");
  // Point the embedding at the other shard: the weight_map is authoritative, so this is an error.
  const std::string idx = test::read_file(f.path("pytorch_model.bin.index.json"));
  const bool in_first = idx.find("\"lm_head.bias\": \"pytorch_model-000002-of-000002.bin\"") != std::string::npos;
  ASSERT_TRUE(in_first);
  f.replace("pytorch_model.bin.index.json", "\"lm_head.bias\": \"pytorch_model-000002-of-000002.bin\"",
            "\"lm_head.bias\": \"pytorch_model-000001-of-000002.bin\"");
  EXPECT_MOSS_ERROR(open_model(f.dir), "pytorch_model-000001-of-000002.bin lacks tensor lm_head.bias");
}

TEST(HfErrors, NoWeightsAndTruncatedWeights) {
  Folder f("hf_bin_f16");
  const std::string bin = test::read_file(f.path("pytorch_model.bin"));
  fs::remove(f.path("pytorch_model.bin"));
  EXPECT_MOSS_ERROR(open_model(f.dir), "no weights found");
  // Truncated at several points: always an error that names the file.
  for (size_t cut : {size_t{0}, size_t{10}, bin.size() / 3, bin.size() / 2, bin.size() - 30, bin.size() - 1}) {
    test::write_file(f.path("pytorch_model.bin"), bin.substr(0, cut));
    EXPECT_MOSS_ERROR(open_model(f.dir), "pytorch_model.bin");
  }
}

TEST(HfErrors, TruncatedSafetensorsInFolder) {
  Folder f("hf_safetensors_f32");
  const std::string st = test::read_file(f.path("model.safetensors"));
  for (size_t cut : {size_t{4}, size_t{100}, st.size() / 2, st.size() - 1}) {
    test::write_file(f.path("model.safetensors"), st.substr(0, cut));
    EXPECT_MOSS_ERROR(open_model(f.dir), "model.safetensors");
  }
}

TEST(HfErrors, UnexpectedTensors) {
  // Rename the masked_bias buffer inside data.pkl (same length, so the pickle stays valid; the
  // zip CRC is not checked) to a GPTQ-style name, then to an unknown one.
  const std::string from = "transformer.h.0.attn.masked_bias";
  for (const auto& [to, msg] : {std::pair<std::string, std::string>{"transformer.h.0.attn.projx.g_idx", "belongs to a GPTQ checkpoint"},
                                {"transformer.h.0.attn.zzzzzz_bias", "unexpected tensor transformer.h.0.attn.zzzzzz_bias []"}}) {
    ASSERT_EQ(to.size(), from.size());
    Folder f("hf_bin_f16");
    f.replace("pytorch_model.bin", from, to);
    EXPECT_MOSS_ERROR(open_model(f.dir), msg);
  }
}

TEST(HfFolder, UnalignedSafetensorsDataIsCopiedAligned) {
  // One more space in the header shifts the whole buffer by a byte: still a valid file.
  Folder f("hf_safetensors_f32");
  std::string st = test::read_file(f.path("model.safetensors"));
  uint64_t n;
  std::memcpy(&n, st.data(), 8);
  st.insert(8 + n, " ");
  ++n;
  std::memcpy(st.data(), &n, 8);
  test::write_file(f.path("model.safetensors"), st);
  ModelFile m = open_model(f.dir);
  for (const auto& t : m.tensors.all()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 4, 0u) << t.name;
  }
  ModelFile ref = open_model(test::fixture_dir() + "/hf_safetensors_f32");
  for (const auto& t : ref.tensors.all()) EXPECT_EQ(std::memcmp(m.tensors.get(t.name).data, t.data, t.nbytes), 0) << t.name;
}

TEST(HfConfigParse, Validation) {
  EXPECT_MOSS_ERROR(parse_hf_config("{", "c"), "not valid JSON");
  EXPECT_MOSS_ERROR(parse_hf_config("[]", "c"), "not a JSON object");
  EXPECT_MOSS_ERROR(parse_hf_config(R"({"model_type":"llama"})", "c"), "expected \"moss\"");
  EXPECT_MOSS_ERROR(parse_hf_config(R"({"n_embd":"big"})", "c"), "n_embd must be an integer");
  EXPECT_MOSS_ERROR(parse_hf_config(R"({"n_embd":-4})", "c"), "n_embd = -4 is outside");
  EXPECT_MOSS_ERROR(parse_hf_config(R"({"n_embd":4104,"n_head":6})", "c"), "n_head 6 is not a multiple of 4");
  EXPECT_MOSS_ERROR(parse_hf_config(R"({"n_embd":100,"n_head":8})", "c"), "not a multiple of n_head");
  EXPECT_MOSS_ERROR(parse_hf_config(R"({"rotary_dim":300})", "c"), "rotary_dim 300");
  EXPECT_MOSS_ERROR(parse_hf_config(R"({"wbits":3})", "c"), "wbits = 3 is not supported");
  EXPECT_MOSS_ERROR(parse_hf_config(R"({"layer_norm_epsilon":0})", "c"), "layer_norm_epsilon");
  // Released MOSS config (spec 1.1): defaults fill the rest, n_inner null -> 4E.
  HfConfig c = parse_hf_config(R"({"model_type":"moss","n_embd":6144,"n_layer":34,"n_head":24,"vocab_size":107008,"n_inner":null,
                                   "rotary_dim":64,"n_positions":2048,"bos_token_id":106028,"eos_token_id":106068})", "c");
  EXPECT_EQ(c.n_inner, 24576);
  EXPECT_EQ(c.head_dim(), 256);
  EXPECT_EQ(c.wbits, 0);
}

HfTokenizerFiles tiny_tokenizer(const std::string& merges) {
  HfTokenizerFiles f;
  f.vocab_json = R"({"a":0,"b":1,"c":2,"ab":3,"<|endoftext|>":4})";
  f.merges_txt = merges;
  return f;
}

TEST(HfTokenizer, MergesLineRule) {
  Metadata m;
  // Spec 2.1: split on "\n", drop the first and the last element: without a final newline the last
  // merge is lost; a pair listed twice keeps its later rank; lines without two symbols never match.
  hf_tokenizer_to_metadata(tiny_tokenizer("#version: 0.2\na b\nb c\n\nx y z\na b\nc a"), "t", m);
  EXPECT_EQ(m.get_string_array(keys::kTokMerges), (std::vector<std::string>{"b c", "a b"}));
  hf_tokenizer_to_metadata(tiny_tokenizer("#version: 0.2\na b\nb  c\r\n"), "t", m);
  EXPECT_EQ(m.get_string_array(keys::kTokMerges), (std::vector<std::string>{"a b", "b c"}));
}

TEST(HfTokenizer, IdsMustBeDense) {
  Metadata m;
  HfTokenizerFiles f = tiny_tokenizer("#v\n");
  f.added_tokens_json = R"({"<eom>": 6})";
  EXPECT_MOSS_ERROR(hf_tokenizer_to_metadata(f, "t", m), "has id 6 but there are only 6 tokens");
  f.added_tokens_json = R"({"<eom>": 3})";
  EXPECT_MOSS_ERROR(hf_tokenizer_to_metadata(f, "t", m), "id 3 is used by two tokens");
  f.added_tokens_json = R"({"<eom>": 5})";
  f.special_tokens_map_json = R"({"eos_token": "<nope>"})";
  EXPECT_MOSS_ERROR(hf_tokenizer_to_metadata(f, "t", m), "special token \"<nope>\" (eos_token) is not in the vocabulary");
  f.special_tokens_map_json = R"({"eos_token": {"content": "<eom>"}, "unk_token": "<|endoftext|>"})";
  hf_tokenizer_to_metadata(f, "t", m);
  EXPECT_EQ(m.get_int_array(keys::kTokTypes), (std::vector<int64_t>{1, 1, 1, 1, 3, 3}));
  EXPECT_EQ(m.get_int_array(keys::kTokStripIds), (std::vector<int64_t>{4}));  // <eom> is an AddedToken object
  EXPECT_EQ(m.get_int(keys::kTokEos), 5);
  EXPECT_MOSS_ERROR(hf_tokenizer_to_metadata(HfTokenizerFiles{}, "t", m), "vocab.json is missing");
  f.vocab_json = R"({"a": "zero"})";
  EXPECT_MOSS_ERROR(hf_tokenizer_to_metadata(f, "t", m), "vocab.json: id of token \"a\" is not an integer");
}

}  // namespace
}  // namespace moss
