// AVX-512 (F/BW/VL/DQ + VNNI) kernel table. The plain types use 16-wide FMA tiles of 4 activation
// rows x 4 weight rows; the quantized types have their own 512-bit kernels that handle two 32-element
// blocks per instruction:
//  * activation rows are stored biased to unsigned (q + 128) so vpdpbusd (u8 x s8) multiplies them
//    by signed weights directly; the bias is removed exactly by starting each dot product from
//    -128 * (sum of the weight bytes), computed once per weight block and reused by every row;
//  * the activation scales are stored pre-broadcast per block pair ([d_b x8 | d_b+1 x8]) so a block
//    pair costs one load, one vpdpbusd, one convert, one multiply and one FMA per row.
// GCC 12's avx512fintrin.h initializes vectors with _mm512_undefined_*(), which -Wmaybe-uninitialized
// reports at every inlined use (a known header false positive); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/act_layout512.h"
#include "kernels/matmul_kernels.h"
#include "tensor/quant_blocks.h"

namespace moss {
namespace {

inline __m256i dot_u8_i8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

}  // namespace
}  // namespace moss

namespace moss {
namespace {
#include "kernels/matmul_simd_impl.h"

// ---- activation rows: the layout is in act_layout512.h ----
using ActLayout = ActLayout512;

size_t act_bytes512(int64_t K) { return ActLayout(K).bytes; }

// kAll = false: only the sections the 16-row panel kernels read (xs and bd; 1/5 of the bytes), for
// panel matrices: the full encoding cost 1.5-5 us per matmul while the other threads waited.
// Blocks [b0, b1) of the row (b0 even: a block pair is written by one call).
template <bool kAll>
void encode_act512(const float* x, uint8_t* row, int64_t K, int64_t b0, int64_t b1) {
  const ActLayout L(K);
  auto* dp = reinterpret_cast<float*>(row + L.dp_off);
  auto* ds = reinterpret_cast<float*>(row + L.ds_off);
  if constexpr (kAll)  // an odd last pair keeps a zero second half
    std::memset(dp + (b0 / 2) * 16, 0, static_cast<size_t>((b1 + 1) / 2 - b0 / 2) * 64);
  x += 32 * b0;
  for (int64_t b = b0; b < b1; ++b, x += 32) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const __m512 vid = _mm512_set1_ps(id);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid));
    const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    const __m256i q8 = _mm256_set_m128i(_mm512_cvtsepi32_epi8(q1), _mm512_cvtsepi32_epi8(q0));  // saturating
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + L.xs_off + 32 * b), q8);
    ActBlockTerms terms{-8 * sum, d};
    std::memcpy(row + L.bd_off + 8 * static_cast<size_t>(b), &terms, sizeof terms);
    if constexpr (!kAll) continue;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + 32 * b), _mm256_xor_si256(q8, _mm256_set1_epi8(-128)));
    const __m256i lane_sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), q8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + L.c8_off + 32 * b),
                        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(lane_sums, 3)));
    _mm256_storeu_ps(dp + (b / 2) * 16 + (b % 2) * 8, _mm256_set1_ps(d));
    ds[b] = d * static_cast<float>(sum);
    if (K % 128 == 0) {  // the whole-line q4_0 group layout (see ActLayout)
      uint8_t* g = row + L.q4g_off + static_cast<size_t>(b / 4) * 256;
      const int i = static_cast<int>(b % 4);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(g + 16 * i), _mm256_castsi256_si128(q8));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(g + 64 + 16 * i), _mm256_extracti128_si256(q8, 1));
      _mm_storeu_ps(reinterpret_cast<float*>(g + 192) + 4 * i, _mm_set1_ps(d));
      if (i == 3) {
        const __m512i ones = _mm512_set1_epi8(1);
        const __m512i sums = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_loadu_si512(g)),
                                                 ones, _mm512_loadu_si512(g + 64));
        _mm512_storeu_si512(g + 128, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, 3)));
      }
    }
  }
}

void quantize_act512(const float* x, uint8_t* row, int64_t K) { encode_act512<true>(x, row, K, 0, K / 32); }
void quantize_act_panels512(const float* x, uint8_t* row, int64_t K) { encode_act512<false>(x, row, K, 0, K / 32); }

inline __m512i neg_bias_correction(__m512i w) {  // -128 * (sum of each lane's 4 weight bytes)
  return _mm512_sub_epi32(_mm512_setzero_si512(),
                          _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(-128), w));
}
inline __m256i neg_bias_correction(__m256i w) {
  return _mm256_sub_epi32(_mm256_setzero_si256(),
                          _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(-128), w));
}
inline __m512 pair_scale(float a, float b) {
  return _mm512_insertf32x8(_mm512_zextps256_ps512(_mm256_set1_ps(a)), _mm256_set1_ps(b), 1);
}
// The same from the two fp16 scales: one conversion and one permute instead of two of each.
inline __m512 pair_scale_f16(uint16_t a, uint16_t b) {
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(a | (static_cast<uint32_t>(b) << 16))));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                               _mm512_zextps128_ps512(f));
}
inline __m512i join(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Signed weights of block pair (b, b+1) in activation order, and their two fp16 scales.
struct PairQ8_0 {
  static __m512i weights(const BlockQ8_0* w, int64_t b) { return join(load256(w[b].qs), load256(w[b + 1].qs)); }
  static __m256i weights1(const BlockQ8_0* w, int64_t b) { return load256(w[b].qs); }
  static float scale(const BlockQ8_0* w, int64_t b) { return f16(w[b].d); }
  static uint16_t scale_bits(const BlockQ8_0* w, int64_t b) { return w[b].d; }
};
struct PairQ4_0 {
  static __m256i one(const BlockQ4_0* w, int64_t b) {  // 32 values q - 8: low nibbles, then high
    const __m128i r = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs));
    const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r, 4), r), _mm256_set1_epi8(0x0F));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
  }
  static __m512i weights(const BlockQ4_0* w, int64_t b) {
    // [qs_b | qs_b+1 | qs_b >> 4 | qs_b+1 >> 4] -> reorder the 128-bit lanes to [lo_b, hi_b, lo_b+1, hi_b+1]
    const __m256i t =
        _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs))),
                                _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b + 1].qs)), 1);
    const __m512i u = _mm512_and_si512(join(t, _mm256_srli_epi16(t, 4)), _mm512_set1_epi8(0x0F));
    return _mm512_sub_epi8(_mm512_shuffle_i64x2(u, u, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(8));
  }
  static __m256i weights1(const BlockQ4_0* w, int64_t b) { return one(w, b); }
  static float scale(const BlockQ4_0* w, int64_t b) { return f16(w[b].d); }
  static uint16_t scale_bits(const BlockQ4_0* w, int64_t b) { return w[b].d; }
};

// Software prefetch of the weight rows: kWeightPrefetch bytes ahead (matmul_kernels.h, shared with
// the AVX2 and panel kernels), in the decode GEMVs and the tiles.
// Decode streams every weight once from DRAM, and neither a single-row GEMV nor a tile of a few
// activation rows (batched decode) has the arithmetic per byte to hide the miss latency alone.
// Measured on this Zen 5 (1.24B q4_0 model, alternating runs): GEMV 1 KB ahead no gain, 6 KB +15%
// decode tok/s at 1 and 2 threads, 12 KB the same as 6; 8-row tiles 0 / 1.5 / 3 / 6 / 9 KB ahead:
// 111-115 / 138-146 / 154-168 / 159-182 / 155-175 tok/s. Prefill (weights in L2) gains a few
// percent. Earlier trials of GEMV prefetch at short distances had found nothing.
static_assert(kWeightPrefetch == 6144, "the figures above were measured at 6 KB");
// MX activation rows x NW weight rows (wrow: row stride of W in bytes): every loaded activation
// block pair feeds NW weight rows, every unpacked weight block pair feeds MX activation rows.
template <class P, class Block, int MX, int NW>
void tile512(const uint8_t* act, size_t stride, const ActLayout& L, const uint8_t* w0, size_t wrow, float* y,
             int64_t ldy) {
  const Block* w[NW];
  for (int j = 0; j < NW; ++j) w[j] = reinterpret_cast<const Block*>(w0 + j * wrow);
  __m512 acc[NW][MX];
  for (int j = 0; j < NW; ++j)
    for (int r = 0; r < MX; ++r) acc[j][r] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= L.nb; b += 2) {
    __m512i wv[NW], negc[NW];
    __m512 dw[NW];
    for (int j = 0; j < NW; ++j) {
      _mm_prefetch(reinterpret_cast<const char*>(w[j] + b) + kWeightPrefetch, _MM_HINT_T0);
      wv[j] = P::weights(w[j], b);
      negc[j] = neg_bias_correction(wv[j]);
      dw[j] = pair_scale_f16(P::scale_bits(w[j], b), P::scale_bits(w[j], b + 1));
    }
    for (int r = 0; r < MX; ++r) {
      const uint8_t* xr = act + r * stride;
      const __m512i xv = _mm512_loadu_si512(xr + 32 * b);
      const __m512 dx = _mm512_loadu_ps(reinterpret_cast<const float*>(xr + L.dp_off) + 8 * b);
      for (int j = 0; j < NW; ++j) {
        const __m512i dot = _mm512_dpbusd_epi32(negc[j], xv, wv[j]);
        acc[j][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[j], dx), acc[j][r]);
      }
    }
  }
  if (b < L.nb) {  // odd block count: the last block alone, in the low half
    for (int j = 0; j < NW; ++j) {
      const __m256i wv = P::weights1(w[j], b);
      const __m256i negc = neg_bias_correction(wv);
      const __m512 dw = _mm512_set1_ps(P::scale(w[j], b));
      for (int r = 0; r < MX; ++r) {
        const uint8_t* xr = act + r * stride;
        const __m256i dot = _mm256_dpbusd_epi32(negc, load256(xr + 32 * b), wv);
        // the second half of this pair's scale vector is zero, so the upper lanes add nothing
        const __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps(reinterpret_cast<const float*>(xr + L.dp_off) + 8 * b));
        acc[j][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(dot)), sc, acc[j][r]);
      }
    }
  }
  for (int j = 0; j < NW; ++j)
    for (int r = 0; r < MX; ++r) y[r * ldy + j] = _mm512_reduce_add_ps(acc[j][r]);
}

// The decode GEMVs' last block of an odd block count: alone, in the low half (see tile512).
template <class P, class Block>
inline __m512 last_odd_block(const uint8_t* act, const ActLayout& L, const Block* w, int64_t b, __m512 acc) {
  const __m256i wv = P::weights1(w, b);
  const __m256i dot = _mm256_dpbusd_epi32(neg_bias_correction(wv), load256(act + 32 * b), wv);
  const auto* dp = reinterpret_cast<const float*>(act + L.dp_off);
  const __m512 sc = _mm512_mul_ps(_mm512_set1_ps(P::scale(w, b)), _mm512_loadu_ps(dp + 8 * b));
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(dot)), sc, acc);
}

// Decode (one activation row, one weight row): the same arithmetic as tile512<P, Block, 1, 1>, but
// two block pairs per step into two accumulators, so consecutive pairs do not wait on each other's
// FMA (one chain of dependent FMAs capped a core below its share of the memory bandwidth).
template <class P, class Block>
void gemv512(const uint8_t* act, const ActLayout& L, const uint8_t* w0, float* y) {
  const Block* w = reinterpret_cast<const Block*>(w0);
  const auto* dp = reinterpret_cast<const float*>(act + L.dp_off);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  auto pair = [&](int64_t b, __m512& acc) {
    _mm_prefetch(reinterpret_cast<const char*>(w + b) + kWeightPrefetch, _MM_HINT_T0);
    const __m512i wv = P::weights(w, b);
    const __m512i dot = _mm512_dpbusd_epi32(neg_bias_correction(wv), _mm512_loadu_si512(act + 32 * b), wv);
    const __m512 dw = pair_scale_f16(P::scale_bits(w, b), P::scale_bits(w, b + 1));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, _mm512_loadu_ps(dp + 8 * b)), acc);
  };
  int64_t b = 0;
  for (; b + 4 <= L.nb; b += 4) pair(b, acc0), pair(b + 2, acc1);
  if (b + 2 <= L.nb) pair(b, acc0), b += 2;
  if (b < L.nb) acc1 = last_odd_block<P>(act, L, w, b, acc1);
  *y = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// Decode GEMV for q4_0, ~25% more arithmetic throughput than gemv512<PairQ4_0> (in L2: 36 vs 29 GB/s
// per core): each block's 16 nibble bytes are broadcast to both halves of a 256-bit lane, a per-word
// shift (0 for the low half, 4 for the high one) and a mask give the nibbles 0..15 in element order,
// and vpdpbusd multiplies them (unsigned) by the signed activations, starting from -8 * (sum of the
// lane's activations), so that the result is the exact integer sum of (nibble - 8) * q, as in
// tile512. (One 64-byte load per 36-byte pair with word permutes was faster in cache but reached
// only ~60% of the memory bandwidth on AMD Zen 5: loads crossing cache lines that miss are slow.)
void gemv512_q4_0(const uint8_t* act, const ActLayout& L, const uint8_t* w0, float* y) {
  const auto* w = reinterpret_cast<const BlockQ4_0*>(w0);
  static_assert(sizeof(BlockQ4_0) == 18);
  const auto* dp = reinterpret_cast<const float*>(act + L.dp_off);
  const uint8_t* xs = act + L.xs_off;
  const uint8_t* c8 = act + L.c8_off;
  const __m512i shifts = _mm512_set_epi16(4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                          4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  auto pair = [&](int64_t b, __m512& acc) {
    _mm_prefetch(reinterpret_cast<const char*>(w + b) + kWeightPrefetch, _MM_HINT_T0);
    const __m256i lo = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs)));
    const __m256i hi = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b + 1].qs)));
    const __m512i nib = _mm512_and_si512(_mm512_srlv_epi16(join(lo, hi), shifts), low4);
    const __m512 dw = pair_scale_f16(w[b].d, w[b + 1].d);
    const __m512i dot = _mm512_dpbusd_epi32(_mm512_loadu_si512(c8 + 32 * b), nib, _mm512_loadu_si512(xs + 32 * b));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, _mm512_loadu_ps(dp + 8 * b)), acc);
  };
  int64_t b = 0;
  for (; b + 4 <= L.nb; b += 4) pair(b, acc0), pair(b + 2, acc1);
  if (b + 2 <= L.nb) pair(b, acc0), b += 2;
  if (b < L.nb) acc1 = last_odd_block<PairQ4_0>(act, L, w, b, acc1);
  *y = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// ---- q4_0 from whole, aligned cache lines (AVX512-VBMI byte permutes) ----
// A q4_0 row of K % 1024 == 0 elements starting on a 64-byte boundary is a sequence of periods of 32
// blocks = 576 bytes = 9 cache lines, and group g (blocks 4g..4g+3, 72 bytes at offset 72g) lies at
// byte 8g of line g and ends within line g+1. So each group is two aligned line loads and one vpermt2b
// (the 64 nibble bytes of its 4 blocks, 16 each) plus one vpermt2w (their 4 fp16 scales, 4 lanes each):
// no load crosses a cache line, and one 512-bit register holds 128 weights instead of 64. Low nibbles
// are elements 0..15 of each block and high nibbles 16..31, which the activation group layout (see
// ActLayout) matches; two chained vpdpbusd (unsigned nibbles x signed activations, starting from
// -8 * the lane's activation sum) give each lane the exact integer sum of (q - 8) * x over 8 elements,
// lanes 4i..4i+3 belonging to block i. Per 128 weights and activation row this is 2 vpdpbusd, 1 convert,
// 1 multiply and 1 FMA (the pair kernels above: twice that), and the unpacking per weight row is about
// half of theirs.
// VBMI is enabled per function (GCC and clang both honour the attribute; clang ignores GCC's
// target pragmas), so the rest of this file still runs on AVX-512 CPUs without it.
#define MOSS_TARGET_VBMI __attribute__((target("avx512vbmi")))
struct Q4LineIndex {
  __m512i qs[8], d[8];
};
const Q4LineIndex& q4_line_index() {
  static const Q4LineIndex index = [] {
    Q4LineIndex t;
    for (int g = 0; g < 8; ++g) {
      alignas(64) uint8_t qb[64];
      alignas(64) uint16_t dw[32] = {};
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 16; ++j) qb[16 * i + j] = static_cast<uint8_t>(8 * g + 18 * i + 2 + j);
      for (int k = 0; k < 16; ++k) dw[k] = static_cast<uint16_t>(4 * g + 9 * (k / 4));  // word of block k/4's d
      t.qs[g] = _mm512_load_si512(qb);
      t.d[g] = _mm512_load_si512(dw);
    }
    return t;
  }();
  return index;
}

// MX activation rows x NW weight rows; with a single pair (decode GEMV) alternate groups go to two
// accumulators so consecutive FMAs do not wait on each other.
template <int MX, int NW>
MOSS_TARGET_VBMI void tile512_q4_0_lines(const uint8_t* act, size_t stride, const ActLayout& L, const uint8_t* w0, size_t wrow,
                        float* y, int64_t ldy) {
  const Q4LineIndex& ix = q4_line_index();
  constexpr int A = MX * NW == 1 ? 2 : 1;
  __m512 acc[NW][MX][A];
  for (int j = 0; j < NW; ++j)
    for (int r = 0; r < MX; ++r)
      for (int a = 0; a < A; ++a) acc[j][r][a] = _mm512_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const int64_t periods = L.nb / 32;
  for (int64_t p = 0; p < periods; ++p) {
    const uint8_t* wl[NW];
    for (int j = 0; j < NW; ++j) {
      wl[j] = w0 + j * wrow + 576 * p;
      _mm_prefetch(reinterpret_cast<const char*>(wl[j]) + 512 + kWeightPrefetch, _MM_HINT_T0);
    }
    const uint8_t* xg = act + L.q4g_off + 8 * 256 * p;
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      __m512i lo[NW], hi[NW];
      __m512 dw[NW];
      for (int j = 0; j < NW; ++j) {
        _mm_prefetch(reinterpret_cast<const char*>(wl[j]) + 64 * g + kWeightPrefetch, _MM_HINT_T0);
        const __m512i a = _mm512_load_si512(wl[j] + 64 * g), b = _mm512_load_si512(wl[j] + 64 * g + 64);
        const __m512i q = _mm512_permutex2var_epi8(a, ix.qs[g], b);
        lo[j] = _mm512_and_si512(q, low4);
        hi[j] = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
        dw[j] = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(a, ix.d[g], b)));
      }
      for (int r = 0; r < MX; ++r) {
        const uint8_t* xr = xg + 256 * g + r * stride;
        const __m512i xlo = _mm512_loadu_si512(xr), xhi = _mm512_loadu_si512(xr + 64);
        const __m512i c8 = _mm512_loadu_si512(xr + 128);
        const __m512 dx = _mm512_loadu_ps(xr + 192);
        for (int j = 0; j < NW; ++j) {
          const __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(c8, lo[j], xlo), hi[j], xhi);
          __m512& s = acc[j][r][g % A];
          s = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[j], dx), s);
        }
      }
    }
  }
  for (int j = 0; j < NW; ++j)
    for (int r = 0; r < MX; ++r) {
      __m512 s = acc[j][r][0];
      for (int a = 1; a < A; ++a) s = _mm512_add_ps(s, acc[j][r][a]);
      y[r * ldy + j] = _mm512_reduce_add_ps(s);
    }
}
#undef MOSS_TARGET_VBMI

template <int MX, int NW>
struct TQ4_0Lines {
  static constexpr bool kTwoRowsAt4 = true;
  static void run(const uint8_t* a, size_t s, const ActLayout& L, const uint8_t* w, size_t wrow, float* y,
                  int64_t ldy) {
    tile512_q4_0_lines<MX, NW>(a, s, L, w, wrow, y, ldy);
  }
};

template <int MX, int NW>
void tile512_q4_k(const uint8_t* act, size_t stride, const ActLayout& L, const uint8_t* w0, size_t wrow, float* y,
                  int64_t ldy) {
  const BlockQ4_K* w[NW];
  for (int j = 0; j < NW; ++j) w[j] = reinterpret_cast<const BlockQ4_K*>(w0 + j * wrow);
  __m512 acc[NW][MX];
  __m256 corr[NW][MX];
  for (int j = 0; j < NW; ++j)
    for (int r = 0; r < MX; ++r) acc[j][r] = _mm512_setzero_ps(), corr[j][r] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < L.nb / 8; ++b) {
    alignas(32) float dsc[NW][8], dm[NW][8];
    for (int j = 0; j < NW; ++j) {
      // a 144-byte super-block per step: prefetch both of its cache lines' worth ahead
      _mm_prefetch(reinterpret_cast<const char*>(w[j] + b) + kWeightPrefetch, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w[j] + b) + kWeightPrefetch + 64, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w[j] + b) + kWeightPrefetch + 128, _MM_HINT_T0);
      const float d = f16(w[j][b].d), dmin = f16(w[j][b].dmin);
      for (int s = 0; s < 8; ++s) {
        uint8_t sc, mn;
        get_scale_min_k4(s, w[j][b].scales, &sc, &mn);
        dsc[j][s] = d * sc;
        dm[j][s] = dmin * mn;
      }
      const __m256 dmv = _mm256_load_ps(dm[j]);
      for (int r = 0; r < MX; ++r)  // the mins: sum over sub-blocks of dmin*m * d_x*sum(q_x)
        corr[j][r] = _mm256_fmadd_ps(
            dmv, _mm256_loadu_ps(reinterpret_cast<const float*>(act + r * stride + L.ds_off) + 8 * b), corr[j][r]);
    }
    for (int c = 0; c < 4; ++c) {
      __m512i wv[NW], negc[NW];
      __m512 dw[NW];
      for (int j = 0; j < NW; ++j) {
        const __m256i raw = load256(w[j][b].qs + 32 * c);  // sub-block 2c in the low nibbles, 2c+1 high
        wv[j] = join(_mm256_and_si256(raw, low4), _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4));
        negc[j] = neg_bias_correction(wv[j]);
        dw[j] = pair_scale(dsc[j][2 * c], dsc[j][2 * c + 1]);
      }
      const int64_t blk = 8 * b + 2 * c;
      for (int r = 0; r < MX; ++r) {
        const uint8_t* xr = act + r * stride;
        const __m512i xv = _mm512_loadu_si512(xr + 32 * blk);
        const __m512 dx = _mm512_loadu_ps(reinterpret_cast<const float*>(xr + L.dp_off) + 8 * blk);
        for (int j = 0; j < NW; ++j) {
          const __m512i dot = _mm512_dpbusd_epi32(negc[j], xv, wv[j]);
          acc[j][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[j], dx), acc[j][r]);
        }
      }
    }
  }
  for (int j = 0; j < NW; ++j)
    for (int r = 0; r < MX; ++r) {
      __m128 c4 = _mm_add_ps(_mm256_castps256_ps128(corr[j][r]), _mm256_extractf128_ps(corr[j][r], 1));
      c4 = _mm_add_ps(c4, _mm_movehl_ps(c4, c4));
      c4 = _mm_add_ss(c4, _mm_movehdup_ps(c4));
      y[r * ldy + j] = _mm512_reduce_add_ps(acc[j][r]) - _mm_cvtss_f32(c4);
    }
}

template <int MX, int NW>
struct TQ8_0 {
  static constexpr bool kTwoRowsAt4 = false;
  static void run(const uint8_t* a, size_t s, const ActLayout& L, const uint8_t* w, size_t wrow, float* y,
                  int64_t ldy) {
    if constexpr (MX == 1 && NW == 1)
      gemv512<PairQ8_0, BlockQ8_0>(a, L, w, y);
    else
      tile512<PairQ8_0, BlockQ8_0, MX, NW>(a, s, L, w, wrow, y, ldy);
  }
};
template <int MX, int NW>
struct TQ4_0 {
  static constexpr bool kTwoRowsAt4 = false;
  static void run(const uint8_t* a, size_t s, const ActLayout& L, const uint8_t* w, size_t wrow, float* y,
                  int64_t ldy) {
    if constexpr (MX == 1 && NW == 1)
      gemv512_q4_0(a, L, w, y);
    else
      tile512<PairQ4_0, BlockQ4_0, MX, NW>(a, s, L, w, wrow, y, ldy);
  }
};
template <int MX, int NW>
struct TQ4_K {
  static constexpr bool kTwoRowsAt4 = false;
  static void run(const uint8_t* a, size_t s, const ActLayout& L, const uint8_t* w, size_t wrow, float* y,
                  int64_t ldy) {
    // NW = 2 in one tile would need 32 accumulators at MX = 8 (acc + mins) and spill: one row at a time.
    for (int j = 0; j < NW; ++j) tile512_q4_k<MX, 1>(a, s, L, w + j * wrow, wrow, y + j, ldy);
  }
};

// Activation tiles outside, weight rows inside: a tile of 4 encoded rows stays in L1 while the chunk
// of weight rows (sized by the caller to fit L2) streams past it, two rows at a time.
template <template <int, int> class Tile, size_t kBlockBytes, int kBlockElems>
void gemm512(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1,
             float* y, int64_t ldy) {
  const ActLayout L(K);
  const size_t rb = static_cast<size_t>(K / kBlockElems) * kBlockBytes;
  auto rows = [&](auto mx, int64_t i) {
    constexpr int MX = decltype(mx)::value;
    int64_t n = n0;
    // Decode (m < 4) is memory bound: one weight row at a time keeps a single sequential stream.
    // Two weight rows per tile for 8 activation rows (and for prefill's 4-row remainder); with 4..7
    // rows, two interleaved weight streams from DRAM were slower than one for the block-pair kernels
    // (batched decode of 4 sequences: 126 vs 141 tok/s), as for m < 4, but not for the whole-line
    // q4_0 kernels, whose unpacking per weight row is then shared by twice the work (4 sequences:
    // 155-168 vs 113-116 tok/s; q8_0 with two rows: 84-95 vs 88-104).
    if constexpr (MX >= 4)
      if (MX == 8 || (MX == 4 && Tile<MX, 1>::kTwoRowsAt4) || m >= 16)
        for (; n + 2 <= n1; n += 2) Tile<MX, 2>::run(act + i * stride, stride, L, w + rb * n, rb, y + i * ldy + n, ldy);
    for (; n < n1; ++n) Tile<MX, 1>::run(act + i * stride, stride, L, w + rb * n, rb, y + i * ldy + n, ldy);
  };
  int64_t i = 0;
  for (; i + 8 <= m; i += 8) rows(std::integral_constant<int, 8>{}, i);
  if (i + 4 <= m) rows(std::integral_constant<int, 4>{}, i), i += 4;
  switch (m - i) {
    case 3:
      rows(std::integral_constant<int, 3>{}, i);
      break;
    case 2:
      rows(std::integral_constant<int, 2>{}, i);
      break;
    case 1:
      rows(std::integral_constant<int, 1>{}, i);
      break;
    default:
      break;
  }
}

// ---- plain weight types: 16 weights per step converted to f32; MX activation rows x NW weight rows
// per tile (16 accumulators at 4 x 4), activation tile in L1/L2, weight rows streaming. ----
struct Load16F32 {
  static __m512 load(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static constexpr int kBytes = 4;
  using Tail = LoadF32;
};
struct Load16F16 {
  static __m512 load(const uint8_t* p) { return _mm512_cvtph_ps(load256(p)); }
  static constexpr int kBytes = 2;
  using Tail = LoadF16;
};
struct Load16BF16 {
  static __m512 load(const uint8_t* p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16));
  }
  static constexpr int kBytes = 2;
  using Tail = LoadBF16;
};

template <class L, int MX, int NW>
void tile512_float(const float* x, int64_t K, const uint8_t* w, size_t wrow, float* y, int64_t ldy) {
  __m512 acc[NW][MX];
  for (int j = 0; j < NW; ++j)
    for (int r = 0; r < MX; ++r) acc[j][r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 wv[NW];
    for (int j = 0; j < NW; ++j) wv[j] = L::load(w + j * wrow + k * L::kBytes);
    for (int r = 0; r < MX; ++r) {
      const __m512 xv = _mm512_loadu_ps(x + r * K + k);
      for (int j = 0; j < NW; ++j) acc[j][r] = _mm512_fmadd_ps(wv[j], xv, acc[j][r]);
    }
  }
  for (int j = 0; j < NW; ++j)
    for (int r = 0; r < MX; ++r) {
      float s = _mm512_reduce_add_ps(acc[j][r]);
      for (int64_t t = k; t < K; ++t) s += x[r * K + t] * L::Tail::load1(w + j * wrow + t * L::kBytes);
      y[r * ldy + j] = s;
    }
}

template <class L>
void gemm512_float(const float* x, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y,
                   int64_t ldy) {
  const size_t rb = static_cast<size_t>(K) * L::kBytes;
  auto rows = [&](auto mx, int64_t i) {
    constexpr int MX = decltype(mx)::value;
    int64_t n = n0;
    if constexpr (MX == 4)  // decode (m < 4) keeps one sequential weight stream
      for (; n + 4 <= n1; n += 4) tile512_float<L, MX, 4>(x + i * K, K, w + rb * n, rb, y + i * ldy + n, ldy);
    for (; n < n1; ++n) tile512_float<L, MX, 1>(x + i * K, K, w + rb * n, rb, y + i * ldy + n, ldy);
  };
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) rows(std::integral_constant<int, 4>{}, i);
  switch (m - i) {
    case 3:
      rows(std::integral_constant<int, 3>{}, i);
      break;
    case 2:
      rows(std::integral_constant<int, 2>{}, i);
      break;
    case 1:
      rows(std::integral_constant<int, 1>{}, i);
      break;
    default:
      break;
  }
}

// q4_0: the whole-line kernels where the CPU has VBMI and the rows fit their period layout.
void gemm512_q4_0(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1,
                  float* y, int64_t ldy) {
  if (avx512_q4_0_whole_lines(w, K))
    gemm512<TQ4_0Lines, sizeof(BlockQ4_0), 32>(act, stride, m, w, K, n0, n1, y, ldy);
  else
    gemm512<TQ4_0, sizeof(BlockQ4_0), 32>(act, stride, m, w, K, n0, n1, y, ldy);
}

const MatmulKernels kTable512{act_bytes512,
                              quantize_act512,
                              gemm512<TQ8_0, sizeof(BlockQ8_0), 32>,
                              gemm512_q4_0,
                              gemm512<TQ4_K, sizeof(BlockQ4_K), 256>,
                              gemm512_float<Load16F32>,
                              gemm512_float<Load16F16>,
                              gemm512_float<Load16BF16>,
                              gemm512_q4_0_panels,
                              gemm512_q8_0_panels,
                              quantize_act_panels512,
                              gemm512_q4_k_panels,
                              encode_act512<true>,
                              encode_act512<false>};

}  // namespace
bool avx512_q4_0_whole_lines(const uint8_t* w, int64_t K) {
  static const bool vbmi = cpu_features().avx512vbmi;
  return vbmi && K % 1024 == 0 && reinterpret_cast<uintptr_t>(w) % 64 == 0;
}
const MatmulKernels& matmul_kernels_avx512() { return kTable512; }
}  // namespace moss
