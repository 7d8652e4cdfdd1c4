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
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/codec.h"
#include "chat/prompt.h"
#include "chat/results.h"
#include "generate/language_model.h"
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
};

struct ChatCallbacks {
  // Text as it is generated, whole UTF-8 characters, with its stage (Results comes in one piece).
  std::function<void(ChatStage, std::string_view)> on_text;
  // Oldest turns were dropped from the model context: how many, and the tokens kept.
  std::function<void(size_t dropped_turns, size_t kept_tokens)> on_context_cut;
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
  StageResult generate_stage(ChatStage stage, Marker end, const ChatCallbacks& cb);

  LanguageModel& lm_;
  const ChatCodec& codec_;
  const PluginRegistry& registry_;
  ChatOptions options_;
  Sampler sampler_;
  std::vector<int32_t> tokens_;       // meta + turns; tokens_[0, lm_.n_past()) are evaluated
  size_t meta_len_ = 0;
  std::vector<size_t> turn_starts_;   // offsets in tokens_ of the turns still in the context
  std::vector<Turn> history_;
};

}  // namespace moss
