// allocate_huge_pages: 2 MiB aligned, zero on first touch, writable end to end, empty for 0 bytes;
// resident_pages: what of a range is resident, and in huge pages.
#include "util/huge_pages.h"

#include <gtest/gtest.h>

namespace moss {
namespace {

TEST(HugePages, AlignedZeroedWritableBuffer) {
  const size_t n = (size_t{5} << 20) + 123;  // not a whole number of huge pages
  HugePageBuffer b = allocate_huge_pages(n);
  ASSERT_NE(b.get(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.get()) % (size_t{2} << 20), 0u);
  EXPECT_EQ(b.get_deleter().bytes, size_t{6} << 20);  // rounded up to whole huge pages
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[n - 1], 0);
  for (size_t i = 0; i < n; i += 4096) b[i] = static_cast<uint8_t>(i / 4096);
  b[n - 1] = 7;
  EXPECT_EQ(b[4096 * 300], static_cast<uint8_t>(300));
  EXPECT_EQ(b[n - 1], 7);
}

TEST(HugePages, ZeroBytesIsEmpty) {
  HugePageBuffer b = allocate_huge_pages(0);
  EXPECT_EQ(b.get(), nullptr);
}

// resident_pages counts what is touched: nothing of a fresh buffer, all of it once written, and
// never more in huge pages than resident (whether the kernel grants huge pages is its choice).
TEST(HugePages, ResidentPagesOfABuffer) {
  const size_t n = size_t{8} << 20;
  HugePageBuffer b = allocate_huge_pages(n);
  const ResidentPages before = resident_pages(b.get(), b.get() + n);
  EXPECT_EQ(before.resident_bytes, 0u);
  for (size_t i = 0; i < n; i += 4096) b[i] = 1;
  const ResidentPages after = resident_pages(b.get(), b.get() + n);
  EXPECT_GE(after.resident_bytes, n);
  EXPECT_LE(after.huge_page_bytes, after.resident_bytes);
  EXPECT_EQ(after.huge_page_bytes % (size_t{2} << 20), 0u);
}

// commit_pages makes a range resident without changing a byte: written bytes keep their values and
// the rest stays zero; a range of 0 bytes is nothing.
TEST(HugePages, CommitPagesKeepsContents) {
  const size_t n = size_t{8} << 20;
  HugePageBuffer b = allocate_huge_pages(n);
  b[5] = 42;
  b[n / 2 + 3] = 7;
  commit_pages(b.get(), 0);
  commit_pages(b.get() + (size_t{2} << 20), n - (size_t{2} << 20));  // the last 6 MiB
  EXPECT_GE(resident_pages(b.get(), b.get() + n).resident_bytes, n - (size_t{2} << 20));
  for (size_t i = 0; i < n; i += 4093) {
    if (i == 5 || i == n / 2 + 3) continue;
    ASSERT_EQ(b[i], 0) << i;
  }
  EXPECT_EQ(b[5], 42);
  EXPECT_EQ(b[n / 2 + 3], 7);
  EXPECT_EQ(b[n - 1], 0);
}

}  // namespace
}  // namespace moss
