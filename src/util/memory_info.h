// How much memory this process can still take without swapping or hitting its cgroup's limit: Model
// checks it before copying weights into panels (anonymous memory, which the kernel cannot reclaim
// without swap), so that a model that fits as a file mapping does not fail to load, or get the
// process killed, for want of room for its copy.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace moss {

// The smaller of MemAvailable (/proc/meminfo: free memory plus reclaimable page cache) and, where
// the process's memory cgroup or one of its parents has a limit, that limit less the cgroup's
// anonymous memory (its page cache is reclaimable). nullopt when neither is known.
std::optional<uint64_t> available_memory_bytes();

// The parts, from file contents (tested on their own):
// the memory cgroup named by /proc/self/cgroup: v2 from its "0::PATH" line, v1 from the line whose
// controller list includes "memory" (which wins: on a hybrid system it is the one that limits).
struct CgroupRef {
  std::string path;
  bool v2 = false;
};
std::optional<CgroupRef> parse_proc_cgroup(const std::string& text);
// `limit` ("max", or bytes; v1 writes "no limit" as ~2^63) less the `anon_key` value of `stat`
// ("anon" in v2, "total_rss" in v1), 0 when already over; nullopt when there is no limit or the
// texts do not parse. For v1, a smaller "hierarchical_memory_limit" in `stat` (a parent's) counts.
std::optional<uint64_t> cgroup_headroom(const std::string& limit, const std::string& stat, const char* anon_key);

}  // namespace moss
