// `moss commands` on a random-weight model (which writes garbage when unconstrained): with the
// constraint every sampled Commands line is " None" or well-formed calls to the enabled plugins;
// without it, the same sampling produces invalid lines. Also checks the output format (one line per
// sample, newlines escaped).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

#include "generate/commands_automaton.h"

#include "support/shell.h"

namespace {

std::string run(const std::string& args, int* status = nullptr) {
  const ::moss::test::ShellResult r = ::moss::test::run_moss(args, /*merge_stderr=*/false);
  if (status) *status = r.code;
  return r.output;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

class CliCommands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(std::filesystem::exists(MOSS_BINARY)) << "build the moss executable first: " << MOSS_BINARY;
    dir_ = std::filesystem::temp_directory_path() / (std::string("moss_cli_commands_").append(std::to_string(getpid())));
    std::filesystem::create_directories(dir_);
    model_ = (dir_ / "tiny.gguf").string();
    int rc = 0;
    run("bench --make-model " + model_ + " --shape tiny-chat --type f32 --vocab-dir builtin", &rc);
    ASSERT_EQ(rc, 0);
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  static inline std::filesystem::path dir_;
  static inline std::string model_;
};

TEST_F(CliCommands, ConstrainedSamplesAreAlwaysValid) {
  constexpr int kSamples = 60;
  int rc = 0;
  const auto out = lines(run("commands -m " + model_ + " --plugins calculator --prompt 'What is 6*7?' --samples " +
                                 std::to_string(kSamples) + " --seed 11 --temp 1.0 -t 1",
                             &rc));
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(out.size(), static_cast<size_t>(kSamples));
  const moss::CommandsAutomaton grammar({"Calculate"}, {.max_calls = 255, .max_arg_bytes = 65535});
  for (const auto& l : out) EXPECT_TRUE(grammar.accepts(" " + l)) << l;
}

TEST_F(CliCommands, UnconstrainedRandomModelWritesGarbage) {
  constexpr int kSamples = 20;
  int rc = 0;
  const auto out = lines(run("commands -m " + model_ + " --plugins calculator --prompt 'What is 6*7?' --samples " +
                                 std::to_string(kSamples) + " --seed 11 --temp 1.0 -t 1 --no-constrain-commands",
                             &rc));
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(out.size(), static_cast<size_t>(kSamples));  // escaped newlines keep one line per sample
  const moss::CommandsAutomaton grammar({"Calculate"}, {.max_calls = 255, .max_arg_bytes = 65535});
  int invalid = 0;
  for (const auto& l : out) invalid += !grammar.accepts(" " + l);
  EXPECT_GT(invalid, kSamples / 2);
}

TEST_F(CliCommands, BadArgumentsAreErrors) {
  int rc = 0;
  run("commands -m " + model_ + " --plugins calculator --prompt x --samples 0", &rc);
  EXPECT_NE(rc, 0);
  run("commands -m " + model_ + " --plugins nonsense --prompt x", &rc);
  EXPECT_NE(rc, 0);
}

}  // namespace
