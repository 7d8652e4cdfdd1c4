// `moss chat -m MODEL`: terminal chat with streaming output and the plugin loop.
//   --plugins search,calculator,solver,text2image   enables plugins (five-field plugin layout with
//                                                   inner thoughts); none = the plain sft layout
//   --system FILE        meta instruction text instead of the built-in one (used verbatim)
//   --prompt TEXT        one non-interactive turn, then exit
//   --temp --top-p --top-k --repetition-penalty --seed -n   sampling (defaults of the official
//                        demos: 0.7, 0.8, off, 1.02; -n = max new tokens per stage, 512)
// Interactive commands: /clear, /plugins [LIST], /history, /exit (or end of input).
// Inner thoughts, commands and results are shown dimmed when stdout is a terminal.
#include <unistd.h>

#include <atomic>
#include <csignal>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "chat/conversation.h"
#include "cli/command.h"
#include "cli/common.h"
#include "generate/language_model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss::cli {
namespace {

struct ChatArgs {
  ModelOptions model;
  std::string plugins = "none";
  std::string layout;  // "", "five", "two"
  std::string system_file;
  std::string prompt;
  std::string config;
  bool image_stub = false;
  float temp = 0.7f, top_p = 0.8f, repetition_penalty = 1.02f;
  int top_k = 0;
  uint64_t seed = 0;
  bool seed_set = false;
  bool greedy = false;
  bool no_constrain = false;
  std::string top_p_variant = "ascending";
  size_t n = 512;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot read ", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Streams stage-tagged text to stdout; non-answer stages get a label and are dimmed on a tty.
class Printer {
 public:
  explicit Printer(bool tty) : tty_(tty) {}
  void text(ChatStage s, std::string_view t) {
    if (s != stage_ || !started_) {
      end_line();
      started_ = true;
      stage_ = s;
      if (s != ChatStage::Answer) {
        if (tty_) std::fputs("\x1b[2m", stdout);
        std::printf("[%s] ", chat_stage_name(s));
      }
    }
    std::fwrite(t.data(), 1, t.size(), stdout);
    at_line_start_ = !t.empty() && t.back() == '\n';
    std::fflush(stdout);
  }
  void end_turn() {
    end_line();
    started_ = false;
    std::fflush(stdout);
  }

 private:
  void end_line() {
    if (!started_) return;
    if (stage_ != ChatStage::Answer && tty_) std::fputs("\x1b[0m", stdout);
    if (!at_line_start_) std::fputc('\n', stdout);
    at_line_start_ = true;
  }
  bool tty_;
  bool started_ = false;
  bool at_line_start_ = true;
  ChatStage stage_ = ChatStage::Answer;
};

// Ctrl-C while an answer is being generated stops that answer (the turn is closed in the training
// layout, no plugin runs, the conversation goes on); Ctrl-C anywhere else ends the program as usual.
// Only lock-free atomics, signal() and raise() are used in the handler (async-signal-safe).
std::atomic<bool> g_generating{false};
std::atomic<bool> g_cancel{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_sigint(int) {
  if (g_generating.load()) {
    g_cancel.store(true);
    return;
  }
  std::signal(SIGINT, SIG_DFL);
  std::raise(SIGINT);
}

int run_chat(const ChatArgs& a) {
  ChatOptions o;
  o.plugins = PluginSet::parse(a.plugins);
  if (a.layout.empty()) o.layout = o.plugins.any_tool() ? TurnLayout::FiveField : TurnLayout::TwoField;
  else if (a.layout == "five") o.layout = TurnLayout::FiveField;
  else if (a.layout == "two") o.layout = TurnLayout::TwoField;
  else fail("--layout must be five or two");
  if (!a.system_file.empty()) o.meta_instruction = read_file(a.system_file);
  o.sampling.temperature = a.temp;
  o.sampling.top_p = a.top_p;
  o.sampling.top_k = a.top_k;
  o.sampling.repetition_penalty = a.repetition_penalty;
  o.sampling.greedy = a.greedy;
  o.sampling.seed = a.seed_set ? a.seed : std::random_device{}();
  if (a.top_p_variant == "ascending") o.sampling.top_p_variant = TopPVariant::Ascending;
  else if (a.top_p_variant == "descending") o.sampling.top_p_variant = TopPVariant::Descending;
  else fail("--top-p-variant must be ascending or descending");
  if (a.n == 0) fail("-n must be positive");
  o.max_new_tokens = a.n;

  o.constrain_commands = !a.no_constrain;
  o.cancel = &g_cancel;
  const PluginRegistry registry = plugin_registry_from_config(a.config, a.image_stub);
  // A plugin without an executor (no search / image backend configured) is announced as disabled
  // in the meta instruction, so the model is never told it can call it.
  for (auto [flag, api] : {std::pair{&o.plugins.search, "Search"}, {&o.plugins.text2image, "Text2Image"},
                           {&o.plugins.calculator, "Calculate"}, {&o.plugins.solver, "Solve"}}) {
    if (*flag && !registry.find(api)) {
      *flag = false;
      std::fprintf(stderr, "moss chat: %s has no backend configured (see --config / --image-stub); disabled\n", api);
    }
  }
  std::unique_ptr<LanguageModel> lm = load_language_model(a.model.model, a.model.threads, a.model.kv_dtype());
  std::unique_ptr<Tokenizer> own_tok;
  const Tokenizer* tok = lm->tokenizer();
  if (!tok) {
    own_tok = std::make_unique<Tokenizer>(load_model_tokenizer(a.model.model));
    tok = own_tok.get();
  }
  TokenizerCodec codec(*tok);
  Conversation conv(*lm, codec, registry, o);

  const bool tty = isatty(fileno(stdout));
  Printer printer(tty);
  ChatCallbacks cb;
  cb.on_text = [&](ChatStage s, std::string_view t) { printer.text(s, t); };
  cb.on_context_cut = [&](size_t dropped, size_t kept) {
    std::fprintf(stderr, "[context window full: dropped the %zu oldest turn(s), %zu tokens kept]\n", dropped, kept);
  };
  std::signal(SIGINT, on_sigint);
  auto turn = [&](const std::string& text) {
    g_cancel.store(false);
    g_generating.store(true);
    try {
      conv.send(text, cb);
    } catch (const Error& e) {
      g_generating.store(false);
      printer.end_turn();
      std::fprintf(stderr, "moss: %s\n", e.what());
      return;
    }
    g_generating.store(false);
    printer.end_turn();
    if (g_cancel.load()) std::fprintf(stderr, "[stopped]\n");
  };

  if (!a.prompt.empty()) {
    turn(a.prompt);
    return 0;
  }
  std::fprintf(stderr, "moss chat: plugins %s. Commands: /clear /plugins [LIST] /history /exit\n",
               conv.options().plugins.to_string().c_str());
  std::string line;
  for (;;) {
    if (tty) std::fputs("\n<|Human|>: ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/clear") {
      conv.clear();
      std::fprintf(stderr, "[history cleared]\n");
      continue;
    }
    if (line == "/plugins" || line.starts_with("/plugins ")) {
      if (line.size() > 9) {
        try {
          conv.set_plugins(PluginSet::parse(line.substr(9)));
          std::fprintf(stderr, "[plugins: %s; history cleared]\n", conv.options().plugins.to_string().c_str());
        } catch (const Error& e) {
          std::fprintf(stderr, "moss: %s\n", e.what());
        }
      } else {
        std::fprintf(stderr, "[plugins: %s; available: %s]\n", conv.options().plugins.to_string().c_str(), [&] {
          std::string s;
          for (const auto& n : registry.names()) s += (s.empty() ? "" : ",") + n;
          return s;
        }().c_str());
      }
      continue;
    }
    if (line == "/history") {
      for (const Turn& t : conv.history()) std::fputs(format_turn(t, conv.options().layout).c_str(), stdout);
      continue;
    }
    if (line.empty()) continue;
    turn(line);
  }
  return 0;
}

const CommandRegistration reg("chat", "chat with a MOSS model in the terminal (streaming, plugins)", [](CLI::App& sub) {
  auto a = std::make_shared<ChatArgs>();
  a->model.add_to(sub);
  a->model.add_kv_type_to(sub);
  sub.add_option("--plugins", a->plugins, "enabled plugins: search,calculator,solver,text2image (default none)");
  sub.add_option("--layout", a->layout, "turn layout: five (plugin model) or two (sft model); default by --plugins");
  sub.add_option("--system", a->system_file, "file with the meta instruction to use verbatim");
  sub.add_option("--prompt", a->prompt, "run one turn with this text and exit");
  sub.add_option("--config", a->config, "JSON config with the search / text2image backends");
  sub.add_flag("--image-stub", a->image_stub, "answer Text2Image with success without generating an image");
  sub.add_option("--temp", a->temp, "temperature (default 0.7)");
  sub.add_option("--top-p", a->top_p, "nucleus sampling mass (default 0.8; 1 = off)");
  sub.add_option("--top-k", a->top_k, "keep the k most likely tokens (default 0 = off)");
  sub.add_option("--top-p-variant", a->top_p_variant, "ascending (HF 4.25.1, default) or descending (moss_inference)");
  sub.add_option("--repetition-penalty", a->repetition_penalty, "repetition penalty (default 1.02; 1 = off)");
  sub.add_option("--seed", a->seed, "random seed (default: random)")->each([a](const std::string&) { a->seed_set = true; });
  sub.add_flag("--greedy", a->greedy, "greedy decoding (argmax after the repetition penalty)");
  sub.add_flag("--no-constrain-commands", a->no_constrain,
               "let the model write any Commands text (default: only well-formed calls to enabled plugins)");
  sub.add_option("-n,--max-new-tokens", a->n, "most new tokens per generated stage (default 512)");
  return [a] { return run_chat(*a); };
});

}  // namespace
}  // namespace moss::cli
