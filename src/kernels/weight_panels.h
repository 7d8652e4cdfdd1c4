// q4_0, q8_0 and q4_k weights repacked in panels of 16 rows: the layout of the panel kernels
// (matmul_panels_avx512.cpp: all three with AVX-512 VNNI; matmul_panels_avxvnni.cpp: all three with
// AVX-VNNI; matmul_panels_avx2.cpp: q4_0 and q4_k with AVX2; q4_k's 256-bit body is
// matmul_panels_q4_k_256.h), made once at model load.
//
// Why: a stored row keeps each 32-element block's fp16 scale beside its quants, so a kernel reading
// row by row must finish every block of every (activation row, weight row) pair with its own scales:
// for q4_0 per 128 weights 2 vpdpbusd, then a convert, a multiply and an FMA, and a horizontal sum
// per output at the end. In a panel the 16 lanes of a register hold the same block of 16 weight rows:
// the 8 vpdpbusd of a block (32 elements x 16 rows, activations broadcast 4 bytes at a time) sum into
// one register, and one convert, multiply and FMA finish the block for all 16 rows, whose outputs
// land in one register. Measured on the development machine (one thread, 8192 x 2048 q4_0 in L3):
// 8 activation rows 305 -> 596 GFLOP/s, the decode GEMV 46 -> 96 GB/s (bench/README.md).
//
// Layout: panel p is rows 16p..16p+15, stored as nb/2 units (nb = K/32 blocks, even), one per block
// pair (2t, 2t+1): [block 2t: V x 64 bytes][block 2t+1: V x 64 bytes][16 x fp16 d of block 2t]
// [16 x fp16 d of 2t+1], where 64-byte vector k of a block holds at bytes 4i..4i+3 bytes 4k..4k+3 of
// row i's quants:
//   q4_0: V = 4 vectors of the 16 nibble bytes (low nibbles: elements 4k..4k+3, high nibbles:
//         elements 4k+16..4k+19), 576-byte units;
//   q8_0: V = 8 vectors of the 32 int8 quants stored as q + 128 (unsigned, for vpdpbusd; the kernel
//         takes 128 * sum(x) off), 1088-byte units.
// q4_k: one 2304-byte unit per super-block of 256 elements (16 x 144 bytes, 36 cache lines):
//   [16 x fp16 d][16 x fp16 dmin]                  64 bytes
//   [3 x 64-byte vectors: bytes 4v..4v+3 of row i's 12 packed 6-bit scales and mins at 4i]
//   [8 sub-blocks x 4 vectors x 64 bytes]           the 32 nibbles of sub-block j of row i as q4_0's
//                                                   16 bytes (low: elements 4k..4k+3, high: 16+4k..)
// so the kernels unpack each row's scales and mins in its own 32-bit lane, 16 rows at once, and
// multiply sub-blocks like q4_0 blocks (the stored q4_k interleaves sub-blocks 2c and 2c+1 in the
// low and high nibbles of the same 32 bytes).
// A panel takes exactly the bytes of its 16 rows, so a repacked matrix has the size of the original,
// and units of whole cache lines keep every load on one line when the matrix starts on one.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/matmul.h"
#include "util/huge_pages.h"

namespace moss {

class ThreadPool;

inline constexpr int64_t kPanelRows = 16;

// The layout's sizes for a type, shared by the repacking and the kernels.
struct PanelGeometry {
  size_t quant_bytes;  // per block and row: 16 (q4_0 nibbles) or 32 (q8_0)
  constexpr size_t block_bytes() const { return 2 + quant_bytes; }  // a stored block: fp16 d, quants
  constexpr size_t vectors() const { return quant_bytes / 4; }     // 64-byte vectors per block
  constexpr size_t scales() const { return 2 * 64 * vectors(); }   // where a unit's 2 x 16 scales start
  constexpr size_t unit() const { return scales() + 64; }          // bytes of a block pair
  constexpr size_t panel_bytes(int64_t nb) const {                  // 16 rows of nb blocks
    return static_cast<size_t>(kPanelRows) * static_cast<size_t>(nb) * block_bytes();
  }
};
inline constexpr PanelGeometry kPanelQ4_0{16}, kPanelQ8_0{32};

// The q4_k unit's sections (bytes from the start of a super-block's unit).
struct PanelQ4KGeometry {
  static constexpr size_t kD = 0, kDmin = 32, kScales = 64, kQuants = 256;
  static constexpr size_t kSubBlock = 256;  // 4 vectors per sub-block
  static constexpr size_t kUnit = 2304;      // 16 rows x 144 bytes
};

// Whether w (stored rows) has a panel type and shape: q4_0 or q8_0 with K % 64 == 0, or q4_k (K % 256
// == 0, as every q4_k row), and rows % 16 == 0.
bool panels_fit(const WeightMatrix& w);

// Whether matmul() runs w faster repacked: it fits, it is stored as rows, the active kernel table has
// panel kernels for its type (MatmulKernels::*_panels), and the environment does not say
// MOSS_REPACK=0.
bool panels_pay(const WeightMatrix& w);

// Writes w's rows into `dst` in the panel layout (w's byte size; 64-byte aligned for aligned loads);
// the pool's threads share the panels. Returns the matrix that reads dst. Throws if w does not fit.
WeightMatrix repack_panels(const WeightMatrix& w, uint8_t* dst, ThreadPool& pool);

// A panel copy of w in memory of its own (2 MiB pages, as the model's): repack_panels into a fresh
// buffer, for benchmarks and tests (the model packs all its matrices into one buffer).
struct PanelCopy {
  HugePageBuffer memory;
  WeightMatrix matrix;
};
PanelCopy repack_panels(const WeightMatrix& w, ThreadPool& pool);

// Row n of a panel matrix back in its stored form (row_bytes(dtype, K) bytes): for reference paths.
void panel_row(const WeightMatrix& w, int64_t n, uint8_t* row);

}  // namespace moss
