// available_memory_bytes: plausible on this machine; the parsers: /proc/self/cgroup in v1, v2 and
// hybrid forms, and cgroup limits less anonymous memory, "no limit" in its forms, a parent's limit.
#include "util/memory_info.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace moss {
namespace {

TEST(MemoryInfo, AvailableMemoryIsPlausible) {
  const std::optional<uint64_t> avail = available_memory_bytes();
  const uint64_t total = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  ASSERT_TRUE(avail.has_value());  // Linux has MemAvailable
  EXPECT_LE(*avail, total);
}

TEST(MemoryInfo, ParsesProcSelfCgroup) {
  const auto v2 = parse_proc_cgroup("0::/user.slice/app.scope\n");
  ASSERT_TRUE(v2);
  EXPECT_TRUE(v2->v2);
  EXPECT_EQ(v2->path, "/user.slice/app.scope");
  // hybrid: the v1 memory controller limits, whatever the order of the lines
  const auto hybrid = parse_proc_cgroup("9:name=systemd:/\n0::/\n4:memory:/process_api/13cf\n1:cpu:/\n");
  ASSERT_TRUE(hybrid);
  EXPECT_FALSE(hybrid->v2);
  EXPECT_EQ(hybrid->path, "/process_api/13cf");
  const auto comounted = parse_proc_cgroup("5:cpu,memory:/docker/abc\n");  // co-mounted controllers
  ASSERT_TRUE(comounted);
  EXPECT_EQ(comounted->path, "/docker/abc");
  EXPECT_FALSE(parse_proc_cgroup("3:cpuset:/\n2:memoryx:/a\n"));  // no memory controller, no v2 line
  EXPECT_FALSE(parse_proc_cgroup(""));
}

TEST(MemoryInfo, CgroupHeadroom) {
  const std::string v2_stat = "anon 3000000000\nfile 5000000000\nkernel 100\n";
  EXPECT_EQ(cgroup_headroom("8000000000\n", v2_stat, "anon"), 5000000000u);  // the page cache does not count
  EXPECT_EQ(cgroup_headroom("max\n", v2_stat, "anon"), std::nullopt);
  EXPECT_EQ(cgroup_headroom("2000000000\n", v2_stat, "anon"), 0u);  // already over: 0, not "unknown"
  const std::string v1_stat = "cache 100\nrss 5\nhierarchical_memory_limit 9223372036854771712\ntotal_cache 7000\ntotal_rss 1000\n";
  EXPECT_EQ(cgroup_headroom("4096\n", v1_stat, "total_rss"), 3096u);
  EXPECT_EQ(cgroup_headroom("9223372036854771712\n", v1_stat, "total_rss"), std::nullopt);  // v1's "no limit"
  const std::string v1_parent = "hierarchical_memory_limit 2048\ntotal_rss 1000\n";  // a parent's limit
  EXPECT_EQ(cgroup_headroom("9223372036854771712\n", v1_parent, "total_rss"), 1048u);
  EXPECT_EQ(cgroup_headroom("", v1_stat, "total_rss"), std::nullopt);
  EXPECT_EQ(cgroup_headroom("4096\n", "garbage", "total_rss"), std::nullopt);
}

}  // namespace
}  // namespace moss
