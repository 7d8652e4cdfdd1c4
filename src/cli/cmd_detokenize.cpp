// `moss detokenize -m MODEL --ids 1,2,3 [--skip-special]`: prints the decoded text followed by one
// "\n", decoded exactly as transformers 4.25.1 does (added tokens set off by single spaces,
// invalid UTF-8 as U+FFFD, no clean-up). Ids outside the tokenizer's vocabulary are an error.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "cli/common.h"
#include "formats/model_file.h"
#include "tokenizer/tokenizer.h"

namespace moss::cli {
namespace {

struct DetokenizeArgs {
  ModelOptions model;  // --threads is accepted for uniformity; decoding is single-threaded
  std::string ids;
  bool skip_special = false;
};

int run_detokenize(const DetokenizeArgs& a) {
  const std::vector<int32_t> ids = parse_id_list(a.ids);
  const Tokenizer tok = Tokenizer::from_metadata(open_model(a.model.model).meta);
  const std::string text = tok.decode(ids, a.skip_special) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

const CommandRegistration reg("detokenize", "print the text of comma-separated token --ids", [](CLI::App& sub) {
  auto a = std::make_shared<DetokenizeArgs>();
  a->model.add_to(sub);
  sub.add_option("--ids", a->ids, "comma-separated token ids")->required();
  sub.add_flag("--skip-special", a->skip_special, "drop special tokens (<|endoftext|>, <eoh> ... <eor>)");
  return [a] { return run_detokenize(*a); };
});

}  // namespace
}  // namespace moss::cli
