// A deterministic ChatEngine for tests and for `moss serve -m fake:` (demo mode, no model).
// Answers are scripted (script()) or echo the prompt; text is streamed word by word, one word = one
// "token", with an optional per-token delay. With plugins enabled it also emits the Inner Thoughts /
// Commands / Results stages the way the plugin model does (spec 4.9).
// With Text2Image enabled, a prompt "draw DESCRIPTION" calls Text2Image("DESCRIPTION") through the
// plugin given to set_text2image (e.g. make_text2image_placeholder_plugin, which saves a PNG) and
// reports the saved pictures via on_image and TurnRecord::images; without one it answers like the
// stub (success, no picture).
// Test hooks (in the prompt text): "[hold]" emits the first answer token, then waits until the turn
// is cancelled or release_held() is called; "[fail]" makes run_turn throw moss::Error.
#pragma once
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "plugins/plugin.h"
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
  // The Text2Image executor for "draw ..." prompts (null = report success without a picture).
  void set_text2image(std::unique_ptr<Plugin> plugin);

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
  std::unique_ptr<Plugin> text2image_;  // guarded by mu_ while running (plugins need not be thread-safe)
  bool released_ = false;
  int held_ = 0;
  std::atomic<int> running_{0};
  std::atomic<int64_t> kv_used_{0};
};

// Splits text into the fake engine's "tokens": each word keeps the whitespace that follows it.
std::vector<std::string> fake_tokens(std::string_view text);

}  // namespace moss::server
