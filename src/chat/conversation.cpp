// See conversation.h.
#include "chat/conversation.h"

#include <algorithm>

#include "generate/token_loop.h"
#include "util/error.h"

namespace moss {

namespace {
// The text pieces the program writes around the generated fields (see the layout in the header).
constexpr const char* kOpenThoughts = "\n<|Inner Thoughts|>:";
constexpr const char* kOpenCommands = "\n<|Commands|>:";
constexpr const char* kOpenAnswer = "\n<|MOSS|>:";
std::string results_text(const ResultsField& r) {
  return r.inline_form ? "\n<|Results|>: " + r.body : "\n<|Results|>:\n" + r.body + "\n";
}
void append(std::vector<int32_t>& v, const std::vector<int32_t>& more) { v.insert(v.end(), more.begin(), more.end()); }
}  // namespace

std::vector<int32_t> Conversation::turn_tokens(const Turn& t, TurnLayout layout, const ChatCodec& codec) {
  std::vector<int32_t> v = codec.encode_text(std::string(kHumanTag) + t.human);
  v.push_back(codec.marker(Marker::Eoh));
  if (layout == TurnLayout::FiveField) {
    append(v, codec.encode_text(kOpenThoughts));
    append(v, codec.encode_text(" " + t.inner_thoughts));
    v.push_back(codec.marker(Marker::Eot));
    append(v, codec.encode_text(kOpenCommands));
    append(v, codec.encode_text(" " + t.commands));
    v.push_back(codec.marker(Marker::Eoc));
    append(v, codec.encode_text(results_text(t.results)));
    v.push_back(codec.marker(Marker::Eor));
  }
  append(v, codec.encode_text(kOpenAnswer));
  append(v, codec.encode_text(" " + t.answer));
  v.push_back(codec.marker(Marker::Eom));
  append(v, codec.encode_text("\n"));
  return v;
}

const char* chat_stage_name(ChatStage s) {
  switch (s) {
    case ChatStage::InnerThoughts: return "inner_thoughts";
    case ChatStage::Commands: return "commands";
    case ChatStage::Results: return "results";
    case ChatStage::Answer: return "answer";
  }
  return "?";
}

Conversation::Conversation(LanguageModel& lm, const ChatCodec& codec, const PluginRegistry& registry,
                           ChatOptions options)
    : lm_(lm), codec_(codec), registry_(registry), options_(std::move(options)), sampler_(options_.sampling) {
  if (codec_.n_tokens() > lm_.n_vocab()) fail("tokenizer has more tokens than the model's logits row");
  lm_.truncate(0);
  reset_tokens();
}

std::string Conversation::meta_instruction() const {
  if (!options_.meta_instruction.empty()) return options_.meta_instruction;
  return options_.layout == TurnLayout::FiveField ? moss::meta_instruction(options_.plugins) : meta_instruction_base();
}

void Conversation::reset_tokens() {
  std::vector<int32_t> fresh = codec_.encode_text(meta_instruction());
  // Keep whatever evaluated prefix is still valid.
  size_t common = 0;
  while (common < fresh.size() && common < tokens_.size() && fresh[common] == tokens_[common]) ++common;
  if (lm_.n_past() > common) lm_.truncate(common);
  tokens_ = std::move(fresh);
  meta_len_ = tokens_.size();
  if (meta_len_ + 1 > static_cast<size_t>(lm_.n_ctx())) fail("the meta instruction does not fit the context window");
  turn_starts_.clear();
}

void Conversation::clear() {
  history_.clear();
  reset_tokens();
}

void Conversation::set_plugins(const PluginSet& plugins) {
  options_.plugins = plugins;
  clear();
}

void Conversation::append_text(std::string_view text) {
  const std::vector<int32_t> ids = codec_.encode_text(text);
  tokens_.insert(tokens_.end(), ids.begin(), ids.end());
}


std::span<const float> Conversation::evaluate_pending() {
  const size_t past = lm_.n_past();
  if (past >= tokens_.size()) fail("chat: nothing to evaluate");
  return lm_.eval(std::span<const int32_t>(tokens_.data() + past, tokens_.size() - past));
}

void Conversation::make_room(size_t incoming, bool current_turn_open, const ChatCallbacks& cb) {
  const size_t n_ctx = static_cast<size_t>(lm_.n_ctx());
  const size_t reserve = std::min(options_.reserve_tokens, n_ctx / 2);
  const size_t keep_last = current_turn_open ? 1 : 0;  // the turn in progress is never dropped
  size_t dropped = 0;
  while (tokens_.size() + incoming + reserve > n_ctx && turn_starts_.size() > keep_last + dropped) ++dropped;
  if (dropped > 0) {
    const size_t from = turn_starts_[0];
    const size_t to = dropped < turn_starts_.size() ? turn_starts_[dropped] : tokens_.size();
    tokens_.erase(tokens_.begin() + from, tokens_.begin() + to);
    turn_starts_.erase(turn_starts_.begin(), turn_starts_.begin() + dropped);
    for (size_t& s : turn_starts_) s -= to - from;
    if (lm_.n_past() > from) lm_.truncate(from);
    if (cb.on_context_cut) cb.on_context_cut(dropped, tokens_.size());
  }
  if (tokens_.size() + incoming > n_ctx)
    fail("the turn does not fit the context window (", tokens_.size() + incoming, " > ", n_ctx, " tokens)");
}

Conversation::StageResult Conversation::generate_stage(ChatStage stage, Marker end, const ChatCallbacks& cb) {
  std::span<const float> logits = evaluate_pending();
  TokenLoopOptions o;
  for (Marker m : {Marker::Eoh, Marker::Eot, Marker::Eoc, Marker::Eor, Marker::Eom, Marker::EndOfText})
    o.stop.stop_ids.push_back(codec_.marker(m));
  o.stop.max_new_tokens = options_.max_new_tokens;
  o.n_valid = codec_.n_tokens();
  Utf8Assembler utf8;
  bool at_start = true;
  std::string text;
  auto emit = [&](std::string piece) {
    // The space after the role tag's colon belongs to the format, not to the text.
    if (at_start && !piece.empty()) {
      if (piece[0] == ' ') piece.erase(0, 1);
      at_start = false;
    }
    if (piece.empty()) return;
    text += piece;
    if (cb.on_text) cb.on_text(stage, piece);
  };
  o.on_token = [&](int32_t t) {
    if (!codec_.is_special(t)) emit(utf8.push(codec_.token_bytes(t)));
    return true;
  };
  const GenerateResult r = generate_tokens(lm_, sampler_, tokens_, logits, o);
  emit(utf8.flush());
  // Close the stage with its own marker, whatever ended it.
  if (!r.tokens.empty() && codec_.is_special(r.tokens.back())) tokens_.back() = codec_.marker(end);
  else tokens_.push_back(codec_.marker(end));
  return {text, r.reason};
}

TurnReport Conversation::send(std::string_view user_text, const ChatCallbacks& cb) {
  const bool five = options_.layout == TurnLayout::FiveField;
  std::vector<int32_t> chunk = codec_.encode_text(std::string(kHumanTag) + std::string(user_text));
  chunk.push_back(codec_.marker(Marker::Eoh));
  {
    const std::vector<int32_t> tag = codec_.encode_text(five ? kOpenThoughts : kOpenAnswer);
    chunk.insert(chunk.end(), tag.begin(), tag.end());
  }
  make_room(chunk.size(), false, cb);
  const size_t turn_start = tokens_.size();
  turn_starts_.push_back(turn_start);
  tokens_.insert(tokens_.end(), chunk.begin(), chunk.end());

  TurnReport rep;
  rep.turn.human = std::string(user_text);
  try {
    if (five) {
      StageResult th = generate_stage(ChatStage::InnerThoughts, Marker::Eot, cb);
      rep.turn.inner_thoughts = th.text;
      rep.thoughts_stop = th.stop;
      const std::vector<int32_t> ctag = codec_.encode_text(kOpenCommands);
      make_room(ctag.size(), true, cb);
      tokens_.insert(tokens_.end(), ctag.begin(), ctag.end());
      StageResult cm = generate_stage(ChatStage::Commands, Marker::Eoc, cb);
      rep.turn.commands = cm.text;
      rep.commands_stop = cm.stop;

      ResultsOutcome res = run_commands(parse_commands(cm.text), options_.plugins, registry_);
      rep.calls = res.calls;
      rep.turn.results = res.field;
      if (cb.on_text) cb.on_text(ChatStage::Results, res.field.body);
      std::vector<int32_t> rchunk = codec_.encode_text(results_text(res.field));
      rchunk.push_back(codec_.marker(Marker::Eor));
      const std::vector<int32_t> mtag = codec_.encode_text(kOpenAnswer);
      rchunk.insert(rchunk.end(), mtag.begin(), mtag.end());
      make_room(rchunk.size(), true, cb);
      tokens_.insert(tokens_.end(), rchunk.begin(), rchunk.end());
    }
    StageResult an = generate_stage(ChatStage::Answer, Marker::Eom, cb);
    rep.turn.answer = an.text;
    rep.answer_stop = an.stop;
    append_text("\n");  // the turn's trailing newline; evaluated with the next turn
  } catch (...) {
    // Leave the conversation as it was before this turn.
    if (!turn_starts_.empty()) {
      const size_t start = turn_starts_.back();
      turn_starts_.pop_back();
      tokens_.resize(start);
      if (lm_.n_past() > start) lm_.truncate(start);
    }
    throw;
  }
  history_.push_back(rep.turn);
  return rep;
}

}  // namespace moss
