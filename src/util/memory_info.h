// How much memory this process can still take without swapping or hitting its cgroup's limit: Model
// checks it before copying weights into panels (anonymous memory, which the kernel cannot reclaim
// without swap), so that a model that fits as a file mapping does not fail to load, or get the
// process killed, for want of room for its copy.
#pragma once
#include <cstdint>
#include <string>

namespace moss {

// The smaller of MemAvailable (/proc/meminfo: free memory plus reclaimable page cache) and, where
// the process's memory cgroup has a limit (v2 memory.max, v1 memory.limit_in_bytes), that limit
// less the cgroup's anonymous memory (its page cache is reclaimable). 0 when nothing is known.
uint64_t available_memory_bytes();

// The cgroup part, from the files' contents: `limit` ("max", or bytes), `stat` (memory.stat lines
// "key value"), `anon_key` ("anon" in v2, "total_rss" in v1). UINT64_MAX when there is no limit or
// the texts do not parse.
uint64_t cgroup_headroom(const std::string& limit, const std::string& stat, const char* anon_key);

}  // namespace moss
