// The `moss bench` and `moss quantize` commands end to end on the tiny random shape: the JSON contract
// of `moss bench --json` (last stdout line, required keys) and the errors for bad input. Skipped when
// the moss executable has not been built.
#include <gtest/gtest.h>

#include <algorithm>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/shell.h"

namespace {

struct Result {
  int rc;
  std::string out;
};

Result run(const std::string& args) {
  const ::moss::test::ShellResult r = ::moss::test::run_moss(args, /*merge_stderr=*/false);
  return {r.code, r.output};
}

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(MOSS_BINARY)) FAIL() << "build the moss executable first (cmake --build build)";
    dir_ = std::filesystem::temp_directory_path() / ("moss_bench_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(BenchCli, JsonIsTheLastLineWithTheRequiredKeys) {
  ASSERT_EQ(run("bench --make-model " + path("t.gguf") + " --shape tiny --type q8_0").rc, 0);
  const Result r = run("bench -m " + path("t.gguf") + " -p 8 -n 2 -t 2 --bandwidth-mib 16 --json");
  ASSERT_EQ(r.rc, 0) << r.out;
  std::string last = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
  last = last.substr(last.find_last_of('\n') + 1);
  const auto j = nlohmann::json::parse(last);
  for (const char* k :
       {"prefill_tok_s", "decode_tok_s", "bytes_per_token", "effective_gbs", "bandwidth_gbs", "decode_efficiency"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_GT(j[k].get<double>(), 0.0) << k;
  }
  EXPECT_EQ(j["threads"].get<int>(), 2);
  // Prefill is timed three times; the median lies between the slowest and the fastest run.
  EXPECT_EQ(j["prefill_runs"].get<int>(), 3);
  EXPECT_LE(j["prefill_tok_s_min"].get<double>(), j["prefill_tok_s"].get<double>());
  EXPECT_LE(j["prefill_tok_s"].get<double>(), j["prefill_tok_s_max"].get<double>());
  // KV cache: the CLI default f16; bytes read per decode step = 2 bytes x K and V x layers x E x
  // the average attended positions (step i of -n attends to -p + i + 1).
  ASSERT_TRUE(j.contains("kv_type"));
  EXPECT_EQ(j["kv_type"].get<std::string>(), "f16");
  const double per_pos_f16 = j["kv_bytes_per_token"].get<double>() / (8 + 1.5);
  const Result r32 = run("bench -m " + path("t.gguf") + " -p 8 -n 2 -t 2 --bandwidth-mib 16 --kv-type f32 --json");
  ASSERT_EQ(r32.rc, 0) << r32.out;
  std::string last32 = r32.out.substr(0, r32.out.find_last_not_of('\n') + 1);
  last32 = last32.substr(last32.find_last_of('\n') + 1);
  const auto j32 = nlohmann::json::parse(last32);
  EXPECT_EQ(j32["kv_type"].get<std::string>(), "f32");
  EXPECT_DOUBLE_EQ(j32["kv_bytes_per_token"].get<double>() / (8 + 1.5), 2 * per_pos_f16);
  EXPECT_NE(run("bench -m " + path("t.gguf") + " -p 8 -n 2 --kv-type bf16").rc, 0);
  EXPECT_NEAR(j["decode_efficiency"].get<double>(), j["effective_gbs"].get<double>() / j["bandwidth_gbs"].get<double>(),
              1e-9);
  // The reference bandwidth is read after every token (paired); the per-token efficiencies bracket
  // their median, and the figure against the higher of the reads before and after is reported too.
  EXPECT_LE(j["decode_efficiency_min"].get<double>(), j["decode_efficiency_median"].get<double>());
  EXPECT_LE(j["decode_efficiency_median"].get<double>(), j["decode_efficiency_max"].get<double>());
  EXPECT_GT(j["decode_efficiency_min"].get<double>(), 0.0);
  EXPECT_NEAR(j["decode_efficiency_vs_before_after"].get<double>(),
              j["effective_gbs"].get<double>() /
                  std::max(j["bandwidth_before_gbs"].get<double>(), j["bandwidth_after_gbs"].get<double>()),
              1e-9);
}

// --batch B adds the lockstep decode of B sequences: its figures, consistent with the single one.
TEST_F(BenchCli, BatchAddsLockstepDecodeFigures) {
  ASSERT_EQ(run("bench --make-model " + path("t.gguf") + " --shape tiny --type q4_0").rc, 0);
  const Result r = run("bench -m " + path("t.gguf") + " -p 8 -n 3 -t 2 --bandwidth-mib 16 --batch 3 --json");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("decode of 3 sequences in lockstep"), std::string::npos) << r.out;
  std::string last = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
  last = last.substr(last.find_last_of('\n') + 1);
  const auto j = nlohmann::json::parse(last);
  EXPECT_EQ(j["batch"].get<int>(), 3);
  EXPECT_GT(j["batch_decode_tok_s"].get<double>(), 0.0);
  EXPECT_NEAR(j["batch_speedup"].get<double>(), j["batch_decode_tok_s"].get<double>() / j["decode_tok_s"].get<double>(),
              1e-9);
  // Without --batch there are no batch keys; bad values are clear errors.
  const Result plain = run("bench -m " + path("t.gguf") + " -p 4 -n 1 -t 1 --bandwidth-mib 8 --json");
  ASSERT_EQ(plain.rc, 0) << plain.out;
  EXPECT_EQ(plain.out.find("\"batch\""), std::string::npos) << plain.out;
  EXPECT_EQ(run("bench -m " + path("t.gguf") + " -p 4 -n 1 --batch 0").rc, 1);
  EXPECT_EQ(run("bench -m " + path("t.gguf") + " -p 4 -n 1 --batch 65").rc, 1);
  EXPECT_EQ(run("bench --kernels --shape tiny --batch 4").rc, 1);
}

TEST_F(BenchCli, QuantizeAcceptsFloatModelsOnly) {
  ASSERT_EQ(run("bench --make-model " + path("f.gguf") + " --shape tiny --type f16").rc, 0);
  for (const char* t : {"q4_0", "q8_0", "q4_k"})
    EXPECT_EQ(run(std::string("quantize -q ") + path("f.gguf") + " " + path(t) + ".gguf --type " + t).rc, 0) << t;
  EXPECT_EQ(run("bench -m " + path("q4_k.gguf") + " -p 4 -n 1 -t 1 --bandwidth-mib 16").rc, 0);
  EXPECT_EQ(run("quantize -q " + path("q4_0.gguf") + " " + path("again.gguf") + " --type q4_k").rc, 1);
  EXPECT_EQ(run("quantize -q " + path("f.gguf") + " " + path("x.gguf") + " --type f16").rc, 1);
  EXPECT_EQ(run("quantize -q " + path("f.gguf") + " " + path("x.gguf") + " --type q9_9").rc, 1);
  EXPECT_FALSE(std::filesystem::exists(path("again.gguf")));
}

TEST_F(BenchCli, BadArgumentsAreClearErrors) {
  ASSERT_EQ(run("bench --make-model " + path("t.gguf") + " --shape tiny --type q4_0").rc, 0);
  EXPECT_EQ(run("bench -m " + path("t.gguf") + " -p 0").rc, 1);
  EXPECT_EQ(run("bench -m " + path("t.gguf") + " -p 1000").rc, 1);  // beyond the tiny context of 128
  EXPECT_EQ(run("bench --kernels --shape nope").rc, 1);
  EXPECT_EQ(run("bench --make-model " + path("u.gguf") + " --shape nope").rc, 1);
  // thread counts 0 and 1000 are clamped, not errors
  EXPECT_EQ(run("bench -m " + path("t.gguf") + " -p 2 -n 1 -t 1000 --bandwidth-mib 8").rc, 0);
  EXPECT_EQ(run("bench -m " + path("t.gguf") + " -p 2 -n 1 -t 0 --bandwidth-mib 8").rc, 0);
}

}  // namespace
