// BatchedModel: the scheduler thread and the per-session LanguageModel.
#include "generate/batched_model.h"

#include <algorithm>
#include <exception>

#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace moss {

// One eval() waiting for the scheduler: the tokens not yet run, where the logits go, and the result.
struct BatchedModel::Job {
  KvCache* cache = nullptr;
  std::span<const int32_t> remaining;
  std::vector<float>* logits = nullptr;
  bool done = false;
  std::exception_ptr error;
};

class BatchedModel::Session final : public LanguageModel {
 public:
  explicit Session(BatchedModel& owner) : owner_(owner), cache_(owner.model_->new_cache()) {
    std::lock_guard<std::mutex> lock(owner_.mu_);
    owner_.sessions_.push_back(this);
  }
  ~Session() override {
    std::lock_guard<std::mutex> lock(owner_.mu_);
    auto& v = owner_.sessions_;
    v.erase(std::remove(v.begin(), v.end(), this), v.end());
  }

  int32_t n_vocab() const override { return static_cast<int32_t>(owner_.model_->config().n_vocab); }
  int32_t n_ctx() const override { return static_cast<int32_t>(cache_.capacity()); }
  size_t n_past() const override {
    std::lock_guard<std::mutex> lock(owner_.mu_);
    return static_cast<size_t>(cache_.size());
  }
  void truncate(size_t n) override {
    std::lock_guard<std::mutex> lock(owner_.mu_);
    cache_.truncate(static_cast<int64_t>(n));
  }
  const Tokenizer* tokenizer() const override { return owner_.tokenizer_.get(); }

  std::span<const float> eval(std::span<const int32_t> tokens) override {
    if (tokens.empty()) fail("LanguageModel::eval: no tokens");
    Job job;
    job.cache = &cache_;
    job.remaining = tokens;
    job.logits = &logits_;
    owner_.submit(job);
    return logits_;
  }

  const KvCache& cache() const { return cache_; }

 private:
  BatchedModel& owner_;
  KvCache cache_;
  std::vector<float> logits_;
};

BatchedModel::BatchedModel(std::unique_ptr<Model> model, BatchOptions options)
    : model_(std::move(model)), options_(options) {
  if (options_.max_batch_tokens < 1) fail("max_batch_tokens must be at least 1");
  tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_metadata(model_->file().meta));
  thread_ = std::thread([this] { run(); });
}

BatchedModel::~BatchedModel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

const Tokenizer& BatchedModel::tokenizer() const { return *tokenizer_; }

std::unique_ptr<LanguageModel> BatchedModel::new_session() { return std::make_unique<Session>(*this); }

BatchStats BatchedModel::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  BatchStats s = stats_;
  s.queued = static_cast<int64_t>(queue_.size());
  s.sessions = static_cast<int64_t>(sessions_.size());
  for (const Session* session : sessions_) {
    const KvCache& c = session->cache();
    s.kv_used += c.size();
    s.kv_capacity += c.capacity();
    s.kv_bytes_used += static_cast<int64_t>(c.bytes_per_position()) * c.size();
    s.kv_bytes_reserved += static_cast<int64_t>(c.bytes_reserved());
  }
  return s;
}

void BatchedModel::submit(Job& job) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_) fail("the model is shutting down");
  queue_.push_back(&job);
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return job.done; });
  if (job.error) std::rethrow_exception(job.error);
}

void BatchedModel::run() {
  std::vector<Job*> jobs;
  std::vector<SeqBatch> batch;
  std::vector<const KvCache*> served;  // sessions whose eval completed in the last step
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_ && queue_.empty()) return;
      // The sessions served last step are sampling their next token on their own threads right
      // now; without this wait the first one back would run alone and the rest one step later.
      if (!served.empty()) {
        auto all_back = [&] {
          for (const KvCache* c : served)
            if (std::none_of(queue_.begin(), queue_.end(), [&](const Job* j) { return j->cache == c; })) return false;
          return true;
        };
        work_cv_.wait_for(lock, options_.gather_wait, [&] { return stop_ || all_back(); });
      }
      // Take what is queued, first come first served, within the token budget. Every job gets at
      // least one token of the step so decoding never starves behind a long prefill.
      jobs.clear();
      batch.clear();
      int64_t budget = options_.max_batch_tokens;
      for (Job* job : queue_) {
        if (!jobs.empty() && budget <= 0) break;
        const int64_t want = static_cast<int64_t>(job->remaining.size());
        const int64_t take = std::max<int64_t>(1, std::min(want, budget));
        budget -= take;
        jobs.push_back(job);
        SeqBatch b;
        b.cache = job->cache;
        b.tokens = job->remaining.first(static_cast<size_t>(take));
        batch.push_back(b);
      }
    }
    // The forward runs without the lock: sessions only touch their cache from their own eval(),
    // which is blocked until this step completes.
    std::vector<std::exception_ptr> errors(jobs.size());
    try {
      model_->forward(batch);
    } catch (...) {
      // forward() checks the whole batch before touching any cache; find the culprit(s) by running
      // each sequence alone so that one bad request does not fail the others.
      for (size_t i = 0; i < batch.size(); ++i) {
        try {
          model_->forward(std::span<SeqBatch>(&batch[i], 1));
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.steps;
    served.clear();
    for (size_t i = 0; i < jobs.size(); ++i) {
      Job* job = jobs[i];
      stats_.tokens += static_cast<int64_t>(batch[i].tokens.size());
      if (errors[i]) {
        job->error = errors[i];
      } else {
        job->remaining = job->remaining.subspan(batch[i].tokens.size());
        if (!job->remaining.empty()) continue;  // more prefill chunks to go
        job->logits->assign(batch[i].logits.begin(), batch[i].logits.end());
        served.push_back(job->cache);
      }
      job->done = true;
      queue_.erase(std::find(queue_.begin(), queue_.end(), job));
    }
    done_cv_.notify_all();
  }
}

}  // namespace moss
