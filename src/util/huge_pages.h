// Large buffers that kernels stream through (the KV cache): anonymous mappings with MADV_HUGEPAGE.
// With transparent huge pages in "madvise" mode (Debian's default) a plain new[] gets 4 KiB pages,
// and attention, which reads one cache row per position with rows 4 KiB or more apart, then takes a
// TLB miss on nearly every row. Pages are still committed only when first written, but in 2 MiB
// steps where the kernel grants huge pages. Falls back to 4 KiB pages silently if it does not.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace moss {

struct HugePageDeleter {
  size_t bytes = 0;
  void operator()(uint8_t* p) const;
};
using HugePageBuffer = std::unique_ptr<uint8_t[], HugePageDeleter>;

// An uninitialised (zero-filled on first touch) buffer of `bytes`, 2 MiB aligned; throws moss::Error
// when the address space is exhausted.
HugePageBuffer allocate_huge_pages(size_t bytes);

// Commits the pages of [p, p + bytes) now (MADV_POPULATE_WRITE; where the kernel lacks it, a
// value-preserving write to every 4 KiB), so that later writes there take no page faults. Contents
// are unchanged. Best effort: if memory is short, the pages stay uncommitted. For buffers that grow
// while a latency-bound loop writes them (the KV cache).
void commit_pages(uint8_t* p, size_t bytes);

// How much of the address range [begin, end) is resident, and how much of that in 2 MiB pages (file
// or anonymous), from /proc/self/smaps: `moss bench` reports it for the model's weights, whose
// mapping gets huge pages only where the page cache holds the file in 2 MiB folios. Whole mappings
// that overlap the range count. Zeros where smaps cannot be read.
struct ResidentPages {
  uint64_t resident_bytes = 0, huge_page_bytes = 0;
};
ResidentPages resident_pages(const void* begin, const void* end);

}  // namespace moss
