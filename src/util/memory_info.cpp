// available_memory_bytes and cgroup_headroom (see memory_info.h): reads of /proc and /sys/fs/cgroup.
#include "util/memory_info.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

namespace moss {

namespace {

std::string read_small_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  return std::string(std::istreambuf_iterator<char>(f), {});
}

uint64_t mem_available() {
  std::istringstream in(read_small_file("/proc/meminfo"));
  std::string line;
  while (std::getline(in, line)) {
    uint64_t kb = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %" SCNu64 " kB", &kb) == 1) return kb << 10;
  }
  return 0;
}

// The process's memory cgroup directory and its version: v2 from the "0::PATH" line of
// /proc/self/cgroup, v1 from the line naming the memory controller.
bool memory_cgroup(std::string& dir, bool& v2) {
  std::istringstream in(read_small_file("/proc/self/cgroup"));
  std::string line;
  std::string v2_path;
  bool have_v2 = false;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) {
      v2_path = line.substr(3), have_v2 = true;
    } else if (const size_t at = line.find(":memory:"); at != std::string::npos) {
      dir = "/sys/fs/cgroup/memory" + line.substr(at + 8);
      v2 = false;
      return true;
    }
  }
  if (!have_v2) return false;
  dir = "/sys/fs/cgroup" + v2_path;
  v2 = true;
  return true;
}

}  // namespace

uint64_t cgroup_headroom(const std::string& limit, const std::string& stat, const char* anon_key) {
  uint64_t cap = 0;
  if (std::sscanf(limit.c_str(), "%" SCNu64, &cap) != 1) return UINT64_MAX;  // "max", or unreadable
  if (cap >= (uint64_t{1} << 60)) return UINT64_MAX;  // v1 writes "no limit" as ~2^63
  std::istringstream in(stat);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    if (key == anon_key) return cap > value ? cap - value : 0;
  return UINT64_MAX;
}

uint64_t available_memory_bytes() {
  uint64_t avail = mem_available();
  std::string dir;
  bool v2 = false;
  if (memory_cgroup(dir, v2)) {
    const uint64_t room = v2 ? cgroup_headroom(read_small_file(dir + "/memory.max"),
                                               read_small_file(dir + "/memory.stat"), "anon")
                             : cgroup_headroom(read_small_file(dir + "/memory.limit_in_bytes"),
                                               read_small_file(dir + "/memory.stat"), "total_rss");
    if (room != UINT64_MAX) avail = avail == 0 ? room : std::min(avail, room);
  }
  return avail;
}

}  // namespace moss
