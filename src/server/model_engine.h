// The real ChatEngine: a MOSS model behind continuous batching (generate/batched_model.h) and the
// plugin loop (chat/conversation.h). Each request thread runs its own conversation; their forward
// passes are merged step by step by the BatchedModel, so concurrent answers share decode steps and a
// new request joins at the next step. The conversation of each id keeps its KV cache between turns
// (least recently used ones are evicted beyond max_cached_conversations), so a follow-up turn
// processes only its new tokens; a conversation whose stored history differs from the cached one
// (edited, regenerated, evicted) is rebuilt from the records.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "server/chat_engine.h"
#include "tensor/dtype.h"

namespace moss {
class BatchedModel;
class CommandsConstraintCache;
class PluginRegistry;
class TokenizerCodec;
}  // namespace moss

namespace moss::server {

struct ModelEngineOptions {
  std::string model_path;
  int threads = 0;
  DType kv_type = DType::F32;           // KV cache element type (f32 exact, f16 half the memory)
  int max_batch_tokens = 256;           // tokens per forward step (long prefills are chunked)
  size_t max_cached_conversations = 16; // KV caches kept between turns
  std::string plugin_config;            // JSON with search / text2image backends ("" = none)
  bool image_stub = false;              // Text2Image succeeds without generating (demo)
  std::string layout = "auto";          // "five" (plugin model), "two" (sft model), "auto": five iff plugins
  bool constrain_commands = true;       // the request field constrain_commands overrides it
  size_t max_thought_tokens = 256;
};

class ModelEngine : public ChatEngine {
 public:
  explicit ModelEngine(ModelEngineOptions options);
  ~ModelEngine() override;

  std::string model_name() const override { return name_; }
  TurnResult run_turn(const TurnRequest& request, const TurnCallbacks& callbacks) override;
  EngineStats stats() const override;

 private:
  struct Slot;
  std::shared_ptr<Slot> acquire(const TurnRequest& request, const std::string& key, bool& reused);
  void release(const std::string& conversation_id, const std::shared_ptr<Slot>& slot);

  ModelEngineOptions options_;
  std::string name_;
  std::unique_ptr<BatchedModel> model_;
  std::unique_ptr<PluginRegistry> registry_;
  std::unique_ptr<TokenizerCodec> codec_;
  // One Commands constraint per plugin set for all conversations (not one per conversation).
  std::unique_ptr<CommandsConstraintCache> commands_cache_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Slot>> slots_;  // by conversation id
  int running_ = 0;
};

}  // namespace moss::server
