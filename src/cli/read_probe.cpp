// ReadProbe (see read_probe.h): the read-bandwidth reference of `moss bench`.
#include "cli/read_probe.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

#include "util/thread_pool.h"

namespace moss::cli {

ReadProbe::ReadProbe(ThreadPool& pool, size_t bytes) : pool_(pool), n_(bytes / 8), mem_(allocate_huge_pages(n_ * 8)) {
  auto* buf = reinterpret_cast<uint64_t*>(mem_.get());
  pool_.parallel_for(static_cast<int64_t>(n_), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) buf[i] = static_cast<uint64_t>(i);  // fault the pages in, per thread
  });
}

double ReadProbe::pass_seconds(bool prefetch) {
  const auto* buf = reinterpret_cast<const uint64_t*>(mem_.get());
  const auto n = static_cast<int64_t>(n_);
  std::vector<uint64_t> sink(static_cast<size_t>(pool_.size()) * 8);  // a line per thread: no sharing
  const auto t0 = std::chrono::steady_clock::now();
  pool_.run([&](int index, int count) {
    int64_t b, e;
    split_range(n, index, count, b, e);
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    int64_t i = b;
    constexpr int64_t kAhead = 6144 / 8;
    if (prefetch)
      for (; i + 8 <= e; i += 8) {  // one cache line per step, one prefetch per line
        __builtin_prefetch(&buf[std::min<int64_t>(i + kAhead, n - 1)]);
        s0 += buf[i], s1 += buf[i + 1], s2 += buf[i + 2], s3 += buf[i + 3];
        s4 += buf[i + 4], s5 += buf[i + 5], s6 += buf[i + 6], s7 += buf[i + 7];
      }
    for (; i + 4 <= e; i += 4) s0 += buf[i], s1 += buf[i + 1], s2 += buf[i + 2], s3 += buf[i + 3];
    for (; i < e; ++i) s0 += buf[i];
    sink[static_cast<size_t>(index) * 8] = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (uint64_t s : sink) checksum_ += s;  // the sums are used, so the reads cannot be dropped
  return seconds;
}

double ReadProbe::best_seconds(int passes) {
  double best = std::numeric_limits<double>::infinity();
  for (int p = 0; p < passes; ++p) best = std::min(best, pass_seconds(p % 2 == 1));
  return best;
}

}  // namespace moss::cli
