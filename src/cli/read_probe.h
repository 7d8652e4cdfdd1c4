// The reference that `moss bench` compares decode with: the machine's read bandwidth, measured by all
// threads of the pool summing their slices of a buffer far larger than the caches (1 GiB by default).
//
// The buffer lies in 2 MiB pages, as the model's weights do when the page cache holds them so
// (util/mapped_file.cpp): reads from 4 KiB pages measured ~10% slower, and a reference in them
// would flatter the decode. A pass either reads plainly or with a software prefetch 6 KB ahead: the
// decode kernels prefetch their weights, so their reference may as well (with plain reads only, q8_0
// decode had measured above 100% of the "bandwidth"); best_seconds() takes the faster of both kinds.
//
// On a shared host the bandwidth moves by 2x within seconds (31-69 GB/s seen on the development
// machine), so `moss bench` reads the probe right after every decoded token as well: each token's
// time is paired with a read taken within milliseconds of it (see cmd_bench.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

#include "util/huge_pages.h"

namespace moss {
class ThreadPool;
}

namespace moss::cli {

class ReadProbe {
 public:
  ReadProbe(ThreadPool& pool, size_t bytes);  // allocates and touches the buffer
  size_t bytes() const { return n_ * 8; }
  double pass_seconds(bool prefetch);
  // The fastest of `passes` passes, alternating plain and prefetched reads (plain first).
  double best_seconds(int passes);
  double gbs(double seconds) const { return static_cast<double>(bytes()) / seconds / 1e9; }

 private:
  ThreadPool& pool_;
  size_t n_;  // 64-bit words
  HugePageBuffer mem_;
  uint64_t checksum_ = 0;
};

}  // namespace moss::cli
