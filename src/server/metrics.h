// Server metrics in the Prometheus text format (version 0.0.4): HTTP requests by route and status,
// tokens, turns, generation throughput, plus the engine's queue depth and KV-cache usage.
#pragma once
#include <cstdint>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

#include "server/chat_engine.h"

namespace moss::server {

class Metrics {
 public:
  // `route` is the route pattern (bounded label set), never the raw path.
  void count_request(const std::string& method, const std::string& route, int status);
  // A finished turn: its usage, finish reason and generation time.
  void count_turn(const TurnUsage& usage, const std::string& finish_reason, double seconds);
  void connection_opened() { ++open_streams_; }
  void connection_closed() { --open_streams_; }
  void set_active_turns(int64_t n) { active_turns_ = n; }
  std::string render(const EngineStats& engine) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, int64_t> requests_;
  std::map<std::string, int64_t> turns_;  // by finish reason
  int64_t prompt_tokens_ = 0, completion_tokens_ = 0;
  double generation_seconds_ = 0;
  double last_tokens_per_second_ = 0;
  std::atomic<int64_t> open_streams_{0};
  std::atomic<int64_t> active_turns_{0};
};

}  // namespace moss::server
