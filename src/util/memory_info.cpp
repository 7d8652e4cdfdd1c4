// available_memory_bytes and its parsers (see memory_info.h): reads of /proc and /sys/fs/cgroup.
#include "util/memory_info.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace moss {

namespace {

constexpr uint64_t kNoLimit = uint64_t{1} << 60;  // v1's "unlimited" is ~2^63

std::string read_small_file(const std::string& path) {
  std::ifstream f(path);
  return f ? std::string(std::istreambuf_iterator<char>(f), {}) : std::string();
}

std::optional<uint64_t> mem_available() {
  std::istringstream in(read_small_file("/proc/meminfo"));
  std::string line;
  uint64_t kb = 0;
  while (std::getline(in, line))
    if (std::sscanf(line.c_str(), "MemAvailable: %" SCNu64 " kB", &kb) == 1) return kb << 10;
  return std::nullopt;
}

std::optional<uint64_t> stat_value(const std::string& stat, const char* key) {
  std::istringstream in(stat);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return std::nullopt;
}

std::optional<uint64_t> min_opt(std::optional<uint64_t> a, std::optional<uint64_t> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// The headroom of the process's memory cgroup. The cgroup's directory is the mount point plus its
// path, or (inside a container with its own view) the mount point itself, where the path from the
// host's point of view does not exist. v2 limits of parent cgroups apply too: the smallest counts.
std::optional<uint64_t> cgroup_room() {
  const std::optional<CgroupRef> ref = parse_proc_cgroup(read_small_file("/proc/self/cgroup"));
  if (!ref) return std::nullopt;
  namespace fs = std::filesystem;
  const fs::path mount = ref->v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  fs::path dir = mount / fs::path(ref->path).relative_path();
  std::error_code ec;
  if (!fs::exists(dir / (ref->v2 ? "memory.stat" : "memory.limit_in_bytes"), ec)) dir = mount;
  if (!ref->v2)
    return cgroup_headroom(read_small_file(dir / "memory.limit_in_bytes"), read_small_file(dir / "memory.stat"),
                           "total_rss");
  const std::string stat = read_small_file(dir / "memory.stat");
  std::optional<uint64_t> room;
  for (fs::path d = dir;; d = d.parent_path()) {  // this cgroup and its parents up to the mount
    room = min_opt(room, cgroup_headroom(read_small_file(d / "memory.max"), stat, "anon"));
    if (d == mount || d == d.parent_path() || d.string().size() <= mount.string().size()) break;
  }
  return room;
}

}  // namespace

std::optional<CgroupRef> parse_proc_cgroup(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::optional<CgroupRef> v2;
  while (std::getline(in, line)) {  // "ID:CONTROLLERS:PATH"
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (controllers.find(",memory,") != std::string::npos) return CgroupRef{line.substr(b + 1), false};
    if (line.compare(0, a, "0") == 0 && b == a + 1) v2 = CgroupRef{line.substr(b + 1), true};
  }
  return v2;
}

std::optional<uint64_t> cgroup_headroom(const std::string& limit, const std::string& stat, const char* anon_key) {
  uint64_t cap = 0;
  if (std::sscanf(limit.c_str(), "%" SCNu64, &cap) != 1 || cap >= kNoLimit) cap = kNoLimit;  // "max" / unlimited
  if (const auto parent = stat_value(stat, "hierarchical_memory_limit")) cap = std::min(cap, *parent);
  if (cap >= kNoLimit) return std::nullopt;
  const std::optional<uint64_t> anon = stat_value(stat, anon_key);
  if (!anon) return std::nullopt;
  return cap > *anon ? cap - *anon : 0;
}

std::optional<uint64_t> available_memory_bytes() { return min_opt(mem_available(), cgroup_room()); }

}  // namespace moss
