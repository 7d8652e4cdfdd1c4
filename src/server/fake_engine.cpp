// FakeEngine: scripted, deterministic turns (see fake_engine.h).
#include "server/fake_engine.h"

#include <algorithm>
#include <thread>

#include "util/error.h"

namespace moss::server {

std::vector<std::string> fake_tokens(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n') ++j;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\n')) ++j;
    out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

FakeEngine::FakeEngine(std::chrono::milliseconds token_delay, std::string name)
    : token_delay_(token_delay), name_(std::move(name)) {}

void FakeEngine::script(const std::string& prompt, const TurnRecord& reply) {
  std::lock_guard lock(mu_);
  scripts_[prompt] = reply;
}

void FakeEngine::release_held() {
  std::lock_guard lock(mu_);
  released_ = true;
  cv_.notify_all();
}

void FakeEngine::set_text2image(std::unique_ptr<Plugin> plugin) {
  std::lock_guard lock(mu_);
  text2image_ = std::move(plugin);
}

int FakeEngine::held_count() const {
  std::lock_guard lock(mu_);
  return held_;
}

EngineStats FakeEngine::stats() const {
  EngineStats s;
  s.running = running_.load();
  s.kv_used_tokens = kv_used_.load();
  s.kv_capacity_tokens = 2048 * 8;
  return s;
}

TurnRecord FakeEngine::reply_for(const TurnRequest& request) const {
  {
    std::lock_guard lock(mu_);
    auto it = scripts_.find(request.prompt);
    if (it != scripts_.end()) return it->second;
  }
  TurnRecord r;
  // Echo a bounded prefix so a long prompt does not produce a long answer.
  std::string echoed = request.prompt.substr(0, 200);
  r.answer = "Hello! This is turn " + std::to_string(request.history.size() + 1) + ". You said: " + echoed;
  if (!request.plugins.empty()) {
    if (request.prompt.rfind("calc ", 0) == 0) {
      const std::string expr = request.prompt.substr(5, 100);
      r.inner_thoughts = "The user wants a calculation, I should use the calculator.";
      r.commands = "Calculate(\"" + expr + "\")";
      r.results = "Calculate(\"" + expr + "\") => '42'";
      r.answer = "The result is 42.";
    } else if (request.prompt.rfind("draw ", 0) == 0 &&
               std::find(request.plugins.begin(), request.plugins.end(), "Text2Image") != request.plugins.end()) {
      const std::string what = request.prompt.substr(5, 100);
      r.inner_thoughts = "The user wants a picture, I should use Text2Image.";
      r.commands = "Text2Image(\"" + what + "\")";
      r.results = "";  // run_turn calls the plugin
      r.answer = "Here is the picture of " + what + ".";
    } else {
      r.inner_thoughts = "None";
      r.commands = "None";
      r.results = "None";
    }
  }
  return r;
}

// Sleeps for d unless the turn is cancelled first; returns false when cancelled.
bool FakeEngine::wait_or_cancel(const TurnRequest& request, std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (true) {
    if (request.cancel && request.cancel->load()) return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(end - now, std::chrono::milliseconds(5)));
  }
}

TurnResult FakeEngine::run_turn(const TurnRequest& request, const TurnCallbacks& callbacks) {
  if (request.prompt.find("[fail]") != std::string::npos) fail("fake engine: scripted failure");
  const bool hold = request.prompt.find("[hold]") != std::string::npos;
  struct Running {
    std::atomic<int>& n;
    explicit Running(std::atomic<int>& c) : n(c) { ++n; }
    ~Running() { --n; }
  } running(running_);

  TurnRecord reply = reply_for(request);
  TurnResult result;
  result.record.human = request.prompt;
  int prompt_tokens = static_cast<int>(fake_tokens(request.prompt).size()) + 1;
  for (const auto& h : request.history)
    prompt_tokens += static_cast<int>(fake_tokens(h.human).size() + fake_tokens(h.answer).size()) + 2;
  result.usage.prompt_tokens = prompt_tokens;
  kv_used_ += prompt_tokens;
  int generated = 0;
  result.finish_reason = "stop";

  auto emit = [&](Stage stage, std::string& field, const std::string& text, int limit) -> bool {
    int n = 0;
    for (const auto& tok : fake_tokens(text)) {
      if (n >= limit) {
        result.finish_reason = "length";
        return false;
      }
      if (!wait_or_cancel(request, token_delay_)) {
        result.finish_reason = "cancelled";
        return false;
      }
      field += tok;
      ++n;
      ++generated;
      if (callbacks.on_piece) callbacks.on_piece(stage, tok);
      if (hold && stage == Stage::answer && n == 1) {
        std::unique_lock lock(mu_);
        ++held_;
        while (!released_ && !(request.cancel && request.cancel->load()))
          cv_.wait_for(lock, std::chrono::milliseconds(5));
        --held_;
        if (request.cancel && request.cancel->load()) {
          result.finish_reason = "cancelled";
          return false;
        }
      }
    }
    return true;
  };

  // Stop strings cut the scripted answer before the first match, as a real sampler would stop.
  std::string answer = reply.answer;
  for (const auto& s : request.sampling.stop) {
    if (s.empty()) continue;
    size_t at = answer.find(s);
    if (at != std::string::npos) answer.resize(at);
  }
  int limit = std::max(0, request.sampling.max_tokens);
  if (request.sampling.max_length > 0) limit = std::min(limit, std::max(0, request.sampling.max_length - prompt_tokens));
  bool ok = true;
  if (!reply.inner_thoughts.empty()) ok = emit(Stage::inner_thoughts, result.record.inner_thoughts, reply.inner_thoughts, limit);
  if (ok && !reply.commands.empty()) ok = emit(Stage::commands, result.record.commands, reply.commands, limit);
  if (ok && reply.results.empty() && reply.commands.rfind("Text2Image(\"", 0) == 0) {
    // A "draw" turn: the picture is made now, like a real plugin call between the stages.
    const std::string arg = reply.commands.substr(12, reply.commands.size() - 14);
    ToolResult tr{{"Image generated successfully."}, true};
    {
      std::lock_guard lock(mu_);
      if (text2image_) {
        ToolTurnContext tc;
        tr = text2image_->run(arg, tc);
      }
    }
    reply.results_inline = tr.ok;
    reply.results = tr.ok ? tr.lines[0] : "Text2Image(\"" + arg + "\") => '" + (tr.lines.empty() ? "" : tr.lines[0]) + "'";
    if (!tr.ok) answer = "Sorry, I could not draw " + arg + ".";
    for (const auto& im : tr.images) reply.images.push_back(im.name);
  }
  if (ok && !reply.results.empty()) {
    // Results come from the plugins, not from sampling: emitted whole, not counted as tokens.
    result.record.results = reply.results;
    result.record.results_inline = reply.results_inline;
    if (callbacks.on_piece) callbacks.on_piece(Stage::results, reply.results);
    for (const auto& name : reply.images) {
      result.record.images.push_back(name);
      if (callbacks.on_image) callbacks.on_image(name);
    }
  }
  if (ok) emit(Stage::answer, result.record.answer, answer, limit);
  result.usage.completion_tokens = generated;
  kv_used_ -= prompt_tokens;
  return result;
}

}  // namespace moss::server
