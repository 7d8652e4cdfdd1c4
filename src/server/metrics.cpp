// Prometheus text rendering of the server metrics (see metrics.h).
#include "server/metrics.h"

#include <sstream>

namespace moss::server {

void Metrics::count_request(const std::string& method, const std::string& route, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{method, route, status}];
}

void Metrics::count_turn(const TurnUsage& usage, const std::string& finish_reason, double seconds) {
  std::lock_guard lock(mu_);
  ++turns_[finish_reason];
  prompt_tokens_ += usage.prompt_tokens;
  completion_tokens_ += usage.completion_tokens;
  generation_seconds_ += seconds;
  if (seconds > 0) last_tokens_per_second_ = usage.completion_tokens / seconds;
}

std::string Metrics::render(const EngineStats& engine) const {
  std::ostringstream o;
  std::lock_guard lock(mu_);
  o << "# HELP moss_http_requests_total HTTP requests by method, route pattern and status code.\n"
    << "# TYPE moss_http_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    o << "moss_http_requests_total{method=\"" << std::get<0>(k) << "\",route=\"" << std::get<1>(k) << "\",code=\""
      << std::get<2>(k) << "\"} " << n << "\n";
  o << "# HELP moss_turns_total Finished chat turns by finish reason.\n# TYPE moss_turns_total counter\n";
  for (const auto& [reason, n] : turns_) o << "moss_turns_total{finish_reason=\"" << reason << "\"} " << n << "\n";
  o << "# HELP moss_prompt_tokens_total Prompt tokens processed.\n# TYPE moss_prompt_tokens_total counter\n"
    << "moss_prompt_tokens_total " << prompt_tokens_ << "\n"
    << "# HELP moss_completion_tokens_total Tokens generated.\n# TYPE moss_completion_tokens_total counter\n"
    << "moss_completion_tokens_total " << completion_tokens_ << "\n"
    << "# HELP moss_generation_seconds_total Wall time spent in turns.\n# TYPE moss_generation_seconds_total counter\n"
    << "moss_generation_seconds_total " << generation_seconds_ << "\n"
    << "# HELP moss_tokens_per_second Generation speed of the last finished turn (tokens/s).\n"
    << "# TYPE moss_tokens_per_second gauge\n"
    << "moss_tokens_per_second " << last_tokens_per_second_ << "\n"
    << "# HELP moss_active_turns Answers being generated now.\n# TYPE moss_active_turns gauge\n"
    << "moss_active_turns " << active_turns_.load() << "\n"
    << "# HELP moss_open_streams Open streaming (SSE) responses.\n# TYPE moss_open_streams gauge\n"
    << "moss_open_streams " << open_streams_.load() << "\n"
    << "# HELP moss_queue_depth Turns waiting for the engine.\n# TYPE moss_queue_depth gauge\n"
    << "moss_queue_depth " << engine.queue_depth << "\n"
    << "# HELP moss_engine_running Turns being decoded by the engine.\n# TYPE moss_engine_running gauge\n"
    << "moss_engine_running " << engine.running << "\n"
    << "# HELP moss_kv_cache_used_tokens KV-cache cells in use.\n# TYPE moss_kv_cache_used_tokens gauge\n"
    << "moss_kv_cache_used_tokens " << engine.kv_used_tokens << "\n"
    << "# HELP moss_kv_cache_capacity_tokens KV-cache cells available in total.\n"
    << "# TYPE moss_kv_cache_capacity_tokens gauge\n"
    << "moss_kv_cache_capacity_tokens " << engine.kv_capacity_tokens << "\n"
    << "# HELP moss_kv_cache_usage_ratio Fraction of the KV cache in use.\n# TYPE moss_kv_cache_usage_ratio gauge\n"
    << "moss_kv_cache_usage_ratio "
    << (engine.kv_capacity_tokens > 0 ? static_cast<double>(engine.kv_used_tokens) / engine.kv_capacity_tokens : 0.0)
    << "\n"
    << "# HELP moss_kv_cache_used_bytes Memory of the KV-cache cells in use.\n# TYPE moss_kv_cache_used_bytes gauge\n"
    << "moss_kv_cache_used_bytes " << engine.kv_used_bytes << "\n"
    << "# HELP moss_batch_steps_total Batched forward passes of the engine.\n# TYPE moss_batch_steps_total counter\n"
    << "moss_batch_steps_total " << engine.batch_steps << "\n"
    << "# HELP moss_batch_tokens_total Tokens processed in batched forward passes (divided by the steps: the mean "
       "batch size).\n# TYPE moss_batch_tokens_total counter\n"
    << "moss_batch_tokens_total " << engine.batch_tokens << "\n";
  return o.str();
}

}  // namespace moss::server
