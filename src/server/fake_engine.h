// A deterministic ChatEngine for tests and for `moss serve -m fake:` (demo mode, no model).
// Answers are scripted (script()) or echo the prompt; text is streamed word by word, one word = one
// "token", with an optional per-token delay. With plugins enabled it also emits the Inner Thoughts /
// Commands / Results stages the way the plugin model does (spec 4.9).
// Test hooks (in the prompt text): "[hold]" emits the first answer token, then waits until the turn
// is cancelled or release_held() is called; "[fail]" makes run_turn throw moss::Error.
#pragma once
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "server/chat_engine.h"

namespace moss::server {

class FakeEngine : public ChatEngine {
 public:
  explicit FakeEngine(std::chrono::milliseconds token_delay = std::chrono::milliseconds(0),
                      std::string name = "moss-fake");

  // A fixed reply for an exact prompt; fields other than human are used as written.
  void script(const std::string& prompt, const TurnRecord& reply);
  // Wakes every turn waiting at a "[hold]" marker (and lets future ones pass).
  void release_held();
  // Number of turns currently waiting at a "[hold]" marker.
  int held_count() const;

  std::string model_name() const override { return name_; }
  TurnResult run_turn(const TurnRequest& request, const TurnCallbacks& callbacks) override;
  EngineStats stats() const override;

 private:
  TurnRecord reply_for(const TurnRequest& request) const;
  bool wait_or_cancel(const TurnRequest& request, std::chrono::milliseconds d);

  std::chrono::milliseconds token_delay_;
  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, TurnRecord> scripts_;
  bool released_ = false;
  int held_ = 0;
  std::atomic<int> running_{0};
  std::atomic<int64_t> kv_used_{0};
};

// Splits text into the fake engine's "tokens": each word keeps the whitespace that follows it.
std::vector<std::string> fake_tokens(std::string_view text);

}  // namespace moss::server
