// End to end through the `moss` executable (MOSS_BINARY; build the moss_cli target first):
// `moss logits` on a fixture folder must write the reference logits, `moss generate --temp 0
// --kv-type f32` must print the reference greedy ids; --kv-type is checked.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "support/shell.h"
#include "model_fixtures.h"

namespace moss {
namespace {

using testing::ids_of;
using testing::model_manifest;

bool binary_exists() {
  struct stat st {};
  return ::stat(MOSS_BINARY, &st) == 0;
}

// Runs a shell command, returns (exit status, stdout).
std::pair<int, std::string> run(const std::string& cmd) {
  const ::moss::test::ShellResult r = ::moss::test::run_shell(cmd);
  return {r.code, r.output};
}

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

TEST(CliE2E, LogitsFileMatchesReference) {
  ASSERT_TRUE(binary_exists()) << MOSS_BINARY << " is missing: build the moss_cli target";
  for (const char* folder : {"a_f16_sharded", "b_f32_sharded"}) {
    std::string c;
    for (const auto& f : model_manifest()["folders"])
      if (f["folder"] == folder) c = f["case"];
    const auto& cs = model_manifest()["cases"][c];
    const std::string out = ::testing::TempDir() + "moss_logits_" + folder + ".f32";
    const auto [rc, text] = run(std::string(MOSS_BINARY) + " logits -m " + testing::model_fixture_dir() + "/" + folder +
                                " --ids " + join(ids_of(cs["prompt"])) + " --out " + out + " -t 2 2>&1");
    ASSERT_EQ(rc, 0) << text;
    std::ifstream f(out, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<float> got(bytes.size() / 4);
    std::memcpy(got.data(), bytes.data(), got.size() * 4);
    const auto want = testing::read_f32(cs["prefill_logits"]);
    ASSERT_EQ(bytes.size(), want.size() * 4) << "expected [n_ids, n_vocab] float32";
    EXPECT_LE(testing::max_abs_diff(got, want), testing::kLogitTol) << folder;
    std::remove(out.c_str());
  }
}

TEST(CliE2E, GenerateGreedyIds) {
  ASSERT_TRUE(binary_exists()) << MOSS_BINARY << " is missing: build the moss_cli target";
  const auto& cs = model_manifest()["cases"]["b_f16"];
  const auto [rc, text] = run(std::string(MOSS_BINARY) + " generate -m " + testing::model_fixture_dir() +
                              "/b_f16_bin --ids " + join(ids_of(cs["prompt"])) + " -n " +
                              std::to_string(cs["greedy_n"].get<int>()) +
                              " --temp 0 --print-ids -t 2 --kv-type f32 2>&1");  // exact: the f32 cache
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(text, join(ids_of(cs["greedy_ids"])) + "\n");
}

// The f16 cache (the CLI default) runs and yields greedy_n ids; ids themselves may differ from the
// reference wherever two logits are closer than the f16 bound (tests/model/kv_f16_tolerance.h), so
// only the count is checked here. Bad --kv-type values are refused by name.
TEST(CliE2E, GenerateKvType) {
  ASSERT_TRUE(binary_exists()) << MOSS_BINARY << " is missing: build the moss_cli target";
  const auto& cs = model_manifest()["cases"]["b_f16"];
  const std::string base = std::string(MOSS_BINARY) + " generate -m " + testing::model_fixture_dir() + "/b_f16_bin --ids " +
                           join(ids_of(cs["prompt"])) + " -n " + std::to_string(cs["greedy_n"].get<int>()) +
                           " --temp 0 --print-ids -t 2";
  for (const char* kv : {"", " --kv-type f16"}) {
    const auto [rc, text] = run(base + kv + " 2>&1");
    ASSERT_EQ(rc, 0) << text;
    const size_t n = static_cast<size_t>(std::count(text.begin(), text.end(), ',')) + 1;
    EXPECT_EQ(n, static_cast<size_t>(cs["greedy_n"].get<int>())) << text;
  }
  const auto [rc, text] = run(base + " --kv-type q4_0 2>&1");
  EXPECT_NE(rc, 0);
  EXPECT_NE(text.find("--kv-type"), std::string::npos) << text;
  // q8_0 needs whole blocks of 32 per head; this fixture's heads are smaller: a clear error.
  const auto [rc8, text8] = run(base + " --kv-type q8_0 2>&1");
  EXPECT_NE(rc8, 0);
  EXPECT_NE(text8.find("multiple of 32"), std::string::npos) << text8;
}

TEST(CliE2E, GenerateRejectsSamplingAndBadIds) {
  ASSERT_TRUE(binary_exists()) << MOSS_BINARY << " is missing: build the moss_cli target";
  const std::string m = " -m " + testing::model_fixture_dir() + "/a_f32_bin";
  auto [rc, text] = run(std::string(MOSS_BINARY) + " generate" + m + " --ids 1,2 -n 2 --temp 0.7 2>&1");
  EXPECT_NE(rc, 0);
  EXPECT_NE(text.find("sampling: use moss chat"), std::string::npos) << text;
  std::tie(rc, text) = run(std::string(MOSS_BINARY) + " logits" + m + " --ids 1,99999 --out /dev/null 2>&1");
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find("token id 99999"), std::string::npos) << text;
}

}  // namespace
}  // namespace moss
