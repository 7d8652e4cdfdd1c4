// A fixed pool of worker threads for data-parallel loops. The calling thread works too, so a
// pool of n threads starts n-1 workers. Thread counts are clamped to [1, hardware threads x 4]
// (asking for 0 or 1000 is not an error: it is clamped and a warning can be shown by the caller).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace moss {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(thread_index, n_threads) on every thread (the caller is index 0) and waits for all.
  // Work splitting is up to fn; see split_range below.
  void run(const std::function<void(int, int)>& fn);

  // Runs fn(begin, end) over [0, n) split into contiguous chunks, one per thread (n <= 1: on the
  // calling thread only, fn not called for n <= 0).
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

  // Clamps a requested thread count to something sane for this machine.
  static int clamp_threads(int requested);

 private:
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void(int, int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> published_{0};
  bool stop_ = false;
};

// Waits for another thread's step inside a parallel region (or for the pool's workers): spins a
// little (such waits usually last microseconds), then yields the core, so that on a machine with more
// runnable threads than cores a descheduled thread can finish instead of costing a whole time slice.
template <class Ready>
void spin_until(Ready&& ready) {
  for (int spin = 0; !ready(); ++spin) {
    if (spin < 4000) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

// The [begin, end) part of [0, n) that thread `index` of `count` handles.
inline void split_range(int64_t n, int index, int count, int64_t& begin, int64_t& end) {
  const int64_t base = n / count, extra = n % count;
  begin = index * base + (index < extra ? index : extra);
  end = begin + base + (index < extra ? 1 : 0);
}

}  // namespace moss
