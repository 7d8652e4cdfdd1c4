// The chat loop (spec 4.9): a conversation holds the token history and a LanguageModel; each user
// turn is appended, the Inner Thoughts + Commands stage is generated, the commands are run through
// the plugin registry, the Results block is appended, and the answer is generated until <eom>.
//
// Token layout per turn, five-field (plugin model), with [x] = marker ids inserted by the program
// and everything else encoded as plain text (never parsed for special tokens):
//   "\n"(only after a previous turn) "<|Human|>: {user}" [eoh] "\n<|Inner Thoughts|>:"
//   {generated thoughts} [eot] "\n<|Commands|>:" {generated commands} [eoc]
//   "\n<|Results|>:\n{body}\n" [eor] "\n<|MOSS|>:" {generated answer} [eom]
// which is exactly the SFT text (spec 4.1) split at the markers. The role tags after each marker
// are written by the program rather than left to the model: the model was trained to emit exactly
// these, and writing them keeps a sampled stray token from breaking the structure. Two-field
// (plain sft model): "<|Human|>: {user}" [eoh] "\n<|MOSS|>:" {answer} [eom].
// A stage that ends in another special token, or at the token limit, is closed with its proper
// marker, so the history always has the training layout.
//
// Only tokens not yet in the model's context are evaluated. When a turn would not fit into n_ctx
// (with `reserve_tokens` left for generation), the oldest whole turns are dropped (the cut is at a
// turn start, i.e. a "<|Human|>" boundary, the meta instruction is kept), the model context is
// truncated to the meta instruction and the kept turns are re-evaluated; on_context_cut reports it.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chat/codec.h"
#include "chat/commands_constraint_cache.h"
#include "chat/prompt.h"
#include "chat/results.h"
#include "generate/commands_automaton.h"
#include "generate/language_model.h"
#include "generate/token_constraint.h"
#include "generate/sampler.h"
#include "generate/stop_rules.h"
#include "plugins/registry.h"

namespace moss {

enum class ChatStage { InnerThoughts, Commands, Results, Answer };
const char* chat_stage_name(ChatStage s);

struct ChatOptions {
  PluginSet plugins;
  TurnLayout layout = TurnLayout::FiveField;
  // Empty: meta_instruction(plugins) for five-field, the base text M0 for two-field (as the demos).
  std::string meta_instruction;
  SamplingParams sampling;
  size_t max_new_tokens = 512;  // per generated stage (moss_inference default)
  size_t reserve_tokens = 256;  // room kept free for generation when deciding to cut history
  // Inner thoughts end within this many tokens (then <eot> is written by the program), so even a
  // weak model always reaches the Commands stage.
  size_t max_thought_tokens = 256;
  // Constrained decoding of the Commands stage (generate/commands_automaton.h): only `None` or
  // well-formed calls to the ENABLED plugins can be generated, ending with <eoc>. The limits bound
  // the stage's length, so it always ends well-formed.
  bool constrain_commands = true;
  CommandsLimits commands_limits{.max_calls = 4, .max_arg_bytes = 160};
  // Where the constraint comes from: a cache shared by the conversations of one vocabulary (the
  // server's engine keeps one); null, or a cache for another codec: built for this conversation.
  CommandsConstraintCache* commands_cache = nullptr;
  // Checked between tokens; when set, generation stops and the remaining stages of the turn are
  // closed without generating (no plugin runs), so the history keeps the training layout.
  const std::atomic<bool>* cancel = nullptr;
};

struct ChatCallbacks {
  // Text as it is generated, whole UTF-8 characters, with its stage (Results comes in one piece).
  std::function<void(ChatStage, std::string_view)> on_text;
  // Oldest turns were dropped from the model context: how many, and the tokens kept.
  std::function<void(size_t dropped_turns, size_t kept_tokens)> on_context_cut;
  // The outcomes of the turn's plugin calls, right after the Results text (before the answer), so
  // a frontend can show what they produced (e.g. the pictures in CallOutcome::images) at once.
  std::function<void(const std::vector<CallOutcome>&)> on_calls;
};

struct TurnReport {
  Turn turn;
  std::vector<CallOutcome> calls;
  StopReason thoughts_stop = StopReason::None, commands_stop = StopReason::None, answer_stop = StopReason::None;
};

class Conversation {
 public:
  Conversation(LanguageModel& lm, const ChatCodec& codec, const PluginRegistry& registry, ChatOptions options);

  // Runs one user turn. Throws moss::Error if the turn cannot fit into the context window even
  // after dropping every earlier turn.
  TurnReport send(std::string_view user_text, const ChatCallbacks& callbacks = {});
  // Runs only the Inner Thoughts and Commands stages of a turn for `user_text` and then undoes the
  // turn (the context keeps its evaluated prefix, so repeated samples are cheap). For inspecting
  // and measuring the command stage (`moss commands`).
  struct CommandsSample {
    std::string inner_thoughts, commands;
    StopReason commands_stop = StopReason::None;
    size_t commands_tokens = 0;
    double commands_seconds = 0;  // wall time of the Commands stage
    double mask_seconds = 0;      // of which spent computing the constraint mask
  };
  CommandsSample sample_commands(std::string_view user_text);
  // Appends finished turns (e.g. a stored conversation) without generating; they are evaluated
  // with the next turn. Oldest turns are dropped if they do not fit, as in send().
  void restore(const std::vector<Turn>& turns);
  // Per-turn settings for a long-lived conversation (the server reuses one across requests):
  // sampling (re-seeds the sampler), the per-stage token limit and the cancel flag.
  void configure_turn(const SamplingParams& sampling, size_t max_new_tokens, const std::atomic<bool>* cancel);
  bool cancelled() const { return options_.cancel && options_.cancel->load(std::memory_order_relaxed); }
  // Forgets the turns (the meta instruction stays evaluated).
  void clear();
  // Changes the enabled plugins; the meta instruction changes, so the conversation is cleared.
  void set_plugins(const PluginSet& plugins);

  const ChatOptions& options() const { return options_; }
  const std::vector<Turn>& history() const { return history_; }  // every finished turn
  size_t turns_in_context() const { return turn_starts_.size(); }
  const std::vector<int32_t>& tokens() const { return tokens_; }  // the whole context, pending included
  std::string meta_instruction() const;

  // The tokens a finished turn occupies in the context when the model's generated tokens are the
  // codec's encoding of " " + field (the space after the role tag's colon) — i.e. the layout above.
  static std::vector<int32_t> turn_tokens(const Turn& turn, TurnLayout layout, const ChatCodec& codec);

 private:
  struct StageResult {
    std::string text;
    StopReason stop;
  };
  void reset_tokens();
  void append_text(std::string_view text);
  std::span<const float> evaluate_pending();
  void make_room(size_t incoming, bool current_turn_open, const ChatCallbacks& cb);
  StageResult generate_stage(ChatStage stage, Marker end, const ChatCallbacks& cb, size_t max_tokens = 0,
                             bool constrained = false, double* mask_seconds = nullptr);
  void begin_turn(std::string_view user_text, const ChatCallbacks& cb);
  void undo_turn();
  const TokenConstraint& commands_constraint();

  LanguageModel& lm_;
  const ChatCodec& codec_;
  const PluginRegistry& registry_;
  ChatOptions options_;
  Sampler sampler_;
  std::vector<int32_t> tokens_;       // meta + turns; tokens_[0, lm_.n_past()) are evaluated
  size_t meta_len_ = 0;
  std::vector<size_t> turn_starts_;   // offsets in tokens_ of the turns still in the context
  std::vector<Turn> history_;
  // Built on first use for the enabled plugins (pre-indexing the vocabulary takes a moment).
  std::shared_ptr<const CommandsConstraint> commands_constraint_;
};

}  // namespace moss
