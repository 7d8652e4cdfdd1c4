// Panel repacking (see weight_panels.h): the layout transform and its inverse, portable code.
#include "kernels/weight_panels.h"

#include <cstdlib>
#include <cstring>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"
#include "tensor/convert.h"
#include "tensor/quant_blocks.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace moss {

namespace {

// A type's geometry, whether its quants are stored + 128 (q8_0, for vpdpbusd), and the offsets within
// a unit of row i's quant bytes 4k..4k+3 of block h (0, 1) and of its scale.
struct PanelType {
  PanelGeometry g;
  bool biased;
  constexpr size_t qs_at(int64_t h, int64_t k, int64_t i) const {
    return static_cast<size_t>(h) * 64 * g.vectors() + static_cast<size_t>(64 * k + 4 * i);
  }
  constexpr size_t d_at(int64_t h, int64_t i) const { return g.scales() + static_cast<size_t>(32 * h + 2 * i); }
};
constexpr PanelType kQ4_0{kPanelQ4_0, false};
constexpr PanelType kQ8_0{kPanelQ8_0, true};
static_assert(kPanelQ4_0.block_bytes() == sizeof(BlockQ4_0) && kPanelQ8_0.block_bytes() == sizeof(BlockQ8_0));
static_assert(kPanelQ4_0.unit() == 576 && kPanelQ8_0.unit() == 1088);  // whole cache lines

const PanelType& panel_type(DType t) { return t == DType::Q8_0 ? kQ8_0 : kQ4_0; }

void copy_quants(uint8_t* dst, const uint8_t* src, bool bias) {
  for (int j = 0; j < 4; ++j) dst[j] = bias ? static_cast<uint8_t>(src[j] ^ 0x80) : src[j];  // q + 128
}

bool repack_disabled() {
  const char* v = std::getenv("MOSS_REPACK");
  return v && std::strcmp(v, "0") == 0;
}
}  // namespace

bool panels_fit(const WeightMatrix& w) {
  return (w.dtype == DType::Q4_0 || w.dtype == DType::Q8_0) && w.rows > 0 && w.rows % kPanelRows == 0 && w.cols > 0 &&
         w.cols % 64 == 0;
}

bool panels_pay(const WeightMatrix& w) {
  static const bool disabled = repack_disabled();
  if (disabled || w.layout != WeightLayout::Rows || !panels_fit(w)) return false;
  const MatmulKernels& kt = matmul_kernels(active_isa());
  return (w.dtype == DType::Q8_0 ? kt.q8_0_panels : kt.q4_0_panels) != nullptr;
}

WeightMatrix repack_panels(const WeightMatrix& w, uint8_t* dst, ThreadPool& pool) {
  if (!panels_fit(w) || w.layout != WeightLayout::Rows)
    fail("cannot repack a ", dtype_name(w.dtype), " ", w.rows, " x ", w.cols,
         " matrix into panels (q4_0 or q8_0 rows, 16 | rows, 64 | K)");
  const PanelType& pt = panel_type(w.dtype);
  const int64_t nb = w.cols / 32;
  const size_t rb = static_cast<size_t>(nb) * pt.g.block_bytes();
  const auto* src = static_cast<const uint8_t*>(w.data);
  pool.parallel_for(w.rows / kPanelRows, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      uint8_t* out = dst + static_cast<size_t>(p) * kPanelRows * rb;
      for (int64_t i = 0; i < kPanelRows; ++i) {
        const uint8_t* row = src + static_cast<size_t>(p * kPanelRows + i) * rb;
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* blk = row + static_cast<size_t>(b) * pt.g.block_bytes();  // fp16 d, then the quants
          uint8_t* unit = out + static_cast<size_t>(b / 2) * pt.g.unit();
          for (size_t k = 0; k < pt.g.vectors(); ++k)
            copy_quants(unit + pt.qs_at(b % 2, static_cast<int64_t>(k), i), blk + 2 + 4 * k, pt.biased);
          std::memcpy(unit + pt.d_at(b % 2, i), blk, 2);
        }
      }
    }
  });
  WeightMatrix r = w;
  r.data = dst;
  r.layout = WeightLayout::Panels16;
  return r;
}

PanelCopy repack_panels(const WeightMatrix& w, ThreadPool& pool) {
  PanelCopy c{allocate_huge_pages(row_bytes(w.dtype, w.cols) * static_cast<size_t>(w.rows)), {}};
  c.matrix = repack_panels(w, c.memory.get(), pool);
  return c;
}

void panel_row(const WeightMatrix& w, int64_t n, uint8_t* row) {
  const PanelType& pt = panel_type(w.dtype);
  const int64_t nb = w.cols / 32;
  const size_t rb = static_cast<size_t>(nb) * pt.g.block_bytes();
  const uint8_t* panel = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(n / kPanelRows) * kPanelRows * rb;
  const int64_t i = n % kPanelRows;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* unit = panel + static_cast<size_t>(b / 2) * pt.g.unit();
    uint8_t* blk = row + static_cast<size_t>(b) * pt.g.block_bytes();
    std::memcpy(blk, unit + pt.d_at(b % 2, i), 2);
    for (size_t k = 0; k < pt.g.vectors(); ++k)
      copy_quants(blk + 2 + 4 * k, unit + pt.qs_at(b % 2, static_cast<int64_t>(k), i), pt.biased);
  }
}

}  // namespace moss
