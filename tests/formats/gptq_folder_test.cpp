// GPTQ Hugging Face folders (the layout of moss-moon-003-sft[-plugin]-int4/-int8, spec §3) written by
// tools/make_gptq_fixtures.py: tests/fixtures/formats/gptq_int4 (2 blocks, one act-order Linear)
// and gptq_int8 (1 block). Checks the canonical weights bit for bit against the Python
// dequantization, the forward pass (through the `moss logits` command, since this test binary links
// only the formats layer) against the float64 reference, `moss convert` to GGUF, and bad folders.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../model/model_fixtures.h"
#include "formats/model_file.h"
#include "formats/safetensors.h"
#include "formats/torch_zip.h"
#include "tensor/convert.h"
#include "support/test_util.h"

#include "support/shell.h"

namespace moss {
namespace {

namespace fs = std::filesystem;

const nlohmann::json& expected() {
  static const nlohmann::json j = nlohmann::json::parse(test::read_file(test::fixture_dir() + "/gptq_expected.json"));
  return j;
}

std::string folder(const std::string& name) { return test::fixture_dir() + "/" + name; }

std::string fnv1a64(const std::vector<float>& v) {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto* b = reinterpret_cast<const uint8_t*>(v.data());  // little-endian hosts, like the fixture
  for (size_t i = 0; i < v.size() * sizeof(float); ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  char s[17];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(h));
  return s;
}

std::vector<float> dequantized(const TensorView& t) {
  const int64_t N = t.shape[0], K = t.shape[1];
  std::vector<float> out(static_cast<size_t>(N * K));
  const size_t rb = row_bytes(t.dtype, K);
  for (int64_t n = 0; n < N; ++n)
    dequantize_row(t.dtype, static_cast<const uint8_t*>(t.data) + n * rb, out.data() + n * K, K);
  return out;
}

// The last `rows` rows of `moss logits` on the fixture prompt for `model`.
std::vector<float> logits_of(const std::string& model, const std::string& out, size_t rows) {
  std::string ids;
  for (const auto& id : expected()["prompt"]) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(id.get<int>());
  }
  test::ShellResult r = test::run_moss("logits -m " + model + " -t 1 --ids " + ids + " --out " + out);
  EXPECT_EQ(r.code, 0) << r.output;
  const std::string bytes = test::read_file(out);
  std::vector<float> all(bytes.size() / sizeof(float));
  std::memcpy(all.data(), bytes.data(), all.size() * sizeof(float));
  const size_t V = expected()["n_vocab"].get<size_t>();
  if (all.size() < rows * V) return {};
  return std::vector<float>(all.end() - static_cast<std::ptrdiff_t>(rows * V), all.end());
}

std::vector<float> want_logits(const nlohmann::json& f) {
  const std::string bytes = test::read_file(test::fixture_dir() + "/" + f["prefill_logits"].get<std::string>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

class GptqFolder : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Fixtures, GptqFolder, ::testing::Values("gptq_int4", "gptq_int8"));

TEST_P(GptqFolder, CanonicalWeightsEqualTheDequantizedReference) {
  const auto& f = expected()["folders"][GetParam()];
  ModelFile m = open_model(folder(GetParam()));
  EXPECT_EQ(m.meta.get_string(keys::kRopeInvFreqVariant), "fp16");  // spec 1.5 variant B
  EXPECT_EQ(m.meta.get_int(keys::kBlockCount), f["n_layer"].get<int64_t>());
  for (const auto& [name, want] : f["canonical"].items()) {
    const TensorView& t = m.tensors.get(name);
    EXPECT_EQ(dtype_name(t.dtype), want["type"].get<std::string>()) << name;
    const std::vector<float> w = dequantized(t);
    // q8_0 holds s * (q - z) exactly; the act-order Linear (f16) holds fp16(s * (q - z)).
    EXPECT_EQ(fnv1a64(w), want["fnv1a64_f32"].get<std::string>()) << name;
    for (size_t k = 0; k < 8; ++k) EXPECT_EQ(w[k], want["first_row_f32"][k].get<float>()) << name << " [0, " << k << "]";
  }
  // fp16 tensors stay as stored.
  EXPECT_EQ(m.tensors.get("token_embd.weight").dtype, DType::F16);
  EXPECT_EQ(m.tensors.get("output.bias").dtype, DType::F16);
  EXPECT_EQ(m.tensors.get("blk.0.ffn_up.bias").dtype, DType::F16);
}

// The folder itself: q8_0 weights make the engine quantize each Linear's inputs per 32 values to int8
// (kernels/matmul.h). The generator measured how far that moves the float64 reference when emulated
// (actq_max_abs_diff, 0.02-0.04 here); the engine differs from the emulation only by float32
// rounding (kLogitTol) and the rare input that rounds the other way at a .5 boundary, which moves
// logits by the same order as the emulated shift, so 2 * actq + kLogitTol bounds it. A layout bug
// (q/v/k order, a wrong group, the rotary variant with the real 60-position prompt is checked below)
// moves logits by O(0.1..1).
TEST_P(GptqFolder, FolderLogitsMatchReference) {
  ASSERT_TRUE(fs::exists(MOSS_BINARY)) << "build the moss executable first (target moss_cli)";
  const auto& f = expected()["folders"][GetParam()];
  test::TempDir tmp;
  const auto got = logits_of(folder(GetParam()), tmp.path("l.f32"), f["logit_rows"].get<size_t>());
  const double tol = 2 * f["actq_max_abs_diff"].get<double>() + testing::kLogitTol;
  EXPECT_LE(testing::max_abs_diff(got, want_logits(f)), tol);
}

// Converted to GGUF with f32 weights, every weight is exactly the reference's (s * (q - z) and the
// fp16 tensors are exact in float32), so the float32 engine must match the float64 reference within
// kLogitTol (tests/model/model_fixtures.h: K <= 64 here, below the K <= 128 of that derivation). This
// also pins rotary variant B: variant A moves these logits by 2.4e-4 / 4.6e-4 (variant_a_max_abs_diff).
TEST_P(GptqFolder, ExactGgufLogitsMatchReference) {
  ASSERT_TRUE(fs::exists(MOSS_BINARY)) << "build the moss executable first (target moss_cli)";
  const auto& f = expected()["folders"][GetParam()];
  ASSERT_GT(f["variant_a_max_abs_diff"].get<double>(), 2 * testing::kLogitTol);
  test::TempDir tmp;
  test::ShellResult r = test::run_moss("convert " + folder(GetParam()) + " -o " + tmp.path("m.gguf") + " --type f32 -q");
  ASSERT_EQ(r.code, 0) << r.output;
  ModelFile g = open_model(tmp.path("m.gguf"));
  EXPECT_EQ(g.meta.get_string(keys::kRopeInvFreqVariant), "fp16");
  EXPECT_EQ(g.tensors.get("blk.0.attn_qkv.weight").dtype, DType::F32);
  const auto got = logits_of(tmp.path("m.gguf"), tmp.path("l.f32"), f["logit_rows"].get<size_t>());
  EXPECT_LE(testing::max_abs_diff(got, want_logits(f)), testing::kLogitTol);
}

// `moss convert --type keep` copies the exact q8_0 Linears and fp16 tensors as they are, so the GGUF
// runs the very same arithmetic as the folder: logits equal bit for bit (the engine's results do
// not depend on thread count or on where the weights were read from).
TEST_P(GptqFolder, KeepGgufLogitsEqualFolderLogits) {
  ASSERT_TRUE(fs::exists(MOSS_BINARY)) << "build the moss executable first (target moss_cli)";
  const auto& f = expected()["folders"][GetParam()];
  test::TempDir tmp;
  test::ShellResult r = test::run_moss("convert " + folder(GetParam()) + " -o " + tmp.path("m.gguf") + " --type keep -q");
  ASSERT_EQ(r.code, 0) << r.output;
  ModelFile g = open_model(tmp.path("m.gguf"));
  for (const auto& [name, want] : f["canonical"].items())
    EXPECT_EQ(dtype_name(g.tensors.get(name).dtype), want["type"].get<std::string>()) << name;
  EXPECT_EQ(g.tensors.get("token_embd.weight").dtype, DType::F16);
  EXPECT_EQ(g.tensors.get("output.weight").dtype, DType::F16);
  // general.file_type names the type of most weight bytes: here the fp16 embedding and LM head
  // (2 x 320 x 64) outweigh the tiny Linears (MOSS-16B: q8_0, 7).
  EXPECT_EQ(g.meta.get_int(keys::kFileType), 1);
  const size_t rows = expected()["prompt"].size();
  const auto from_folder = logits_of(folder(GetParam()), tmp.path("a.f32"), rows);
  const auto from_gguf = logits_of(tmp.path("m.gguf"), tmp.path("b.f32"), rows);
  ASSERT_FALSE(from_folder.empty());
  EXPECT_EQ(from_folder, from_gguf);
}

// ---- bad folders. The weights are rewritten as model.safetensors (which the folder reader prefers)
// from the fixture's tensors, with one change.

struct BadFolder {
  test::TempDir tmp;
  std::string dir;
  TensorSet raw;
  explicit BadFolder(const std::string& name) : raw(read_torch_checkpoint(folder(name) + "/pytorch_model.bin")) {
    dir = tmp.path(name);
    fs::copy(folder(name), dir, fs::copy_options::recursive);
    fs::remove(dir + "/pytorch_model.bin");
  }
  // Writes model.safetensors with every tensor of `raw` except `drop`, and `extra` (if any) added.
  void write(const std::string& drop, const TensorView* extra = nullptr) const {
    static const std::map<DType, std::string> names = {
        {DType::F16, "F16"}, {DType::I32, "I32"}, {DType::U8, "U8"}, {DType::F32, "F32"}};
    nlohmann::json header = nlohmann::json::object();
    std::string data;
    std::vector<const TensorView*> all;
    for (const auto& t : raw.all())
      if (t.name != drop) all.push_back(&t);
    if (extra) all.push_back(extra);
    for (const TensorView* t : all) {
      header[t->name] = {{"dtype", names.at(t->dtype)}, {"shape", t->shape},
                         {"data_offsets", {data.size(), data.size() + t->nbytes}}};
      data.append(static_cast<const char*>(t->data), t->nbytes);
    }
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    const uint64_t n = h.size();
    std::string file(reinterpret_cast<const char*>(&n), 8);
    test::write_file(dir + "/model.safetensors", file + h + data);
  }
  void replace_config(const std::string& from, const std::string& to) const {
    std::string s = test::read_file(dir + "/config.json");
    const size_t at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    test::write_file(dir + "/config.json", s);
  }
};

TEST(GptqFolderErrors, ValidSafetensorsCopyOpens) {  // the rewriting itself keeps a good folder good
  BadFolder b("gptq_int8");
  b.write("");
  EXPECT_EQ(open_model(b.dir).tensors.get("blk.0.attn_qkv.weight").dtype, DType::Q8_0);
}

TEST(GptqFolderErrors, MissingQzeros) {
  BadFolder b("gptq_int4");
  b.write("transformer.h.1.attn.out_proj.qzeros");
  EXPECT_MOSS_ERROR(open_model(b.dir), "missing GPTQ tensor transformer.h.1.attn.out_proj.qzeros (expected i32 [2, 8]");
}

TEST(GptqFolderErrors, WrongQweightShape) {
  BadFolder b("gptq_int8");
  // The int4 shape [K/8, N] in an int8 folder, which needs [K/4, N].
  const TensorView& q = b.raw.get("transformer.h.0.mlp.fc_in.qweight");
  TensorView half = q;
  half.shape = {q.shape[0] / 2, q.shape[1]};
  half.nbytes = q.nbytes / 2;
  b.write(q.name, &half);
  EXPECT_MOSS_ERROR(open_model(b.dir),
                    "GPTQ tensor transformer.h.0.mlp.fc_in.qweight is i32 [8, 64], expected i32 [16, 64]");
}

TEST(GptqFolderErrors, UnsupportedBitsAndGroups) {
  BadFolder b("gptq_int4");
  b.replace_config("\"wbits\": 4", "\"wbits\": 3");
  EXPECT_MOSS_ERROR(open_model(b.dir), "wbits = 3 is not supported");
  BadFolder c("gptq_int4");
  c.write("");
  c.replace_config("\"groupsize\": 32", "\"groupsize\": 0");
  EXPECT_MOSS_ERROR(open_model(c.dir), "groupsize = 0 is not valid");
  BadFolder d("gptq_int4");  // groupsize 16 implies 4 groups for K = 64, the file has 2
  d.write("");
  d.replace_config("\"groupsize\": 32", "\"groupsize\": 16");
  EXPECT_MOSS_ERROR(open_model(d.dir), "GPTQ tensor transformer.h.0.attn.qkv_proj.qzeros is i32 [2, 24], expected i32 [4, 24]");
}

TEST(GptqFolderErrors, GidxOutOfRange) {
  BadFolder b("gptq_int4");
  const TensorView& g = b.raw.get("transformer.h.0.mlp.fc_out.g_idx");
  std::vector<int32_t> v(static_cast<size_t>(g.shape[0]));
  std::memcpy(v.data(), g.data, g.nbytes);
  v[5] = 7;
  TensorView bad = g;
  bad.data = v.data();
  b.write(g.name, &bad);
  EXPECT_MOSS_ERROR(open_model(b.dir), "transformer.h.0.mlp.fc_out: blk.0.ffn_down.weight: g_idx[5] = 7 is outside [0, 2)");
}

}  // namespace
}  // namespace moss
