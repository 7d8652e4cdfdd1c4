// `moss generate`: greedy continuation of a prompt (token ids or text) through the KV cache. Prints
// the decoded new tokens (special tokens not skipped) or, with --print-ids, the new ids. Stops after
// -n tokens, after the model's eos id (included, as HF generate does), or at the context end.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/command.h"
#include "cli/common.h"
#include "model/greedy.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss::cli {
namespace {

struct GenerateArgs {
  ModelOptions model;
  std::string ids;
  std::string prompt;
  int64_t n = 32;
  double temp = 0.0;
  bool print_ids = false;
};

int run_generate(const GenerateArgs& a) {
  if (a.temp != 0.0) fail("sampling: use moss chat (moss generate is greedy only: --temp 0)");
  if (a.n < 0) fail("-n must be >= 0");
  if (a.ids.empty() && a.prompt.empty()) fail("give the prompt with --ids or --prompt");
  auto model = Model::load(a.model.model, a.model.threads, a.model.kv_dtype());
  if (const std::string hint = model->layout_hint(); !hint.empty()) std::fprintf(stderr, "moss: %s\n", hint.c_str());
  std::vector<int32_t> prompt;
  std::unique_ptr<Tokenizer> tok;
  if (!a.prompt.empty() || !a.print_ids)
    tok = std::make_unique<Tokenizer>(Tokenizer::from_metadata(model->file().meta));
  if (!a.ids.empty()) {
    prompt = parse_id_list(a.ids);
  } else {
    // A raw-model tool: the prompt is the whole model input, so <eoh>, <|endoftext|>, ... in it are
    // the special tokens, as when the reference tokenizer encodes a prompt.
    prompt = tok->encode(a.prompt, /*parse_special=*/true);
  }
  if (prompt.empty()) fail("the prompt is empty");
  const int64_t n_ctx = model->config().n_ctx;
  if (static_cast<int64_t>(prompt.size()) > n_ctx)
    fail("the prompt (", prompt.size(), " tokens) exceeds the context length ", n_ctx);
  KvCache cache =
      model->new_cache(std::min<int64_t>(n_ctx, static_cast<int64_t>(prompt.size()) + std::max<int64_t>(a.n, 1)));
  const std::vector<int32_t> out = generate_greedy(*model, cache, prompt, a.n, model->config().eos_id);
  if (a.print_ids) {
    std::printf("%s\n", join_ids(out).c_str());
  } else {
    const std::string text = tok->decode(out, /*skip_special=*/false);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::printf("\n");
  }
  return 0;
}

const CommandRegistration reg(
    "generate", "greedy continuation of a prompt through the KV cache (test interface; chat: moss chat)",
    [](CLI::App& sub) {
      auto a = std::make_shared<GenerateArgs>();
      a->model.add_to(sub);
      a->model.add_kv_type_to(sub);
      auto* ids = sub.add_option("--ids", a->ids, "prompt as comma-separated token ids");
      auto* prompt = sub.add_option("--prompt", a->prompt, "prompt text (special tokens such as <eoh> are parsed)");
      ids->excludes(prompt);
      sub.add_option("-n,--n-new", a->n, "new tokens to generate (at most)")->required();
      sub.add_option("--temp", a->temp, "temperature; only 0 (greedy) here")->default_val(0.0);
      sub.add_flag("--print-ids", a->print_ids, "print the new token ids, comma-separated, instead of text");
      return [a] { return run_generate(*a); };
    });

}  // namespace
}  // namespace moss::cli
