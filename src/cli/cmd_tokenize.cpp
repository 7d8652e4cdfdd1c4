// `moss tokenize -m MODEL --text TEXT [--special]`: prints the token ids of TEXT, comma-separated,
// followed by one "\n". Without --special, text such as "<eom>" is ordinary text (a user cannot
// forge a turn marker); with it, the end markers and <|endoftext|> become their ids, as the
// reference tokenizer does. Only the model's metadata is used.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "cli/common.h"
#include "formats/model_file.h"
#include "tokenizer/tokenizer.h"

namespace moss::cli {
namespace {

struct TokenizeArgs {
  ModelOptions model;  // --threads is accepted for uniformity; tokenizing is single-threaded
  std::string text;
  bool special = false;
};

int run_tokenize(const TokenizeArgs& a) {
  const Tokenizer tok = Tokenizer::from_metadata(open_model(a.model.model).meta);
  const std::string line = join_ids(tok.encode(a.text, a.special)) + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  return 0;
}

const CommandRegistration reg("tokenize", "print the token ids of --text (comma-separated)", [](CLI::App& sub) {
  auto a = std::make_shared<TokenizeArgs>();
  a->model.add_to(sub);
  sub.add_option("--text", a->text, "the text to tokenize")->required();
  sub.add_flag("--special", a->special, "parse <eoh> <eom> <eot> <eoc> <eor> <|endoftext|> as special tokens");
  return [a] { return run_tokenize(*a); };
});

}  // namespace
}  // namespace moss::cli
