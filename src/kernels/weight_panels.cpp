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
static_assert(PanelQ4KGeometry::kUnit == kPanelRows * sizeof(BlockQ4_K) &&
              PanelQ4KGeometry::kQuants + 8 * PanelQ4KGeometry::kSubBlock == PanelQ4KGeometry::kUnit);

const PanelType& panel_type(DType t) { return t == DType::Q8_0 ? kQ8_0 : kQ4_0; }

void copy_quants(uint8_t* dst, const uint8_t* src, bool bias) {
  for (int j = 0; j < 4; ++j) dst[j] = bias ? static_cast<uint8_t>(src[j] ^ 0x80) : src[j];  // q + 128
}

// Where nibble e (0..31) of sub-block j (0..7) of a q4_k super-block lies: the stored block keeps
// sub-blocks 2c and 2c+1 in the low and high nibbles of qs[32c .. 32c+31] (element e at byte e);
// the panel keeps them as q4_0 blocks, byte b (0..15) of sub-block j holding elements b and b + 16.
struct NibbleAt {
  size_t byte;
  bool high;
};
constexpr NibbleAt stored_q4_k(int j, int e) { return {static_cast<size_t>(32 * (j / 2) + e), (j & 1) != 0}; }
// Panel byte of (j, b) for row i within the quant section: vector k = b / 4 of sub-block j, lane i.
constexpr size_t panel_q4_k(int j, int b, int64_t i) {
  return PanelQ4KGeometry::kQuants + PanelQ4KGeometry::kSubBlock * static_cast<size_t>(j) +
         64 * static_cast<size_t>(b / 4) + 4 * static_cast<size_t>(i) + static_cast<size_t>(b % 4);
}
uint8_t get_nibble(const uint8_t* qs, NibbleAt at) { return at.high ? qs[at.byte] >> 4 : qs[at.byte] & 0x0F; }
void put_nibble(uint8_t* qs, NibbleAt at, uint8_t v) {
  qs[at.byte] = at.high ? static_cast<uint8_t>((qs[at.byte] & 0x0F) | (v << 4)) : static_cast<uint8_t>((qs[at.byte] & 0xF0) | v);
}

// Row i of a q4_k super-block unit <-> its stored block.
void q4_k_to_unit(const BlockQ4_K& b, int64_t i, uint8_t* unit) {
  std::memcpy(unit + PanelQ4KGeometry::kD + 2 * i, &b.d, 2);
  std::memcpy(unit + PanelQ4KGeometry::kDmin + 2 * i, &b.dmin, 2);
  for (int v = 0; v < 3; ++v) std::memcpy(unit + PanelQ4KGeometry::kScales + 64 * v + 4 * i, b.scales + 4 * v, 4);
  for (int j = 0; j < 8; ++j)
    for (int e = 0; e < 16; ++e)
      unit[panel_q4_k(j, e, i)] = static_cast<uint8_t>(get_nibble(b.qs, stored_q4_k(j, e)) |
                                                       (get_nibble(b.qs, stored_q4_k(j, e + 16)) << 4));
}
void q4_k_from_unit(const uint8_t* unit, int64_t i, BlockQ4_K& b) {
  std::memcpy(&b.d, unit + PanelQ4KGeometry::kD + 2 * i, 2);
  std::memcpy(&b.dmin, unit + PanelQ4KGeometry::kDmin + 2 * i, 2);
  for (int v = 0; v < 3; ++v) std::memcpy(b.scales + 4 * v, unit + PanelQ4KGeometry::kScales + 64 * v + 4 * i, 4);
  for (int j = 0; j < 8; ++j)
    for (int e = 0; e < 16; ++e) {
      const uint8_t byte = unit[panel_q4_k(j, e, i)];
      put_nibble(b.qs, stored_q4_k(j, e), byte & 0x0F);
      put_nibble(b.qs, stored_q4_k(j, e + 16), byte >> 4);
    }
}

bool repack_disabled() {
  const char* v = std::getenv("MOSS_REPACK");
  return v && std::strcmp(v, "0") == 0;
}
}  // namespace

bool panels_fit(const WeightMatrix& w) {
  if (w.rows <= 0 || w.rows % kPanelRows != 0 || w.cols <= 0) return false;
  if (w.dtype == DType::Q4_K) return w.cols % 256 == 0;
  return (w.dtype == DType::Q4_0 || w.dtype == DType::Q8_0) && w.cols % 64 == 0;
}

bool panels_pay(const WeightMatrix& w) {
  static const bool disabled = repack_disabled();
  if (disabled || w.layout != WeightLayout::Rows || !panels_fit(w)) return false;
  const MatmulKernels& kt = matmul_kernels(active_isa());
  return kt.panels_for(w.dtype) != nullptr;
}

WeightMatrix repack_panels(const WeightMatrix& w, uint8_t* dst, ThreadPool& pool) {
  if (!panels_fit(w) || w.layout != WeightLayout::Rows)
    fail("cannot repack a ", dtype_name(w.dtype), " ", w.rows, " x ", w.cols,
         " matrix into panels (q4_0 or q8_0 rows with 64 | K, or q4_k rows; 16 | rows)");
  const auto* src = static_cast<const uint8_t*>(w.data);
  if (w.dtype == DType::Q4_K) {
    const int64_t nsb = w.cols / 256;
    const size_t rb = static_cast<size_t>(nsb) * sizeof(BlockQ4_K);
    pool.parallel_for(w.rows / kPanelRows, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        uint8_t* out = dst + static_cast<size_t>(p) * kPanelRows * rb;
        for (int64_t i = 0; i < kPanelRows; ++i) {
          const auto* row = reinterpret_cast<const BlockQ4_K*>(src + static_cast<size_t>(p * kPanelRows + i) * rb);
          for (int64_t b = 0; b < nsb; ++b) {
            BlockQ4_K blk;
            std::memcpy(&blk, row + b, sizeof blk);  // the file's rows need not be aligned
            q4_k_to_unit(blk, i, out + static_cast<size_t>(b) * PanelQ4KGeometry::kUnit);
          }
        }
      }
    });
    WeightMatrix r = w;
    r.data = dst;
    r.layout = WeightLayout::Panels16;
    return r;
  }
  const PanelType& pt = panel_type(w.dtype);
  const int64_t nb = w.cols / 32;
  const size_t rb = static_cast<size_t>(nb) * pt.g.block_bytes();
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
  if (w.dtype == DType::Q4_K) {
    const int64_t nsb = w.cols / 256;
    const size_t rb = static_cast<size_t>(nsb) * sizeof(BlockQ4_K);
    const uint8_t* panel = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(n / kPanelRows) * kPanelRows * rb;
    for (int64_t b = 0; b < nsb; ++b) {
      BlockQ4_K blk{};
      q4_k_from_unit(panel + static_cast<size_t>(b) * PanelQ4KGeometry::kUnit, n % kPanelRows, blk);
      std::memcpy(row + static_cast<size_t>(b) * sizeof blk, &blk, sizeof blk);
    }
    return;
  }
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
