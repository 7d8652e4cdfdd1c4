// See conversation.h.
#include "chat/conversation.h"

#include <algorithm>
#include <chrono>

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
  // A generated field starts with the space after its tag's colon (see generate_stage); an empty
  // one (a stage closed without text, e.g. a cancelled turn) has nothing after the tag.
  auto field = [&](const char* tag, const std::string& text, Marker end) {
    append(v, codec.encode_text(tag));
    if (!text.empty()) append(v, codec.encode_text(" " + text));
    v.push_back(codec.marker(end));
  };
  if (layout == TurnLayout::FiveField) {
    field(kOpenThoughts, t.inner_thoughts, Marker::Eot);
    field(kOpenCommands, t.commands, Marker::Eoc);
    append(v, codec.encode_text(results_text(t.results)));
    v.push_back(codec.marker(Marker::Eor));
  }
  field(kOpenAnswer, t.answer, Marker::Eom);
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

void Conversation::configure_turn(const SamplingParams& sampling, size_t max_new_tokens,
                                  const std::atomic<bool>* cancel) {
  options_.sampling = sampling;
  sampler_ = Sampler(sampling);
  if (max_new_tokens > 0) options_.max_new_tokens = max_new_tokens;
  options_.cancel = cancel;
}

void Conversation::set_plugins(const PluginSet& plugins) {
  options_.plugins = plugins;
  commands_constraint_.reset();  // built for the old plugin set
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

const TokenConstraint& Conversation::commands_constraint() {
  if (!commands_constraint_) {
    std::vector<std::string> names;
    for (const char* n : {"Search", "Calculate", "Solve", "Text2Image"})
      if (options_.plugins.enables(n)) names.emplace_back(n);
    CommandsConstraintCache* cache = options_.commands_cache;
    if (cache && &cache->codec() == &codec_)
      commands_constraint_ = cache->get(names, options_.commands_limits);
    else
      commands_constraint_ = std::make_shared<const CommandsConstraint>(codec_, names, options_.commands_limits);
  }
  return commands_constraint_->mask;
}

Conversation::StageResult Conversation::generate_stage(ChatStage stage, Marker end, const ChatCallbacks& cb,
                                                       size_t max_tokens, bool constrained, double* mask_seconds) {
  if (cancelled()) {  // close the stage without generating
    tokens_.push_back(codec_.marker(end));
    return {"", StopReason::None};
  }
  std::span<const float> logits = evaluate_pending();
  TokenLoopOptions o;
  for (Marker m : {Marker::Eoh, Marker::Eot, Marker::Eoc, Marker::Eor, Marker::Eom, Marker::EndOfText})
    o.stop.stop_ids.push_back(codec_.marker(m));
  o.stop.max_new_tokens = max_tokens ? max_tokens : options_.max_new_tokens;
  o.n_valid = codec_.n_tokens();
  ByteAutomaton::State grammar_state = 0;
  const TokenConstraint* mask = nullptr;
  if (constrained) {
    mask = &commands_constraint();
    grammar_state = commands_constraint_->grammar.start();
    o.mask = [&](std::span<float> row) {
      const auto t0 = std::chrono::steady_clock::now();
      mask->apply(grammar_state, row);
      if (mask_seconds) *mask_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
  }
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
    if (mask && !mask->is_end(t)) grammar_state = mask->advance(grammar_state, t);
    if (!codec_.is_special(t)) emit(utf8.push(codec_.token_bytes(t)));
    return !cancelled();
  };
  const GenerateResult r = generate_tokens(lm_, sampler_, tokens_, logits, o);
  emit(utf8.flush());
  // Close the stage with its own marker, whatever ended it.
  if (!r.tokens.empty() && codec_.is_special(r.tokens.back())) tokens_.back() = codec_.marker(end);
  else tokens_.push_back(codec_.marker(end));
  return {text, r.reason};
}

void Conversation::begin_turn(std::string_view user_text, const ChatCallbacks& cb) {
  const bool five = options_.layout == TurnLayout::FiveField;
  std::vector<int32_t> chunk = codec_.encode_text(std::string(kHumanTag) + std::string(user_text));
  chunk.push_back(codec_.marker(Marker::Eoh));
  {
    const std::vector<int32_t> tag = codec_.encode_text(five ? kOpenThoughts : kOpenAnswer);
    chunk.insert(chunk.end(), tag.begin(), tag.end());
  }
  make_room(chunk.size(), false, cb);
  turn_starts_.push_back(tokens_.size());
  tokens_.insert(tokens_.end(), chunk.begin(), chunk.end());
}

void Conversation::undo_turn() {
  if (turn_starts_.empty()) return;
  const size_t start = turn_starts_.back();
  turn_starts_.pop_back();
  tokens_.resize(start);
  if (lm_.n_past() > start) lm_.truncate(start);
}

// Upper bound on the tokens of a constrained Commands stage: every token carries at least one
// byte, the grammar's longest text is max_calls calls of (31-byte name + `("` + arg + `")`) joined
// by ", " after a leading space, plus the <eoc> token.
static size_t commands_budget(const CommandsLimits& l) {
  const size_t calls = static_cast<size_t>(l.max_calls), arg = static_cast<size_t>(l.max_arg_bytes);
  return 1 + calls * (31 + 4 + arg) + 2 * (calls - 1) + 1;
}

Conversation::CommandsSample Conversation::sample_commands(std::string_view user_text) {
  if (options_.layout != TurnLayout::FiveField) fail("the Commands stage exists only in the five-field (plugin) layout");
  CommandsSample out;
  begin_turn(user_text, {});
  try {
    StageResult th = generate_stage(ChatStage::InnerThoughts, Marker::Eot, {}, options_.max_thought_tokens);
    out.inner_thoughts = th.text;
    const std::vector<int32_t> ctag = codec_.encode_text(kOpenCommands);
    make_room(ctag.size(), true, {});
    tokens_.insert(tokens_.end(), ctag.begin(), ctag.end());
    const size_t before = tokens_.size();
    const auto t0 = std::chrono::steady_clock::now();
    const bool constrained = options_.constrain_commands;
    StageResult cm = generate_stage(ChatStage::Commands, Marker::Eoc, {},
                                    constrained ? commands_budget(options_.commands_limits) : 0, constrained,
                                    &out.mask_seconds);
    out.commands_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.commands = cm.text;
    out.commands_stop = cm.stop;
    out.commands_tokens = tokens_.size() - before;
  } catch (...) {
    undo_turn();
    throw;
  }
  undo_turn();
  return out;
}

void Conversation::restore(const std::vector<Turn>& turns) {
  for (const Turn& turn : turns) {
    const std::vector<int32_t> chunk = turn_tokens(turn, options_.layout, codec_);
    make_room(chunk.size(), false, {});
    turn_starts_.push_back(tokens_.size());
    tokens_.insert(tokens_.end(), chunk.begin(), chunk.end());
    history_.push_back(turn);
  }
}

TurnReport Conversation::send(std::string_view user_text, const ChatCallbacks& cb) {
  const bool five = options_.layout == TurnLayout::FiveField;
  begin_turn(user_text, cb);
  TurnReport rep;
  rep.turn.human = std::string(user_text);
  try {
    if (five) {
      StageResult th = generate_stage(ChatStage::InnerThoughts, Marker::Eot, cb, options_.max_thought_tokens);
      rep.turn.inner_thoughts = th.text;
      rep.thoughts_stop = th.stop;
      const std::vector<int32_t> ctag = codec_.encode_text(kOpenCommands);
      make_room(ctag.size(), true, cb);
      tokens_.insert(tokens_.end(), ctag.begin(), ctag.end());
      const bool constrained = options_.constrain_commands;
      StageResult cm = generate_stage(ChatStage::Commands, Marker::Eoc, cb,
                                      constrained ? commands_budget(options_.commands_limits) : 0, constrained);
      rep.turn.commands = cm.text;
      rep.commands_stop = cm.stop;

      // A cancelled turn runs no plugin: its Results field is the plain "None" form.
      ResultsOutcome res = run_commands(parse_commands(cancelled() ? "None" : cm.text), options_.plugins, registry_);
      rep.calls = res.calls;
      rep.turn.results = res.field;
      if (cb.on_text) cb.on_text(ChatStage::Results, res.field.body);
      if (cb.on_calls) cb.on_calls(res.calls);
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
    undo_turn();  // leave the conversation as it was before this turn
    throw;
  }
  history_.push_back(rep.turn);
  return rep;
}

}  // namespace moss
