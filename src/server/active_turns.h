// The answers being generated right now: at most one per user (a second request of the same user
// gets 409), each with a cancel flag that the stop endpoint and a client disconnect set.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace moss::server {

struct ActiveTurn {
  std::string conversation_id;
  std::atomic<bool> cancel{false};
};

class ActiveTurns {
 public:
  // Registers a turn for the user; nullptr when the user already has one running.
  std::shared_ptr<ActiveTurn> begin(int64_t user_id, const std::string& conversation_id) {
    std::lock_guard lock(mu_);
    auto& slot = turns_[user_id];
    if (slot) return nullptr;
    slot = std::make_shared<ActiveTurn>();
    slot->conversation_id = conversation_id;
    return slot;
  }
  void end(int64_t user_id, const std::shared_ptr<ActiveTurn>& turn) {
    std::lock_guard lock(mu_);
    auto it = turns_.find(user_id);
    if (it != turns_.end() && it->second == turn) turns_.erase(it);
  }
  // Cancels the user's running turn on that conversation; false when none is running there.
  bool stop(int64_t user_id, const std::string& conversation_id) {
    std::lock_guard lock(mu_);
    auto it = turns_.find(user_id);
    if (it == turns_.end() || it->second->conversation_id != conversation_id) return false;
    it->second->cancel = true;
    return true;
  }
  bool running(int64_t user_id, const std::string& conversation_id) {
    std::lock_guard lock(mu_);
    auto it = turns_.find(user_id);
    return it != turns_.end() && it->second->conversation_id == conversation_id;
  }
  // Server shutdown: every running answer stops early and is stored as cancelled.
  void cancel_all() {
    std::lock_guard lock(mu_);
    for (auto& [user, turn] : turns_) turn->cancel = true;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return turns_.size();
  }

 private:
  std::mutex mu_;
  std::unordered_map<int64_t, std::shared_ptr<ActiveTurn>> turns_;
};

// Registers on construction, unregisters on destruction.
class ActiveTurnGuard {
 public:
  ActiveTurnGuard(ActiveTurns& turns, int64_t user_id, std::shared_ptr<ActiveTurn> turn)
      : turns_(turns), user_id_(user_id), turn_(std::move(turn)) {}
  ~ActiveTurnGuard() {
    if (turn_) turns_.end(user_id_, turn_);
  }
  ActiveTurnGuard(const ActiveTurnGuard&) = delete;
  ActiveTurnGuard& operator=(const ActiveTurnGuard&) = delete;
  ActiveTurn* get() const { return turn_.get(); }

 private:
  ActiveTurns& turns_;
  int64_t user_id_;
  std::shared_ptr<ActiveTurn> turn_;
};

}  // namespace moss::server
