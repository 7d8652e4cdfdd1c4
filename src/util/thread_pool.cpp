// ThreadPool: workers spin briefly on a generation counter (a decode step issues hundreds of short
// parallel loops, so waking through a condition variable each time would dominate), then sleep.
// Spinning yields the core now and then so that an oversubscribed machine still makes progress.
#include "util/thread_pool.h"

#include <algorithm>

namespace moss {

int ThreadPool::clamp_threads(int requested) {
  const int hw = std::max(1u, std::thread::hardware_concurrency());
  if (requested <= 0) return hw;
  return std::min(requested, hw * 4);
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(clamp_threads(n_threads)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    published_.store(UINT64_MAX, std::memory_order_release);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = published_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < 20000; ++spin) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      if (spin % 1024 == 1023) std::this_thread::yield();  // let a descheduled caller run
      g = published_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return published_.load(std::memory_order_acquire) != seen; });
      g = published_.load(std::memory_order_acquire);
    }
    if (stop_ || g == UINT64_MAX) return;
    seen = g;
    (*job_)(index, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    pending_.store(n_threads_ - 1, std::memory_order_release);
    published_.store(++generation_, std::memory_order_release);
  }
  cv_.notify_all();
  fn(0, n_threads_);
  spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; });  // the workers, usually within microseconds
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 1) {  // one item (a decode step's single row): the other threads would only be woken to wait
    if (n == 1) fn(0, 1);
    return;
  }
  run([&](int index, int count) {
    int64_t b, e;
    split_range(n, index, count, b, e);
    if (b < e) fn(b, e);
  });
}

}  // namespace moss
