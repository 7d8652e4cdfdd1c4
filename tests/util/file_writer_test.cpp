// FileWriter: the bytes arrive whole and in order across its 8 MiB pieces, the target appears only on
// commit, and a writer that fails or is abandoned leaves neither a partial target nor its temporary.
#include "util/file_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "util/error.h"

namespace moss {
namespace {

namespace fs = std::filesystem;
using test::read_file;

class FileWriterTest : public ::testing::Test {
 protected:
  std::string path(const char* name) const { return dir_.path(name); }
  size_t files_in_dir() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()));
  }
  test::TempDir dir_;
};

TEST_F(FileWriterTest, BytesArriveWholeAcrossPieces) {
  // 20 MiB in pieces of irregular sizes (1 byte to 3 MiB), so writes straddle the 8 MiB boundaries.
  std::mt19937 rng(7);
  std::string expected;
  FileWriter w(path("out.bin"));
  while (expected.size() < (20u << 20)) {
    const size_t n = std::uniform_int_distribution<size_t>(1, 3u << 20)(rng);
    std::string piece(n, '\0');
    for (auto& c : piece) c = static_cast<char>(rng());
    w.write(piece.data(), piece.size());
    expected += piece;
    ASSERT_EQ(w.offset(), expected.size());
  }
  w.pad_to(64);
  expected.resize((expected.size() + 63) / 64 * 64, '\0');
  EXPECT_EQ(w.offset(), expected.size());
  w.pad_to(64);  // already aligned: nothing added
  EXPECT_EQ(w.offset(), expected.size());
  w.commit();
  EXPECT_EQ(read_file(path("out.bin")), expected);
  EXPECT_EQ(files_in_dir(), 1u);  // no temporary left
  EXPECT_THROW(w.write("x", 1), Error);
  EXPECT_THROW(w.commit(), Error);
}

TEST_F(FileWriterTest, TargetIsReplacedOnlyOnCommit) {
  { std::ofstream(path("model.gguf")) << "old"; }
  {
    FileWriter w(path("model.gguf"));
    w.write("new contents", 12);
    EXPECT_EQ(read_file(path("model.gguf")), "old");  // still the old file while writing
    w.commit();
  }
  EXPECT_EQ(read_file(path("model.gguf")), "new contents");
}

TEST_F(FileWriterTest, AbandonedWriterLeavesNothing) {
  {
    FileWriter w(path("half.gguf"));
    std::vector<char> big(9u << 20, 'a');  // more than one piece reaches the temporary
    w.write(big.data(), big.size());
  }  // destroyed without commit, as when an exception unwinds the conversion
  EXPECT_FALSE(fs::exists(path("half.gguf")));
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(FileWriterTest, UncreatablePathIsAClearError) {
  EXPECT_MOSS_ERROR(FileWriter w(path("no/such/dir/out.gguf")), "cannot create");
}

}  // namespace
}  // namespace moss
