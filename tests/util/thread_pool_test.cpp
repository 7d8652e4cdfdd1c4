// ThreadPool: thread-count clamping, run() reaching every thread once per call, and parallel_for
// covering [0, n) exactly once in contiguous pieces (n = 0 and 1 included).
#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace moss {
namespace {

TEST(ThreadPool, ClampsThreadCounts) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(ThreadPool::clamp_threads(0), hw);
  EXPECT_EQ(ThreadPool::clamp_threads(-5), hw);
  EXPECT_EQ(ThreadPool::clamp_threads(1), 1);
  EXPECT_EQ(ThreadPool::clamp_threads(1000), std::min(1000, 4 * hw));
  EXPECT_EQ(ThreadPool(0).size(), hw);
}

TEST(ThreadPool, RunCallsEveryThreadOncePerCall) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int call = 0; call < 200; ++call) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(threads));
      pool.run([&](int index, int count) {
        ASSERT_EQ(count, threads);
        hits[static_cast<size_t>(index)].fetch_add(1);
      });
      for (const auto& h : hits) ASSERT_EQ(h.load(), 1) << "threads " << threads << " call " << call;
    }
  }
}

TEST(ThreadPool, ParallelForCoversTheRangeOnce) {
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 3, 7, 1000}) {
      std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
      std::atomic<int> calls{0};
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        ASSERT_LT(b, e);
        calls.fetch_add(1);
        for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)].fetch_add(1);
      });
      for (const auto& s : seen) ASSERT_EQ(s.load(), 1) << "threads " << threads << " n " << n;
      EXPECT_LE(calls.load(), std::min<int64_t>(n, threads));
    }
  }
}

TEST(ThreadPool, SplitRangeIsContiguousAndBalanced) {
  for (int count : {1, 2, 3, 5})
    for (int64_t n : {0, 1, 4, 10, 11}) {
      int64_t expect_begin = 0;
      for (int i = 0; i < count; ++i) {
        int64_t b, e;
        split_range(n, i, count, b, e);
        EXPECT_EQ(b, expect_begin);
        EXPECT_LE(e - b, n / count + 1);
        EXPECT_GE(e - b, n / count);
        expect_begin = e;
      }
      EXPECT_EQ(expect_begin, n);
    }
}

}  // namespace
}  // namespace moss
