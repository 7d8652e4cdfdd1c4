// See progress_line.h.
#include "cli/progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace moss::cli {

ProgressLine::ProgressLine(std::string label, uint64_t min_total, bool quiet)
    : label_(std::move(label)), min_total_(min_total), quiet_(quiet), tty_(isatty(fileno(stderr)) != 0) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::finish() {
  if (open_) std::fputc('\n', stderr);
  open_ = false;
}

void ProgressLine::update(uint64_t done, uint64_t total) {
  if (quiet_ || total < min_total_ || total == 0) return;
  const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total);
  if (tty_) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && open_ && now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    std::fprintf(stderr, "\r  %s%.2f / %.2f GB (%.0f%%)", label_.c_str(), static_cast<double>(done) / 1e9,
                 static_cast<double>(total) / 1e9, pct);
    open_ = true;
  } else {
    const int tenth = static_cast<int>(done * 10 / total);
    if (tenth == last_tenth_) return;
    last_tenth_ = tenth;
    std::fprintf(stderr, "  %s%.2f / %.2f GB (%.0f%%)\n", label_.c_str(), static_cast<double>(done) / 1e9,
                 static_cast<double>(total) / 1e9, pct);
  }
  std::fflush(stderr);
}

}  // namespace moss::cli
