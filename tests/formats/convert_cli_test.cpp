// `moss convert` end to end: HF folder -> GGUF through the real executable (MOSS_BINARY), and a
// clean error (exit code 1, message on stderr) for a type the model's rows cannot hold.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "formats/model_file.h"
#include "support/test_util.h"

#include "support/shell.h"

namespace moss {
namespace {

TEST(ConvertCli, FolderToGguf) {
  ASSERT_TRUE(std::filesystem::exists(MOSS_BINARY)) << "build the moss executable first (target moss_cli)";
  test::TempDir tmp;
  const std::string out = tmp.path("m.gguf");
  test::ShellResult r = test::run_moss("convert " + test::fixture_dir() + "/hf_sharded_safetensors_f16 -o " + out + " --type bf16");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("wrote " + out));
  ModelFile m = open_model(out);
  EXPECT_EQ(m.tensors.get("blk.0.attn_qkv.weight").dtype, DType::BF16);
  EXPECT_EQ(m.tensors.get("blk.0.attn_norm.bias").dtype, DType::F32);
  EXPECT_EQ(m.meta.get_int(keys::kFileType), 32);
  // Default type is f16, and GGUF input works too.
  r = test::run_moss("convert " + out + " -o " + tmp.path("m2.gguf"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(open_model(tmp.path("m2.gguf")).tensors.get("output.weight").dtype, DType::F16);
}

TEST(ConvertCli, ErrorsAreReported) {
  ASSERT_TRUE(std::filesystem::exists(MOSS_BINARY)) << "build the moss executable first (target moss_cli)";
  test::TempDir tmp;
  test::ShellResult r = test::run_moss("convert " + test::fixture_dir() + "/hf_bin_f16 -o " + tmp.path("q.gguf") + " --type q4_0");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.output, ::testing::HasSubstr("cannot be stored as q4_0 (block size 32)"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path("q.gguf")));
  r = test::run_moss("convert " + test::fixture_dir() + "/hf_bin_f16 -o " + tmp.path("q.gguf") + " --type nope");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.output, ::testing::HasSubstr("unknown type 'nope'"));
}

}  // namespace
}  // namespace moss
