// The seam between the HTTP server and the model. The server builds a TurnRequest (conversation
// history, new prompt, plugins, sampling) and calls ChatEngine::run_turn on its request thread; the
// engine streams stage-tagged text pieces through TurnCallbacks and finishes with the whole record
// and token usage. The real engine (continuous batching over the model) implements this interface;
// FakeEngine (fake_engine.h) implements it for tests and for `moss serve -m fake:`.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moss::server {

// The five fields of one MOSS turn (spec 4.1): what the human said and what MOSS produced.
struct TurnRecord {
  std::string human;
  std::string inner_thoughts;  // "" when the model wrote none (non-plugin model)
  std::string commands;        // raw Commands line, e.g. `Calculate("1+1")` or "None"
  std::string results;         // raw Results block as fed back to the model
  std::string answer;          // the MOSS answer shown to the user
  // File names of the pictures the plugins saved this turn (Text2Image), in call order; served to
  // the owner at /api/images/NAME. Never taken from client input.
  std::vector<std::string> images = {};
  // The Results field is in the data's one-line form `<|Results|>: Image generated successfully.`
  // (all calls were successful Text2Image calls, spec 7.6) rather than the block form.
  bool results_inline = false;
};

// Which part of a turn a streamed piece belongs to (the MOSS plugin stages, spec 4.9).
enum class Stage { inner_thoughts, commands, results, answer };
const char* stage_name(Stage s);  // "inner_thoughts", "commands", "results", "answer"

struct SamplingParams {
  float temperature = 0.7f;          // 0 = greedy
  float top_p = 0.8f;
  int top_k = 40;                    // 0 = off
  float repetition_penalty = 1.02f;  // 1 = off
  std::optional<uint64_t> seed;      // unset: the engine picks one
  int max_tokens = 512;              // new tokens of the answer (and of each plugin stage)
  int max_length = 0;                // > 0: limit on prompt + generated tokens (moss_api_demo's max_length)
  std::vector<std::string> stop;     // extra stop strings for the answer; not included in the output
};

struct TurnRequest {
  std::string conversation_id;
  std::vector<TurnRecord> history;   // earlier turns, oldest first
  std::string prompt;                // the new human message
  std::vector<std::string> plugins;  // enabled plugin API names ("Search", "Calculate", ...); empty = none
  // Text of OpenAI "system" messages, "" when none. MOSS has its own meta instruction (spec 5); the
  // engine decides how to use this (e.g. append it to the meta instruction).
  std::string system_prompt;
  SamplingParams sampling;
  // Constrained decoding of the plugin Commands stage (issue: plugin control); unset = the
  // engine's default (on).
  std::optional<bool> constrain_commands;
  // Set by the server when the client disconnects or asks to stop; the engine checks it between
  // tokens and then finishes early with finish_reason "cancelled".
  const std::atomic<bool>* cancel = nullptr;
};

struct TurnUsage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

struct TurnResult {
  TurnRecord record;           // record.human == request.prompt; answer possibly partial
  TurnUsage usage;
  std::string finish_reason;   // "stop" (end of message or stop string), "length", "cancelled"
};

// Callbacks from the engine; both run on the thread that called run_turn.
struct TurnCallbacks {
  // A piece of text of one stage, in order. Concatenating the pieces of a stage gives the field.
  std::function<void(Stage, std::string_view)> on_piece;
  // A picture a plugin saved (its file name, as in TurnRecord::images), as soon as it exists.
  std::function<void(const std::string&)> on_image;
};

// What /metrics reports about the engine.
struct EngineStats {
  int queue_depth = 0;          // turns waiting for a batch slot
  int running = 0;              // turns being decoded
  int64_t kv_used_tokens = 0;   // KV-cache cells in use
  int64_t kv_capacity_tokens = 0;
  int64_t kv_used_bytes = 0;    // memory of those cells (depends on the cache element type)
  int64_t batch_steps = 0;      // batched forward passes run so far
  int64_t batch_tokens = 0;     // tokens processed in them (tokens / steps = mean batch size)
};

class ChatEngine {
 public:
  virtual ~ChatEngine() = default;
  virtual std::string model_name() const = 0;
  // Runs one turn to completion (blocking; the engine may batch it with other threads' turns).
  // Throws moss::Error for requests it cannot serve (e.g. the context is too long); the server
  // then stores nothing and answers 400.
  virtual TurnResult run_turn(const TurnRequest& request, const TurnCallbacks& callbacks) = 0;
  virtual EngineStats stats() const { return {}; }
};

}  // namespace moss::server
