// q4_0 weights repacked in panels of 16 rows: the layout of the AVX-512 VNNI panel kernels
// (matmul_q4_0_panels_avx512.cpp), made once at model load.
//
// Why: a stored q4_0 row keeps each 32-element block's fp16 scale beside its 16 nibble bytes, so a
// kernel reading row by row must finish every 128 weights of every (activation row, weight row) pair
// with their own scales: 2 vpdpbusd, then a convert, a multiply and an FMA, and a horizontal sum per
// output at the end. In a panel the 16 lanes of a register hold the same block of 16 weight rows: the
// 8 vpdpbusd of a block (32 elements x 16 rows, activations broadcast) sum into one register, and one
// convert, multiply and FMA finish the block for all 16 rows, whose outputs land in one register.
// Measured on the development machine (one thread, 8192 x 2048 in L3): 8 activation rows 306 -> 590
// GFLOP/s, the decode GEMV 47 -> 80 GB/s.
//
// Layout: panel p is rows 16p..16p+15, stored as nb/2 units of 576 bytes (nb = K/32 blocks, even), one
// per block pair (2t, 2t+1):
//   [block 2t: 4 x 64 bytes][block 2t+1: 4 x 64 bytes][16 x fp16 d of block 2t][16 x fp16 d of 2t+1]
// where 64-byte vector k of a block holds at bytes 4i..4i+3 bytes 4k..4k+3 of row i's 16 nibble
// bytes (low nibbles: elements 4k..4k+3, high nibbles: elements 4k+16..4k+19). A panel takes exactly
// the bytes of its 16 rows, so a repacked matrix has the size of the original, and 576-byte units
// keep every load on a cache line when the matrix starts on one.
#pragma once
#include <cstdint>

namespace moss {

struct WeightMatrix;
class ThreadPool;

inline constexpr int64_t kQ4_0PanelRows = 16;

// Whether w (q4_0 rows) has the panel shape: rows % 16 == 0, K % 64 == 0 (an even block count).
bool q4_0_panels_fit(const WeightMatrix& w);

// Whether matmul() runs w faster repacked: it fits, it is stored as rows, the active kernel table has
// panel kernels (AVX-512 VNNI), and the environment does not say MOSS_REPACK=0.
bool q4_0_panels_pay(const WeightMatrix& w);

// Writes w's rows into `dst` in the panel layout (w's byte size; 64-byte aligned for aligned loads);
// the pool's threads share the panels. Returns the matrix that reads dst. Throws if w does not fit.
WeightMatrix repack_q4_0_panels(const WeightMatrix& w, uint8_t* dst, ThreadPool& pool);

// Row n of a panel matrix back as stored q4_0 blocks (18 * K/32 bytes): for the reference paths.
void q4_0_panel_row(const uint8_t* panels, int64_t K, int64_t n, uint8_t* row);

}  // namespace moss
