// `moss commands -m MODEL --plugins calculator,search --prompt TEXT [--samples N] [--temp T]
//  [--seed S] [--no-constrain-commands]`: runs the Inner Thoughts + Commands stages of one turn N
// times and prints each generated Commands text (what stands between "<|Commands|>: " and "<eoc>")
// on its own line, newlines escaped as \n. External checks use this; keep it stable.
// Sampling is plain (top-p and repetition penalty off) at --temp unless --top-p/--top-k are given.
// A summary goes to stderr: how many lines are well-formed calls to enabled plugins only, and the
// Commands-stage decode speed with the time spent computing the constraint mask.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <random>

#include "chat/conversation.h"
#include "cli/command.h"
#include "cli/common.h"
#include "generate/commands_automaton.h"
#include "generate/language_model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss::cli {
namespace {

struct CommandsArgs {
  ModelOptions model;
  std::string plugins, prompt;
  int samples = 1;
  float temp = 1.0f, top_p = 1.0f;
  int top_k = 0;
  uint64_t seed = 0;
  bool seed_set = false;
  bool no_constrain = false;
  int max_thought_tokens = 64;
};

std::string escape_newlines(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

int run_commands(const CommandsArgs& a) {
  if (a.samples < 1 || a.samples > 1000000) fail("--samples must be in 1..1000000");
  if (a.temp < 0) fail("--temp must be >= 0");
  ChatOptions o;
  o.plugins = PluginSet::parse(a.plugins);
  o.layout = TurnLayout::FiveField;
  o.constrain_commands = !a.no_constrain;
  o.max_thought_tokens = static_cast<size_t>(std::max(1, a.max_thought_tokens));
  o.sampling.greedy = a.temp == 0;
  o.sampling.temperature = a.temp == 0 ? 1.0f : a.temp;
  o.sampling.top_p = a.top_p;
  o.sampling.top_k = a.top_k;
  o.sampling.repetition_penalty = 1.0f;
  o.sampling.seed = a.seed_set ? a.seed : std::random_device{}();
  // Unconstrained, the stage ends at <eoc> or this many tokens (the constrained grammar's bound).
  o.max_new_tokens = 1 + 4 * (31 + 4 + 160) + 2 * 3 + 1;

  std::unique_ptr<LanguageModel> lm = load_language_model(a.model.model, a.model.threads);
  const Tokenizer* tok = lm->tokenizer();
  if (!tok) fail("the model file has no tokenizer");
  TokenizerCodec codec(*tok);
  const PluginRegistry registry = default_plugin_registry();  // no plugin runs here
  Conversation conv(*lm, codec, registry, o);

  std::vector<std::string> enabled;
  for (const char* n : {"Search", "Calculate", "Solve", "Text2Image"})
    if (o.plugins.enables(n)) enabled.emplace_back(n);
  // Classification uses generous limits: a line counts as valid if it is " None" or well-formed
  // calls to enabled plugins only, whatever the constraint's own limits.
  const CommandsAutomaton judge(enabled, {.max_calls = 255, .max_arg_bytes = 65535});
  int valid = 0;
  size_t tokens = 0;
  double seconds = 0, mask_seconds = 0;
  for (int i = 0; i < a.samples; ++i) {
    const Conversation::CommandsSample s = conv.sample_commands(a.prompt);
    std::printf("%s\n", escape_newlines(s.commands).c_str());
    valid += judge.accepts(" " + s.commands);
    tokens += s.commands_tokens;
    seconds += s.commands_seconds;
    mask_seconds += s.mask_seconds;
  }
  std::fflush(stdout);
  std::fprintf(stderr,
               "moss commands: %d samples, %d valid (well-formed calls to enabled plugins or None), constraint %s; "
               "Commands stage: %zu tokens in %.2f s = %.1f tok/s, mask %.3f s (%.1f%% of the stage)\n",
               a.samples, valid, o.constrain_commands ? "on" : "off", tokens, seconds,
               seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0, mask_seconds,
               seconds > 0 ? 100.0 * mask_seconds / seconds : 0.0);
  return 0;
}

const CommandRegistration reg(
    "commands", "sample the Commands stage of one turn N times (plugin-control check)", [](CLI::App& sub) {
      auto a = std::make_shared<CommandsArgs>();
      a->model.add_to(sub);
      sub.add_option("--plugins", a->plugins, "enabled plugins: search,calculator,solver,text2image")->required();
      sub.add_option("--prompt", a->prompt, "the user's message")->required();
      sub.add_option("--samples", a->samples, "how many Commands stages to sample (default 1)");
      sub.add_option("--temp", a->temp, "sampling temperature (default 1.0; 0 = greedy)");
      sub.add_option("--top-p", a->top_p, "nucleus sampling threshold (default 1.0 = off)");
      sub.add_option("--top-k", a->top_k, "top-k filter (default 0 = off)");
      sub.add_option_function<uint64_t>(
          "--seed", [a](uint64_t s) { a->seed = s, a->seed_set = true; }, "random seed (default: random)");
      sub.add_flag("--no-constrain-commands", a->no_constrain, "sample the Commands stage without the constraint");
      sub.add_option("--max-thought-tokens", a->max_thought_tokens, "bound on the inner thoughts (default 64)");
      return [a] { return run_commands(*a); };
    });

}  // namespace
}  // namespace moss::cli
