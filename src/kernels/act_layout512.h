// The AVX-512 table's encoding of one activation row (written by quantize_act512 in
// matmul_avx512.cpp, read by the kernels there and in matmul_panels_avx512.cpp). Sections, each
// 64-byte aligned:
//   [K bytes q+128, padded to 64]      unsigned activations for vpdpbusd against signed q8_0 weights
//   [pairs x 16 f32]                   the block scales pre-broadcast per block pair ([d_b x8 | d_b+1 x8])
//   [nb f32 d*sum(q)]                  for the zero offsets of q4_0 and the mins of q4_k
//   [K bytes q (signed)]               for unsigned q4_0 nibbles times signed activations
//   [nb x 8 int32]                     -8 * (sum of q over each 4-byte lane): q4_0's offset, per lane
//   [nb / 4 x 256 bytes, K % 128 == 0] the whole-line q4_0 group layout: per group of 4 blocks
//                                      [64 x int8: elements 0..15 of each block][64 x int8: 16..31]
//                                      [16 x int32: -8 * (sum of lane l's 4 + 4 bytes)][16 x f32: d]
//   [nb x {int32 -8 * sum(q), f32 d}]  per block, for the 16-row panel kernels (the weights' offset:
//                                      q4_0 -8 * sum(q), q8_0 16x that; and the scale), broadcast)
// The values (d, q) are those of every table: d = amax/127, q = round-half-even(x/d).
// For panel matrices only the signed q and bd sections are written (quantize_act_panels): the
// panel kernels read nothing else.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moss {

struct ActLayout512 {
  int64_t nb, pairs;
  size_t dp_off, ds_off, xs_off, c8_off, q4g_off, bd_off, bytes;
  explicit ActLayout512(int64_t K) : nb(K / 32), pairs((K / 32 + 1) / 2) {
    const size_t kb = (static_cast<size_t>(K) + 63) / 64 * 64;
    dp_off = kb;
    ds_off = dp_off + static_cast<size_t>(pairs) * 64;
    xs_off = ds_off + (static_cast<size_t>(nb) * 4 + 63) / 64 * 64;
    c8_off = xs_off + kb;
    q4g_off = c8_off + kb;
    bd_off = q4g_off + (K % 128 == 0 ? static_cast<size_t>(nb / 4) * 256 : 0);
    bytes = bd_off + (static_cast<size_t>(nb) * 8 + 63) / 64 * 64;
  }
};

// One block's entry in the bd section.
struct ActBlockTerms {
  int32_t c8;  // -8 * sum(q)
  float d;
};
static_assert(sizeof(ActBlockTerms) == 8);

}  // namespace moss
