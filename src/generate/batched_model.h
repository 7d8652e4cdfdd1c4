// Continuous batching: several conversations share one Model, and their forward passes are merged
// into one batched forward per step. Each session is a LanguageModel with its own KV cache; its
// eval() queues the new tokens and blocks until the scheduler thread has run them. The scheduler
// takes everything queued at that moment (decode steps of running answers and prefills of new
// requests alike), so a new request joins at the next step instead of waiting for others to end.
// Long prefills are cut into chunks so that they never stall the others' decoding for long.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "generate/language_model.h"

namespace moss {

class Model;

struct BatchOptions {
  int64_t max_batch_tokens = 256;  // tokens per forward pass; a longer prefill is split into chunks
  // After a step, how long the scheduler waits for the sessions it just served to come back with
  // their next token (they are sampling it) before running a smaller batch. Returning sessions end
  // the wait at once; only a session that has finished its turn costs this wait, once.
  std::chrono::microseconds gather_wait{20000};
};

struct BatchStats {
  int64_t steps = 0;          // forward passes run
  int64_t tokens = 0;         // tokens processed in them
  int64_t queued = 0;         // evals waiting right now
  int64_t sessions = 0;       // live sessions
  int64_t kv_used = 0;        // cached positions over all live sessions
  int64_t kv_capacity = 0;    // positions the live sessions could hold
  int64_t kv_bytes_used = 0;      // bytes of those cached positions (element type of the model's caches)
  int64_t kv_bytes_reserved = 0;  // bytes reserved for kv_capacity positions (each cache: whole blocks)
};

class BatchedModel {
 public:
  BatchedModel(std::unique_ptr<Model> model, BatchOptions options = {});
  ~BatchedModel();
  BatchedModel(const BatchedModel&) = delete;
  BatchedModel& operator=(const BatchedModel&) = delete;

  // A new context (empty KV cache). Sessions may be used from different threads at once (one
  // thread per session); a session must not outlive this BatchedModel.
  std::unique_ptr<LanguageModel> new_session();
  const Model& model() const { return *model_; }
  const Tokenizer& tokenizer() const;
  BatchStats stats() const;

 private:
  class Session;
  struct Job;
  void run();
  void submit(Job& job);

  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  BatchOptions options_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Job*> queue_;
  std::vector<Session*> sessions_;
  BatchStats stats_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace moss
