// allocate_huge_pages (see huge_pages.h): mmap, trim to a 2 MiB boundary, madvise.
#include "util/huge_pages.h"

#include <sys/mman.h>

#include <cerrno>
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
  madvise(p, size, MADV_HUGEPAGE);  // advice only: failure leaves 4 KiB pages
  return HugePageBuffer(p, HugePageDeleter{size});
}

}  // namespace moss
