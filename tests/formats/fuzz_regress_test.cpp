// Inputs found by the fuzz targets (tests/fixtures/formats/regress/<target>_*.*), replayed through
// the same steps as the target: each must now parse cleanly or fail with moss::Error, and a
// parsed GGUF must survive write_gguf + read_gguf.
#include <filesystem>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "formats/torch_zip.h"
#include "support/test_util.h"

namespace moss {
namespace {

TEST(FuzzRegressions, ReplayWithoutCrashing) {
  int replayed = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::fixture_dir() + "/regress")) {
    const std::string name = e.path().filename().string();
    SCOPED_TRACE(name);
    const std::string bytes = test::read_file(e.path().string());
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    ++replayed;
    try {
      if (name.starts_with("gguf_")) {
        ModelFile m;
        parse_gguf(data, bytes.size(), name, m.meta, m.tensors);
        test::TempDir tmp;
        write_gguf(tmp.path("out.gguf"), m, DType::F32);
        EXPECT_EQ(read_gguf(tmp.path("out.gguf")).tensors.size(), m.tensors.size());
      } else if (name.starts_with("safetensors_")) {
        TensorSet ts;
        parse_safetensors(data, bytes.size(), name, ts);
      } else if (name.starts_with("torch_")) {
        TensorSet ts;
        parse_torch_zip(data, bytes.size(), name, ts);
      } else {
        ADD_FAILURE() << "unknown regression input prefix";
      }
    } catch (const Error&) {
    }
  }
  EXPECT_GT(replayed, 0);
}

}  // namespace
}  // namespace moss
