// available_memory_bytes: plausible on this machine; cgroup_headroom: limits and anonymous memory
// from v1 and v2 file contents, and "no limit" in its forms.
#include "util/memory_info.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace moss {
namespace {

TEST(MemoryInfo, AvailableMemoryIsPlausible) {
  const uint64_t avail = available_memory_bytes();
  const uint64_t total = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  EXPECT_GT(avail, 0u);
  EXPECT_LE(avail, total);
}

TEST(MemoryInfo, CgroupHeadroom) {
  const std::string v2_stat = "anon 3000000000\nfile 5000000000\nkernel 100\n";
  EXPECT_EQ(cgroup_headroom("8000000000\n", v2_stat, "anon"), 5000000000u);  // the page cache does not count
  EXPECT_EQ(cgroup_headroom("max\n", v2_stat, "anon"), UINT64_MAX);
  EXPECT_EQ(cgroup_headroom("2000000000\n", v2_stat, "anon"), 0u);  // already over
  const std::string v1_stat = "cache 100\nrss 5\ntotal_cache 7000\ntotal_rss 1000\n";
  EXPECT_EQ(cgroup_headroom("4096\n", v1_stat, "total_rss"), 3096u);
  EXPECT_EQ(cgroup_headroom("9223372036854771712\n", v1_stat, "total_rss"), UINT64_MAX);  // v1's "no limit"
  EXPECT_EQ(cgroup_headroom("", v1_stat, "total_rss"), UINT64_MAX);
  EXPECT_EQ(cgroup_headroom("4096\n", "garbage", "total_rss"), UINT64_MAX);
}

}  // namespace
}  // namespace moss
