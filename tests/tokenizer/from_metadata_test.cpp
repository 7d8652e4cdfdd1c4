// The tokenizer built from a model's metadata (the Hugging Face importer's tokenizer.* keys), on
// the tiny MOSS-style fixture folder: 256 byte tokens, 10 merges, <|endoftext|> = 266, the 38
// whitespace runs at 267..304 and <eoh> .. <eor> at 305..309 (the MOSS layout, shrunk); and the
// `moss tokenize` / `moss detokenize` commands on the same folder.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "formats/model_file.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

#include "support/shell.h"

namespace moss {
namespace {

using Ids = std::vector<int32_t>;
const std::string kFolder = std::string(MOSS_FIXTURE_DIR) + "/models/a_f32_bin";

const Tokenizer& fixture() {
  static const Tokenizer t = Tokenizer::from_metadata(open_model(kFolder).meta);
  return t;
}

TEST(FromMetadata, FixtureFolderFollowsTheMossRules) {
  const Tokenizer& t = fixture();
  EXPECT_EQ(t.n_tokens(), 310);
  EXPECT_EQ(t.bos_id(), 266);
  EXPECT_EQ(t.eos_id(), 306);
  EXPECT_TRUE(t.is_special(266));
  EXPECT_TRUE(t.is_special(305));
  EXPECT_FALSE(t.is_special(294));
  EXPECT_FALSE(t.is_added(266));  // <|endoftext|> is a vocab.json entry
  EXPECT_TRUE(t.is_added(267));
  EXPECT_EQ(t.token_bytes(294), "    ");
  // 'a' = 64, 'b' = 65 (GPT-2 byte order), " the" = merge result 258, 4 spaces = 294.
  EXPECT_EQ(t.encode(" the"), (Ids{258}));
  EXPECT_EQ(t.encode("a\n    b<eom>", true), (Ids{64, 294, 65, 306}));
  EXPECT_EQ(t.encode("a <|endoftext|> b", true), (Ids{64, 266, 65}));
  EXPECT_EQ(t.encode("<eom>"), (Ids{27, 68, 78, 76, 29}));  // "<", "e", "o", "m", ">" without --special
  EXPECT_EQ(t.decode(Ids{64, 294, 65, 306}), "a      b <eom>");
  EXPECT_EQ(t.decode(Ids{64, 294, 65, 306}, true), "a      b");
  EXPECT_EQ(t.decode(Ids{64, 266, 65}), "a<|endoftext|>b");
  EXPECT_THROW(t.decode(Ids{310}), Error);  // LM-head padding rows (310..329) are not tokens
}

std::string run(const std::string& args, int& status) {
  const ::moss::test::ShellResult r = ::moss::test::run_moss(args);
  status = r.code;
  return r.output;
}

TEST(Cli, TokenizeAndDetokenize) {
  ASSERT_TRUE(std::filesystem::exists(MOSS_BINARY)) << "build the moss executable first";
  int st = 0;
  EXPECT_EQ(run("tokenize -m " + kFolder + " --text \"$(printf 'a\\n    b<eom>')\" --special -t 2", st), "64,294,65,306\n");
  EXPECT_EQ(st, 0);
  EXPECT_EQ(run("tokenize -m " + kFolder + " --text '<eom>'", st), "27,68,78,76,29\n");
  EXPECT_EQ(run("detokenize -m " + kFolder + " --ids 64,294,65,306", st), "a      b <eom>\n");
  EXPECT_EQ(st, 0);
  EXPECT_EQ(run("detokenize -m " + kFolder + " --ids '64, 294, 65, 306' --skip-special", st), "a      b\n");
  const std::string err = run("detokenize -m " + kFolder + " --ids 64,400", st);
  EXPECT_NE(st, 0);
  EXPECT_NE(err.find("400"), std::string::npos) << err;
  run("detokenize -m " + kFolder + " --ids 1,x", st);
  EXPECT_NE(st, 0);
  run("tokenize -m /nonexistent --text hi", st);
  EXPECT_NE(st, 0);
}

}  // namespace
}  // namespace moss
