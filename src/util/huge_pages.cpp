// allocate_huge_pages (see huge_pages.h): mmap, trim to a 2 MiB boundary, madvise; resident_pages:
// a read of /proc/self/smaps.
#include "util/huge_pages.h"

#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "util/error.h"

namespace moss {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

void HugePageDeleter::operator()(uint8_t* p) const {
  if (p) munmap(p, bytes);
}

HugePageBuffer allocate_huge_pages(size_t bytes) {
  if (bytes == 0) return HugePageBuffer(nullptr, HugePageDeleter{0});
  const size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  // Over-map by one huge page so the buffer can start on a 2 MiB boundary, then unmap the slack.
  void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) fail("cannot reserve ", bytes, " bytes of memory: ", std::strerror(errno));
  auto* base = static_cast<uint8_t*>(raw);
  const size_t lead = (kHugePage - reinterpret_cast<uintptr_t>(base) % kHugePage) % kHugePage;
  if (lead) munmap(base, lead);
  if (kHugePage - lead) munmap(base + lead + size, kHugePage - lead);
  uint8_t* p = base + lead;
  madvise(p, size, MADV_HUGEPAGE);  // failure leaves 4 KiB pages
  return HugePageBuffer(p, HugePageDeleter{size});
}

void commit_pages(uint8_t* p, size_t bytes) {
  if (bytes == 0 || madvise(p, bytes, MADV_POPULATE_WRITE) == 0) return;
  // Touch the pages only where the kernel lacks the advice (EINVAL before Linux 5.14). Any other
  // failure (ENOMEM: the memory limit is near) leaves them to be faulted in when written, if ever:
  // committing ahead must not be what runs the process out of memory.
  if (errno != EINVAL) return;
  constexpr size_t kPage = 4096;
  for (size_t i = 0; i < bytes; i += kPage) __atomic_fetch_add(p + i, uint8_t{0}, __ATOMIC_RELAXED);
}

ResidentPages resident_pages(const void* begin, const void* end) {
  ResidentPages r;
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (!f) return r;
  const auto lo = reinterpret_cast<uintptr_t>(begin), hi = reinterpret_cast<uintptr_t>(end);
  bool inside = false;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    uintptr_t a = 0, b = 0;
    uint64_t kb = 0;
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &a, &b) == 2) {
      // A mapping's header line, "start-end perms offset dev inode path"; no field line ("Rss: 8 kB",
      // "AnonHugePages: 0 kB") reads as two hex numbers joined by '-'.
      inside = a < hi && b > lo;
    } else if (inside && std::sscanf(line, "Rss: %" SCNu64 " kB", &kb) == 1) {
      r.resident_bytes += kb << 10;
    } else if (inside && (std::sscanf(line, "FilePmdMapped: %" SCNu64 " kB", &kb) == 1 ||
                          std::sscanf(line, "AnonHugePages: %" SCNu64 " kB", &kb) == 1)) {
      r.huge_page_bytes += kb << 10;
    }
  }
  std::fclose(f);
  return r;
}

}  // namespace moss
