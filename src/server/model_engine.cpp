// ModelEngine: conversation slots with their KV caches, per-turn options, streaming and stop
// strings, usage counts.
#include "server/model_engine.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include "chat/codec.h"
#include "chat/conversation.h"
#include "generate/batched_model.h"
#include "model/model.h"
#include "plugins/registry.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss::server {

// One cached conversation: its model session (KV cache) and chat state. `key` captures everything
// that changes the token layout (plugins, layout, meta instruction); `records` the turns it holds.
struct ModelEngine::Slot {
  std::unique_ptr<LanguageModel> session;
  std::unique_ptr<Conversation> conversation;
  std::string key;
  std::vector<TurnRecord> records;
  std::chrono::steady_clock::time_point last_used;
  bool busy = false;
};

namespace {

bool same_record(const TurnRecord& a, const TurnRecord& b) {
  return a.human == b.human && a.inner_thoughts == b.inner_thoughts && a.commands == b.commands &&
         a.results == b.results && a.answer == b.answer;
}

Turn to_turn(const TurnRecord& r) {
  Turn t;
  t.human = r.human;
  t.inner_thoughts = r.inner_thoughts;
  t.commands = r.commands;
  t.results.body = r.results;
  // The SFT data writes the Text2Image result inline (spec 7.1); the record says which form it had.
  t.results.inline_form = r.results_inline;
  t.answer = r.answer;
  return t;
}

Stage to_stage(ChatStage s) {
  switch (s) {
    case ChatStage::InnerThoughts: return Stage::inner_thoughts;
    case ChatStage::Commands: return Stage::commands;
    case ChatStage::Results: return Stage::results;
    case ChatStage::Answer: break;
  }
  return Stage::answer;
}

}  // namespace

ModelEngine::ModelEngine(ModelEngineOptions options) : options_(std::move(options)) {
  if (options_.layout != "auto" && options_.layout != "five" && options_.layout != "two")
    fail("layout must be auto, five or two");
  name_ = std::filesystem::path(options_.model_path).filename().string();
  if (name_.empty()) name_ = std::filesystem::path(options_.model_path).parent_path().filename().string();
  auto model = Model::load(options_.model_path, options_.threads, options_.kv_type);
  if (const std::string hint = model->layout_hint(); !hint.empty()) std::fprintf(stderr, "moss serve: %s\n", hint.c_str());
  model_ = std::make_unique<BatchedModel>(std::move(model), BatchOptions{.max_batch_tokens = options_.max_batch_tokens});
  registry_ = std::make_unique<PluginRegistry>(plugin_registry_from_config(options_.plugin_config, options_.image_stub));
  codec_ = std::make_unique<TokenizerCodec>(model_->tokenizer());
  commands_cache_ = std::make_unique<CommandsConstraintCache>(*codec_);
}

ModelEngine::~ModelEngine() = default;

std::shared_ptr<ModelEngine::Slot> ModelEngine::acquire(const TurnRequest& req, const std::string& key,
                                                        bool& reused) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(req.conversation_id);
  if (it != slots_.end() && !it->second->busy && it->second->key == key &&
      it->second->records.size() == req.history.size() &&
      std::equal(req.history.begin(), req.history.end(), it->second->records.begin(), same_record)) {
    reused = true;
    it->second->busy = true;
    ++running_;
    return it->second;
  }
  reused = false;
  // Evict the least recently used idle slots to make room (their KV caches are freed).
  while (slots_.size() >= options_.max_cached_conversations) {
    auto victim = slots_.end();
    for (auto s = slots_.begin(); s != slots_.end(); ++s)
      if (!s->second->busy && (victim == slots_.end() || s->second->last_used < victim->second->last_used)) victim = s;
    if (victim == slots_.end()) break;  // all busy: go over the limit for now
    slots_.erase(victim);
  }
  auto slot = std::make_shared<Slot>();
  slot->key = key;
  slot->busy = true;
  ++running_;
  return slot;
}

void ModelEngine::release(const std::string& conversation_id, const std::shared_ptr<Slot>& slot) {
  std::lock_guard<std::mutex> lock(mu_);
  slot->busy = false;
  slot->last_used = std::chrono::steady_clock::now();
  --running_;
  if (slot->conversation) slots_[conversation_id] = slot;
}

TurnResult ModelEngine::run_turn(const TurnRequest& req, const TurnCallbacks& callbacks) {
  // ---- options of this turn ----
  ChatOptions o;
  for (const auto& p : req.plugins) {
    if (p == "Search") o.plugins.search = true;
    else if (p == "Calculate") o.plugins.calculator = true;
    else if (p == "Solve") o.plugins.solver = true;
    else if (p == "Text2Image") o.plugins.text2image = true;
    else fail("unknown plugin ", p);
  }
  // A plugin without an executor is announced as disabled, so the model never calls it.
  for (auto [flag, api] : {std::pair{&o.plugins.search, "Search"}, {&o.plugins.text2image, "Text2Image"},
                           {&o.plugins.calculator, "Calculate"}, {&o.plugins.solver, "Solve"}})
    if (*flag && !registry_->find(api)) *flag = false;
  o.plugins.inner_thoughts = o.plugins.any_tool() || options_.layout == "five";
  const bool five = options_.layout == "five" || (options_.layout == "auto" && o.plugins.any_tool());
  o.layout = five ? TurnLayout::FiveField : TurnLayout::TwoField;
  if (!req.system_prompt.empty()) {
    // MOSS has its own meta instruction (spec 5); an OpenAI system message is appended to it.
    o.meta_instruction = (five ? meta_instruction(o.plugins) : meta_instruction_base()) + req.system_prompt;
    if (o.meta_instruction.back() != '\n') o.meta_instruction += '\n';
  }
  o.constrain_commands = req.constrain_commands.value_or(options_.constrain_commands);
  o.max_thought_tokens = options_.max_thought_tokens;
  o.commands_cache = commands_cache_.get();
  const std::string key = std::string(five ? "5|" : "2|") + o.plugins.to_string() + "|" +
                          (o.constrain_commands ? "c|" : "u|") + o.meta_instruction;

  moss::SamplingParams sp;
  sp.greedy = req.sampling.temperature <= 0.0f;
  sp.temperature = sp.greedy ? 1.0f : req.sampling.temperature;
  sp.top_p = req.sampling.top_p;
  sp.top_k = req.sampling.top_k;
  sp.repetition_penalty = req.sampling.repetition_penalty;
  sp.seed = req.sampling.seed ? *req.sampling.seed : std::random_device{}();

  // ---- the conversation: cached (only new tokens run) or rebuilt from the records ----
  bool reused = false;
  std::shared_ptr<Slot> slot = acquire(req, key, reused);
  std::atomic<bool> stop_now{false};
  TurnResult result;
  try {
    if (!reused) {
      slot->session = model_->new_session();
      slot->conversation = std::make_unique<Conversation>(*slot->session, *codec_, *registry_, o);
      std::vector<Turn> turns;
      for (const auto& r : req.history) turns.push_back(to_turn(r));
      slot->conversation->restore(turns);
      slot->records = req.history;
    }
    Conversation& conv = *slot->conversation;
    size_t max_new = static_cast<size_t>(std::max(1, req.sampling.max_tokens));
    const size_t before = conv.tokens().size();
    if (req.sampling.max_length > 0) {
      const size_t limit = static_cast<size_t>(req.sampling.max_length);
      if (before >= limit) fail("the conversation already has ", before, " tokens, max_length is ", limit);
      max_new = std::min(max_new, limit - before);
    }
    conv.configure_turn(sp, max_new, &stop_now);

    // Stop strings end the answer; the answer is streamed with a hold-back of the longest stop
    // string minus one byte so that a stop string is never partly sent.
    size_t hold = 0;
    for (const auto& s : req.sampling.stop) hold = std::max(hold, s.size() > 0 ? s.size() - 1 : 0);
    std::string answer, pending;
    bool stopped_by_string = false;
    ChatCallbacks cb;
    cb.on_text = [&](ChatStage stage, std::string_view piece) {
      if (req.cancel && req.cancel->load()) stop_now = true;
      if (stage != ChatStage::Answer || req.sampling.stop.empty()) {
        if (stage == ChatStage::Answer) answer += piece;
        if (callbacks.on_piece) callbacks.on_piece(to_stage(stage), piece);
        return;
      }
      if (stopped_by_string) return;
      pending += piece;
      size_t cut = std::string::npos;
      for (const auto& s : req.sampling.stop) cut = std::min(cut, pending.find(s));
      if (cut != std::string::npos) {
        pending.resize(cut);
        stopped_by_string = true;
        stop_now = true;
      }
      const size_t keep = stopped_by_string ? 0 : std::min(hold, pending.size());
      const std::string out = pending.substr(0, pending.size() - keep);
      pending.erase(0, pending.size() - keep);
      answer += out;
      if (!out.empty() && callbacks.on_piece) callbacks.on_piece(Stage::answer, out);
    };
    cb.on_calls = [&](const std::vector<CallOutcome>& calls) {  // saved pictures, before the answer
      for (const auto& call : calls)
        for (const auto& image : call.images)
          if (callbacks.on_image) callbacks.on_image(image.name);
    };
    const TurnReport rep = conv.send(req.prompt, cb);
    conv.configure_turn(sp, 0, nullptr);  // stop_now dies with this call
    if (!stopped_by_string && !pending.empty()) {
      answer += pending;
      if (callbacks.on_piece) callbacks.on_piece(Stage::answer, pending);
    }

    result.record.human = req.prompt;
    result.record.inner_thoughts = rep.turn.inner_thoughts;
    result.record.commands = rep.turn.commands;
    result.record.results = rep.turn.results.body;
    result.record.results_inline = rep.turn.results.inline_form;
    for (const auto& call : rep.calls)
      for (const auto& image : call.images) result.record.images.push_back(image.name);
    result.record.answer = answer;
    const bool cancelled = req.cancel && req.cancel->load();
    if (cancelled) result.finish_reason = "cancelled";
    else if (stopped_by_string) result.finish_reason = "stop";
    else if (rep.answer_stop == StopReason::MaxNewTokens || rep.answer_stop == StopReason::MaxLength)
      result.finish_reason = "length";
    else result.finish_reason = "stop";
    // Usage: what the model read before this turn's generation vs what this turn added (the
    // program-written role tags and markers of the turn count as completion).
    const size_t human_tokens = codec_->encode_text(req.prompt).size();
    result.usage.prompt_tokens = static_cast<int>(before + human_tokens);
    result.usage.completion_tokens = static_cast<int>(conv.tokens().size() - before - human_tokens);
    // The cached conversation now holds the turn as the model produced it; the server stores the
    // record as returned, so the next request's history matches unless a stop string cut it.
    slot->records.push_back(result.record);
    if (stopped_by_string) slot->conversation.reset();  // its tokens run past the stored answer
  } catch (...) {
    slot->conversation.reset();
    release(req.conversation_id, slot);
    throw;
  }
  release(req.conversation_id, slot);
  return result;
}

EngineStats ModelEngine::stats() const {
  const BatchStats b = model_->stats();
  EngineStats s;
  s.queue_depth = static_cast<int>(b.queued);
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.running = running_;
  }
  s.kv_used_tokens = b.kv_used;
  s.kv_capacity_tokens = b.kv_capacity;
  s.kv_used_bytes = b.kv_bytes_used;
  s.batch_steps = b.steps;
  s.batch_tokens = b.tokens;
  return s;
}

}  // namespace moss::server
