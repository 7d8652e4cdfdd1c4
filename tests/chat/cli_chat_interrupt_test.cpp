// Ctrl-C in `moss chat` (through MOSS_BINARY, a real SIGINT): during an answer it stops that answer
// and the program goes on (here: ends normally after its one --prompt turn); at the prompt it ends
// the program as SIGINT does. The model is a random `tiny-gpt2` one with GPT-2's BPE, whose answers
// run for seconds (an end marker is ~10 of 50k tokens), so the signal lands mid-answer. The answer
// is sampled with a fixed seed whose first 3000 tokens hold no end marker (checked by hand with
// `-n 3000`): with a random seed an answer now and then ended within the ~0.1 s before the signal
// (seed 2 ends after ~300 tokens), and the test failed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/shell.h"

namespace moss {
namespace {

class ChatInterrupt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(std::filesystem::exists(MOSS_BINARY)) << "build the moss executable first: " << MOSS_BINARY;
    dir_ = std::filesystem::temp_directory_path() / (std::string("moss_chat_int_").append(std::to_string(getpid())));
    std::filesystem::create_directories(dir_);
    model_ = (dir_ / "tg.gguf").string();
    const auto r = test::run_moss("bench --make-model " + model_ + " --shape tiny-gpt2 --type q8_0 --vocab-dir " +
                                  std::string(MOSS_SHARED_DIR) + "/data/gpt2-bpe");
    ASSERT_EQ(r.code, 0) << r.output;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  static std::string sh_quote(const std::string& s) { return "'" + s + "'"; }
  static inline std::filesystem::path dir_;
  static inline std::string model_;
};

TEST_F(ChatInterrupt, CtrlCStopsTheAnswerNotTheProgram) {
  const std::string out = (dir_ / "out").string(), err = (dir_ / "err").string();
  // Start, wait for the answer to stream (bounded), interrupt, report the exit status.
  const std::string cmd = std::string("\"") + MOSS_BINARY + "\" chat -m " + sh_quote(model_) +
                          " --prompt hi -n 100000 --seed 1 --plugins none >" + sh_quote(out) + " 2>" + sh_quote(err) +
                          " & p=$!; for i in $(seq 600); do [ -s " + sh_quote(out) +
                          " ] && break; sleep 0.05; done; kill -INT $p; wait $p; echo \"rc=$?\"; cat " + sh_quote(err);
  const auto r = test::run_shell(cmd);
  EXPECT_NE(r.output.find("rc=0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[stopped]"), std::string::npos) << r.output;
}

TEST_F(ChatInterrupt, CtrlCAtThePromptEndsTheProgram) {
  const std::string err = (dir_ / "err2").string(), fifo = (dir_ / "stdin").string();
  // stdin is a FIFO this shell keeps open (fd 3), so the program waits at the prompt; interrupt it
  // once it is there.
  const std::string cmd = "mkfifo " + sh_quote(fifo) + "; \"" + std::string(MOSS_BINARY) + "\" chat -m " +
                          sh_quote(model_) + " --plugins none <" + sh_quote(fifo) + " 2>" + sh_quote(err) +
                          " >/dev/null & p=$!; exec 3>" + sh_quote(fifo) + "; for i in $(seq 600); do grep -q " +
                          "'moss chat: plugins' " + sh_quote(err) + " && break; sleep 0.05; done; kill -INT $p; " +
                          // a program that ignored the signal is killed after 20 s (rc 137), never hangs
                          "(sleep 20; kill -9 $p 2>/dev/null) >/dev/null 2>&1 & w=$!; " +
                          "wait $p; echo \"rc=$?\"; kill $w 2>/dev/null; exec 3>&-";
  const auto r = test::run_shell(cmd);
  EXPECT_NE(r.output.find("rc=130"), std::string::npos) << r.output;  // 128 + SIGINT
}

}  // namespace
}  // namespace moss
