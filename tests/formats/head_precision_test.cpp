// Per-role weight types (WeightTypes of model_file.h, `--embd-type` / `--output-type` of `moss
// convert` and `moss quantize`): the token embedding and the LM head are stored as asked, the other
// matrices as --type, and a model whose embedding / LM head were quantized still loads and runs.
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "formats/model_file.h"
#include "tensor/convert.h"
#include "support/test_util.h"

#include "support/shell.h"

namespace moss {
namespace {

using test::TempDir;

// Three [4, 64] matrices (rows divisible by every block size) and a norm.
struct Roles {
  std::vector<float> e, o, w, n;
  ModelFile model;
  Roles() {
    for (int i = 0; i < 4 * 64; ++i) {
      e.push_back(std::sin(0.37f * static_cast<float>(i)));
      o.push_back(std::cos(0.11f * static_cast<float>(i)));
      w.push_back(0.01f * static_cast<float>(i) - 1.0f);
    }
    n.assign(64, 1.0f);
    model.meta.set(keys::kArchitecture, MetaValue::str("moss"));
    model.tensors.add({"token_embd.weight", DType::F32, {4, 64}, e.data(), e.size() * 4});
    model.tensors.add({"blk.0.ffn_up.weight", DType::F32, {4, 64}, w.data(), w.size() * 4});
    model.tensors.add({"output_norm.weight", DType::F32, {64}, n.data(), n.size() * 4});
    model.tensors.add({"output.weight", DType::F32, {4, 64}, o.data(), o.size() * 4});
  }
};

// What quantize_row + dequantize_row make of `src` as `type`: the stored tensor must equal this
// exactly (the writer converts row by row with the same functions).
std::vector<float> round_trip(DType type, const std::vector<float>& src) {
  std::vector<uint8_t> q(4 * row_bytes(type, 64));
  std::vector<float> back(src.size());
  for (int r = 0; r < 4; ++r) {
    quantize_row(type, src.data() + r * 64, q.data() + r * row_bytes(type, 64), 64);
    dequantize_row(type, q.data() + r * row_bytes(type, 64), back.data() + r * 64, 64);
  }
  return back;
}

std::vector<float> stored(const ModelFile& m, const std::string& name) {
  const TensorView& t = m.tensors.get(name);
  std::vector<float> out(static_cast<size_t>(t.rows() * t.cols()));
  for (int64_t r = 0; r < t.rows(); ++r)
    dequantize_row(t.dtype, static_cast<const uint8_t*>(t.data) + r * row_bytes(t.dtype, t.cols()),
                   out.data() + r * t.cols(), t.cols());
  return out;
}

TEST(HeadPrecision, RolesGetTheirOwnTypes) {
  TempDir dir;
  Roles s;
  write_gguf(dir.path("a.gguf"), s.model, WeightTypes{DType::Q4_0, DType::Q8_0, DType::F16});
  ModelFile m = open_model(dir.path("a.gguf"));
  EXPECT_EQ(m.tensors.get("token_embd.weight").dtype, DType::Q8_0);
  EXPECT_EQ(m.tensors.get("output.weight").dtype, DType::F16);
  EXPECT_EQ(m.tensors.get("blk.0.ffn_up.weight").dtype, DType::Q4_0);
  EXPECT_EQ(m.tensors.get("output_norm.weight").dtype, DType::F32);
  EXPECT_EQ(m.meta.get_int(keys::kFileType), 2);  // labelled by the bulk type (q4_0 = MOSTLY_Q4_0)
  EXPECT_EQ(stored(m, "token_embd.weight"), round_trip(DType::Q8_0, s.e));
  EXPECT_EQ(stored(m, "output.weight"), round_trip(DType::F16, s.o));
  EXPECT_EQ(stored(m, "blk.0.ffn_up.weight"), round_trip(DType::Q4_0, s.w));
}

TEST(HeadPrecision, UnsetRolesFollowTheWeightType) {
  TempDir dir;
  Roles s;
  write_gguf(dir.path("a.gguf"), s.model, WeightTypes{DType::Q4_0, std::nullopt, DType::Q8_0});
  ModelFile m = open_model(dir.path("a.gguf"));
  EXPECT_EQ(m.tensors.get("token_embd.weight").dtype, DType::Q4_0);
  EXPECT_EQ(m.tensors.get("output.weight").dtype, DType::Q8_0);
  // The plain-DType overload is unchanged: everything as that type.
  write_gguf(dir.path("b.gguf"), s.model, DType::Q4_0);
  ModelFile b = open_model(dir.path("b.gguf"));
  for (const char* name : {"token_embd.weight", "output.weight", "blk.0.ffn_up.weight"})
    EXPECT_EQ(b.tensors.get(name).dtype, DType::Q4_0) << name;
}

TEST(HeadPrecision, KeepStillHonoursExplicitRoles) {
  TempDir dir;
  Roles s;
  write_gguf(dir.path("q.gguf"), s.model, DType::Q8_0);  // every matrix q8_0, as a GPTQ import would be
  ModelFile q = open_model(dir.path("q.gguf"));
  write_gguf(dir.path("k.gguf"), q, WeightTypes{DType::F16, std::nullopt, DType::F32}, {}, /*keep=*/true);
  ModelFile k = open_model(dir.path("k.gguf"));
  EXPECT_EQ(k.tensors.get("blk.0.ffn_up.weight").dtype, DType::Q8_0);
  EXPECT_EQ(k.tensors.get("token_embd.weight").dtype, DType::Q8_0);
  EXPECT_EQ(k.tensors.get("output.weight").dtype, DType::F32);
  // Re-quantizing an already-quantized LM head to another block type is refused, as for --type.
  EXPECT_MOSS_ERROR(write_gguf(dir.path("x.gguf"), q, WeightTypes{DType::F16, std::nullopt, DType::Q4_0}, {}, true),
                    "output.weight is already quantized as q8_0");
  EXPECT_MOSS_ERROR(write_gguf(dir.path("y.gguf"), s.model, WeightTypes{DType::Q4_0, DType::I32, std::nullopt}),
                    "cannot write weights as i32");
  EXPECT_FALSE(std::filesystem::exists(dir.path("x.gguf")));
  EXPECT_FALSE(std::filesystem::exists(dir.path("y.gguf")));
}

// The CLI options end to end on a random tiny model: stored types as asked, and the quantized
// embedding / f16 or q8_0 LM head load and produce finite logits of the right size.
TEST(HeadPrecision, CliOptionsStoreAndRun) {
  ASSERT_TRUE(std::filesystem::exists(MOSS_BINARY)) << "build the moss executable first (target moss_cli)";
  TempDir tmp;
  const std::string ref = tmp.path("ref.gguf");
  test::ShellResult r = test::run_moss("bench --make-model " + ref + " --shape tiny --type f16");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string q = tmp.path("q.gguf");
  r = test::run_moss("quantize " + ref + " " + q + " --type q4_0 --embd-type q8_0 --output-type f16 -q");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string c = tmp.path("c.gguf");
  r = test::run_moss("convert " + ref + " -o " + c + " --type q4_0 --output-type q8_0 -q");
  ASSERT_EQ(r.code, 0) << r.output;
  {
    ModelFile m = open_model(q);
    EXPECT_EQ(m.tensors.get("token_embd.weight").dtype, DType::Q8_0);
    EXPECT_EQ(m.tensors.get("output.weight").dtype, DType::F16);
    EXPECT_EQ(m.tensors.get("blk.0.attn_qkv.weight").dtype, DType::Q4_0);
    ModelFile n = open_model(c);
    EXPECT_EQ(n.tensors.get("token_embd.weight").dtype, DType::Q4_0);
    EXPECT_EQ(n.tensors.get("output.weight").dtype, DType::Q8_0);
    EXPECT_EQ(n.tensors.get("blk.0.ffn_down.weight").dtype, DType::Q4_0);
  }
  for (const std::string& model : {q, c}) {
    const std::string out = tmp.path("logits.f32");
    r = test::run_moss("logits -m " + model + " -t 1 --ids 1,2,3 --out " + out);
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string bytes = test::read_file(out);
    ASSERT_EQ(bytes.size(), 3u * 512u * 4u);  // 3 positions x 512 vocabulary rows (shape tiny)
    std::vector<float> v(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), bytes.size());
    for (float x : v) ASSERT_TRUE(std::isfinite(x));
  }
  r = test::run_moss("quantize " + ref + " " + tmp.path("bad.gguf") + " --type q4_0 --output-type nope");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.output, ::testing::HasSubstr("unknown type 'nope'"));
}

}  // namespace
}  // namespace moss
