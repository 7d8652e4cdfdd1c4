// q4_0 panel repacking (see q4_0_panels.h): the layout transform and its inverse, portable code.
#include "kernels/q4_0_panels.h"

#include <cstdlib>
#include <cstring>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"
#include "tensor/quant_blocks.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace moss {

namespace {
constexpr size_t kUnit = 576;  // one block pair of a panel
constexpr size_t kBlock = sizeof(BlockQ4_0);

// Byte offset within a 576-byte unit of row i's nibble bytes 4k..4k+3 of block h (0, 1), and of its scale.
size_t qs_at(int64_t h, int64_t k, int64_t i) { return static_cast<size_t>(256 * h + 64 * k + 4 * i); }
size_t d_at(int64_t h, int64_t i) { return static_cast<size_t>(512 + 32 * h + 2 * i); }

bool repack_disabled() {
  const char* v = std::getenv("MOSS_REPACK");
  return v && std::strcmp(v, "0") == 0;
}
}  // namespace

bool q4_0_panels_fit(const WeightMatrix& w) {
  return w.dtype == DType::Q4_0 && w.rows > 0 && w.rows % kQ4_0PanelRows == 0 && w.cols > 0 && w.cols % 64 == 0;
}

bool q4_0_panels_pay(const WeightMatrix& w) {
  static const bool disabled = repack_disabled();
  return !disabled && w.layout == WeightLayout::Rows && q4_0_panels_fit(w) &&
         matmul_kernels(active_isa()).q4_0_panels != nullptr;
}

WeightMatrix repack_q4_0_panels(const WeightMatrix& w, uint8_t* dst, ThreadPool& pool) {
  if (!q4_0_panels_fit(w) || w.layout != WeightLayout::Rows)
    fail("cannot repack a ", w.rows, " x ", w.cols, " matrix into q4_0 panels (q4_0 rows, 16 | rows, 64 | K)");
  const int64_t nb = w.cols / 32;
  const size_t rb = static_cast<size_t>(nb) * kBlock;
  const auto* src = static_cast<const uint8_t*>(w.data);
  pool.parallel_for(w.rows / kQ4_0PanelRows, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      uint8_t* out = dst + static_cast<size_t>(p) * kQ4_0PanelRows * rb;
      for (int64_t i = 0; i < kQ4_0PanelRows; ++i) {
        const uint8_t* row = src + static_cast<size_t>(p * kQ4_0PanelRows + i) * rb;
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* blk = row + static_cast<size_t>(b) * kBlock;  // fp16 d, then 16 nibble bytes
          uint8_t* unit = out + static_cast<size_t>(b / 2) * kUnit;
          for (int64_t k = 0; k < 4; ++k) std::memcpy(unit + qs_at(b % 2, k, i), blk + 2 + 4 * k, 4);
          std::memcpy(unit + d_at(b % 2, i), blk, 2);
        }
      }
    }
  });
  WeightMatrix r = w;
  r.data = dst;
  r.layout = WeightLayout::Q4_0Panels16;
  return r;
}

void q4_0_panel_row(const uint8_t* panels, int64_t K, int64_t n, uint8_t* row) {
  const int64_t nb = K / 32;
  const size_t rb = static_cast<size_t>(nb) * kBlock;
  const uint8_t* panel = panels + static_cast<size_t>(n / kQ4_0PanelRows) * kQ4_0PanelRows * rb;
  const int64_t i = n % kQ4_0PanelRows;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* unit = panel + static_cast<size_t>(b / 2) * kUnit;
    uint8_t* blk = row + static_cast<size_t>(b) * kBlock;
    std::memcpy(blk, unit + d_at(b % 2, i), 2);
    for (int64_t k = 0; k < 4; ++k) std::memcpy(blk + 2 + 4 * k, unit + qs_at(b % 2, k, i), 4);
  }
}

}  // namespace moss
