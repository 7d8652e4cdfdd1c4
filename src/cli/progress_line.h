// The progress display of the commands that write big files (convert, quantize, bench
// --make-model): on a terminal one line rewritten in place at most once a second; when stderr is a
// file or a pipe (CI logs, `2>log`) one line per tenth of the work, so logs stay readable.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace moss::cli {

class ProgressLine {
 public:
  // label: shown before the figures; min_total: totals below this print nothing (small files
  // finish before anyone waits); quiet: print nothing at all.
  ProgressLine(std::string label, uint64_t min_total, bool quiet);
  ~ProgressLine();  // ends the line if one was drawn
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update(uint64_t done, uint64_t total);
  // Ends the in-place line now (before printing a summary).
  void finish();

 private:
  std::string label_;
  uint64_t min_total_;
  bool quiet_, tty_, open_ = false;
  int last_tenth_ = -1;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace moss::cli
