// Wall-clock time as stored in records and rows: milliseconds since the Unix epoch.
#pragma once
#include <chrono>
#include <cstdint>

namespace moss {

inline int64_t unix_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace moss
