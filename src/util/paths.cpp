// find_beside_checkout (see paths.h).
#include "util/paths.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

namespace moss {

std::string find_beside_checkout(const std::string& relative) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string prefix = "shared/";
  if (const char* env = std::getenv("MOSS_SHARED_DIR"); env && *env && relative.rfind(prefix, 0) == 0) {
    const fs::path p = fs::path(env) / relative.substr(prefix.size());
    if (fs::is_directory(p, ec)) return p.string();
  }
  std::vector<fs::path> starts;
  starts.push_back(fs::current_path(ec));
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) starts.push_back(exe.parent_path());
  for (fs::path dir : starts) {
    for (int depth = 0; depth < 8 && !dir.empty(); ++depth) {
      const fs::path p = dir / relative;
      if (fs::is_directory(p, ec)) return fs::weakly_canonical(p, ec).string();
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
  return {};
}

}  // namespace moss
