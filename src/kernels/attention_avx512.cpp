// AVX-512 pieces of attention (used only after cpuid says so): half <-> float conversions for the
// f16 KV cache (vcvtph2ps / vcvtps2ph on 16 elements; the tail uses masked loads and stores, so
// every element takes the same instruction, same rounding, as the others), the two row operations
// of attention reading float or half cache rows directly (no conversion pass; heads of any size),
// and their whole-range forms over all rows of a head group (f32, f16 and q8_0 rows; heads of whole
// 16-element vectors).
// The row operations must give the portable loops' bits (attention_kernels.h): one 16-lane vector
// is the portable code's 16 partial sums, and every multiply and add carries an explicit rounding
// mode ({rn-sae}, the default mode), which keeps the compiler from fusing them into an FMA.
// GCC 12's avx512fintrin.h initializes vectors with _mm512_undefined_*(), which -Wmaybe-uninitialized
// reports at every inlined use (a known header false positive); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>

#include "kernels/attention_kernels.h"
#include "tensor/quant_blocks.h"

namespace moss {
namespace {

void to_f32_avx512(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
  }
}

void to_f16_avx512(const float* src, uint16_t* dst, int64_t n) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), kRound));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(dst + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), kRound));
  }
}

constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

inline __m512 mul(__m512 a, __m512 b) { return _mm512_mul_round_ps(a, b, kRound); }
inline __m512 add(__m512 a, __m512 b) { return _mm512_add_round_ps(a, b, kRound); }

// 16 elements of a cache row from element i on (all, or the lanes of m, the others zero).
template <bool F16>
inline __m512 load_row(const void* row, int64_t i) {
  if constexpr (F16)
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(row) + i)));
  else
    return _mm512_loadu_ps(static_cast<const float*>(row) + i);
}
template <bool F16>
inline __m512 load_row(const void* row, int64_t i, __mmask16 m) {
  if constexpr (F16)
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(row) + i));
  else
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(row) + i);
}

inline __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }

// The portable reduction of the 16 lanes (8, 4, 2, 1 apart, lane i += lane i + w), in registers.
inline float reduce_lanes(__m512 v) {
  v = add(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 2, 3, 2)));  // lanes 0..7 += lanes 8..15
  v = add(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 1, 1, 1)));  // lanes 0..3 += lanes 4..7
  v = add(v, _mm512_permute_ps(v, _MM_SHUFFLE(3, 2, 3, 2)));        // lanes 0, 1 += lanes 2, 3
  v = add(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 1, 1, 1)));        // lane 0 += lane 1
  return _mm512_cvtss_f32(v);
}

template <bool F16>
void dots_impl(const float* q, const void* row, int64_t G, int64_t D, float* out) {
  for (int64_t g = 0; g < G; ++g) {
    const float* qg = q + g * D;
    const int64_t base = g * D;
    __m512 acc = _mm512_setzero_ps();  // lane i: the portable code's acc[i]
    int64_t d = 0;
    for (; d + 16 <= D; d += 16) acc = add(acc, mul(_mm512_loadu_ps(qg + d), load_row<F16>(row, base + d)));
    if (d < D) {  // the tail goes to lanes 0.., the other lanes unchanged
      const __mmask16 m = tail_mask(D - d);
      acc = _mm512_mask_add_round_ps(acc, m, acc, mul(_mm512_maskz_loadu_ps(m, qg + d), load_row<F16>(row, base + d, m)),
                                     kRound);
    }
    out[g] = reduce_lanes(acc);
  }
}

template <bool F16>
void axpy_impl(const float* p, int64_t p_stride, const void* row, int64_t G, int64_t D, float* out) {
  for (int64_t g = 0; g < G; ++g) {
    const __m512 pv = _mm512_set1_ps(p[g * p_stride]);
    float* o = out + g * D;
    const int64_t base = g * D;
    int64_t d = 0;
    for (; d + 16 <= D; d += 16) _mm512_storeu_ps(o + d, add(_mm512_loadu_ps(o + d), mul(pv, load_row<F16>(row, base + d))));
    if (d < D) {
      const __mmask16 m = tail_mask(D - d);
      _mm512_mask_storeu_ps(o + d, m, add(_mm512_maskz_loadu_ps(m, o + d), mul(pv, load_row<F16>(row, base + d, m))));
    }
  }
}

void dots512(const float* q, const void* row, bool f16, int64_t G, int64_t D, float* out) {
  f16 ? dots_impl<true>(q, row, G, D, out) : dots_impl<false>(q, row, G, D, out);
}
void axpy512(const float* p, int64_t p_stride, const void* row, bool f16, int64_t G, int64_t D, float* out) {
  f16 ? axpy_impl<true>(p, p_stride, row, G, D, out) : axpy_impl<false>(p, p_stride, row, G, D, out);
}

// q8_0 rows: 16 elements = half a block, d * q exact in float32 (an 11-bit scale times an 8-bit
// integer), so these are the values dequantize_row gives.
inline __m512 load_q8(const void* row, int64_t i) {
  const auto* b = static_cast<const BlockQ8_0*>(row) + i / 32;
  const __m512 q = _mm512_cvtepi32_ps(
      _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs + (i % 32)))));
  return mul(_mm512_set1_ps(_cvtsh_ss(b->d)), q);
}

// ---- whole-range forms (attention_kernels.h: score_rows / weigh_rows) ----
// 16 elements of a row from element i on (a multiple of 16), for each cache element type.
struct RowF32 {
  static __m512 load(const uint8_t* row, int64_t i) { return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i); }
  static size_t bytes(int64_t i) { return static_cast<size_t>(i) * 4; }  // of elements 0..i-1
  static constexpr size_t kBytes16 = 64;  // bytes of 16 elements (for prefetching)
};
struct RowF16 {
  static __m512 load(const uint8_t* row, int64_t i) { return load_row<true>(row, i); }
  static size_t bytes(int64_t i) { return static_cast<size_t>(i) * 2; }
  static constexpr size_t kBytes16 = 32;
};
struct RowQ8 {
  static __m512 load(const uint8_t* row, int64_t i) { return load_q8(row, i); }
  static size_t bytes(int64_t i) { return static_cast<size_t>(i / 32) * sizeof(BlockQ8_0); }  // i: whole blocks
  static constexpr size_t kBytes16 = 17;
};

// reduce_lanes of 16 vectors at once: lane h of the result is reduce_lanes(v[h]), bit for bit. The
// same pairs are added as in reduce_lanes (lane i + lane i+8, then i + i+4, i + i+2, i + i+1), with
// halves, quarters and pairs of lanes of several vectors shuffled side by side so that each
// addition serves 2, 4, 8 and 16 heads.
inline __m512 reduce_lanes16(const __m512 v[16]) {
  __m512 x[8], y[4], z[2];
  for (int k = 0; k < 8; ++k)  // [head 2k lanes 0..7 | head 2k+1 lanes 0..7] + the same of lanes 8..15
    x[k] = add(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
               _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int k = 0; k < 4; ++k)  // 4 heads x (lanes 0..3 + lanes 4..7)
    y[k] = add(_mm512_shuffle_f32x4(x[2 * k], x[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
               _mm512_shuffle_f32x4(x[2 * k], x[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  for (int k = 0; k < 2; ++k)  // per 128-bit lane: 2 heads x (lanes 0, 1 + lanes 2, 3)
    z[k] = add(_mm512_shuffle_ps(y[2 * k], y[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
               _mm512_shuffle_ps(y[2 * k], y[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // lane 0 + lane 1 of each head; 128-bit lane k then holds heads k, k + 4, k + 8, k + 12.
  const __m512 f = add(_mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), f);
}

// The scores of 16 heads of kD elements for one row, divided by the scale: 16 independent chains
// (one per head), their sums reduced together. The row is read front to back, head after head, and
// each head's part of the row `kKvRowsAhead` on is prefetched as its head comes up: read that way a
// row streams from memory as fast as a plain read while the other core streams weights (36-38 vs
// 30-32 GB/s reading the heads side by side with the whole row prefetched at its start; /tmp
// experiment, bench/README.md). The bits are the same in either order: each head's chain takes its
// 16-element pieces in order. kD is a constant so that the head offsets are immediates.
template <class Row, int kD>
inline __m512 scores16(const float* q, const uint8_t* row, const uint8_t* ahead, __m512 vscale) {
  constexpr size_t kHeadBytes = static_cast<size_t>(kD / 16) * Row::kBytes16;
  __m512 acc[16];
#pragma GCC unroll 16
  for (int h = 0; h < 16; ++h) {
    if (ahead) prefetch_lines(ahead + h * kHeadBytes, kHeadBytes);
    acc[h] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int d = 0; d < kD; d += 16) acc[h] = add(acc[h], mul(_mm512_loadu_ps(q + h * kD + d), Row::load(row, h * kD + d)));
  }
  return _mm512_div_round_ps(reduce_lanes16(acc), vscale, kRound);
}

template <class Row>
void score_rows_impl(const float* q, const KvRows& rows, int64_t n, int64_t G, int64_t D, float scale, float* out,
                     int64_t out_stride) {
  const size_t span = static_cast<size_t>(G * D / 16) * Row::kBytes16;
  // Where 16 heads' scores go (out + h * out_stride + j), for the scatter below.
  const bool scatter = out_stride <= (int64_t{1} << 26);
  const __m512i head_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                  _mm512_set1_epi32(static_cast<int>(scatter ? out_stride : 0)));
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int64_t j = 0; j < n; ++j) {
    const uint8_t* row = rows.at(j);
    const uint8_t* ahead = j + kKvRowsAhead < n ? rows.at(j + kKvRowsAhead) : nullptr;
    int64_t g = 0;
    // 16 heads at a time for the usual head sizes; the scatter writes their 16 scores.
    for (; scatter && (D == 128 || D == 256) && g + 16 <= G; g += 16) {
      const size_t at = Row::bytes(g * D);
      const __m512 s16 = D == 128 ? scores16<Row, 128>(q + g * D, row + at, ahead ? ahead + at : nullptr, vscale)
                                  : scores16<Row, 256>(q + g * D, row + at, ahead ? ahead + at : nullptr, vscale);
      _mm512_i32scatter_ps(out + g * out_stride + j, head_offsets, s16, 4);
    }
    // The other heads: their part of the row `kKvRowsAhead` on is prefetched here.
    if (ahead && g < G) prefetch_lines(ahead + Row::bytes(g * D), span - Row::bytes(g * D));
    for (; g + 4 <= G; g += 4) {  // four heads' chains side by side
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t d = 0; d < D; d += 16)
        for (int h = 0; h < 4; ++h)
          acc[h] = add(acc[h], mul(_mm512_loadu_ps(q + (g + h) * D + d), Row::load(row, (g + h) * D + d)));
      for (int h = 0; h < 4; ++h) out[(g + h) * out_stride + j] = reduce_lanes(acc[h]) / scale;
    }
    for (; g < G; ++g) {
      __m512 acc = _mm512_setzero_ps();
      for (int64_t d = 0; d < D; d += 16) acc = add(acc, mul(_mm512_loadu_ps(q + g * D + d), Row::load(row, g * D + d)));
      out[g * out_stride + j] = reduce_lanes(acc) / scale;
    }
  }
}

// The rows pass one at a time, front to back, each in chunks of 16 vectors (256 elements) of the
// heads' output: a chunk's outputs come from `out` (L1) into registers, take the row's products and
// go back. Each output element takes its rows' products in order 0..n-1, from 0. Read row after row
// like this the rows stream from memory about as fast as a plain read beside the other core's weight
// stream; tiles of 8 rows passed chunk by chunk (the outputs staying in registers over the tile)
// read 8 rows' pieces in turn and streamed at ~80% of that (26 vs 32-34 GB/s at the host's peak;
// /tmp experiment, bench/README.md). While a chunk is computed, the same chunk of the row
// kValueRowsAhead on is prefetched.
// Element e belongs to head e / D, whose weight for row j is p[head * p_stride + j].
constexpr int64_t kValueRowsAhead = 2;
// kPerHead: vectors per head when known at compile time (8 or 16: one broadcast serves a head's
// vectors of a chunk), else 0.
template <class Row, int kPerHead>
void weigh_rows_impl(const float* p, int64_t p_stride, const KvRows& rows, int64_t n, int64_t G, int64_t D,
                     float* out) {
  constexpr int64_t kChunk = 16;
  const int64_t vectors = G * D / 16, per_head = D / 16;
  for (int64_t v = 0; v < vectors; ++v) _mm512_storeu_ps(out + v * 16, _mm512_setzero_ps());
  for (int64_t j = 0; j < n; ++j) {
    const uint8_t* row = rows.at(j);
    const uint8_t* ahead = j + kValueRowsAhead < n ? rows.at(j + kValueRowsAhead) : nullptr;
    const float* w = p + j;  // head g's weight for this row: w[g * p_stride]
    for (int64_t v0 = 0; v0 < vectors; v0 += kChunk) {
      const int64_t c = std::min(kChunk, vectors - v0);
      if (ahead) prefetch_lines(ahead + static_cast<size_t>(v0) * Row::kBytes16, static_cast<size_t>(c) * Row::kBytes16);
      float* o = out + v0 * 16;
      if (kPerHead > 0 && c == kChunk) {  // whole heads: one broadcast per head of the chunk
        constexpr int kVectorsPerHead = kPerHead > 0 ? kPerHead : 1;
        constexpr int kHeads = static_cast<int>(kChunk) / kVectorsPerHead;
        __m512 wv[kHeads];
#pragma GCC unroll 2
        for (int h = 0; h < kHeads; ++h) wv[h] = _mm512_set1_ps(w[(v0 / kVectorsPerHead + h) * p_stride]);
        __m512 acc[kChunk];
#pragma GCC unroll 16
        for (int v = 0; v < kChunk; ++v)
          acc[v] = add(_mm512_loadu_ps(o + v * 16), mul(wv[v / kVectorsPerHead], Row::load(row, (v0 + v) * 16)));
#pragma GCC unroll 16
        for (int v = 0; v < kChunk; ++v) _mm512_storeu_ps(o + v * 16, acc[v]);
        continue;
      }
      for (int64_t v = 0; v < c; ++v) {
        const __m512 wv = _mm512_set1_ps(w[(v0 + v) / per_head * p_stride]);
        _mm512_storeu_ps(o + v * 16, add(_mm512_loadu_ps(o + v * 16), mul(wv, Row::load(row, (v0 + v) * 16))));
      }
    }
  }
}

template <class Row>
void weigh_rows_any(const float* p, int64_t p_stride, const KvRows& rows, int64_t n, int64_t G, int64_t D, float* out) {
  if (D == 128)
    weigh_rows_impl<Row, 8>(p, p_stride, rows, n, G, D, out);
  else if (D == 256)
    weigh_rows_impl<Row, 16>(p, p_stride, rows, n, G, D, out);
  else
    weigh_rows_impl<Row, 0>(p, p_stride, rows, n, G, D, out);
}

void score_rows512(const float* q, const KvRows& rows, int64_t n, DType t, int64_t G, int64_t D, float scale,
                   float* out, int64_t out_stride) {
  if (t == DType::F16)
    score_rows_impl<RowF16>(q, rows, n, G, D, scale, out, out_stride);
  else if (t == DType::Q8_0)
    score_rows_impl<RowQ8>(q, rows, n, G, D, scale, out, out_stride);
  else
    score_rows_impl<RowF32>(q, rows, n, G, D, scale, out, out_stride);
}
void weigh_rows512(const float* p, int64_t p_stride, const KvRows& rows, int64_t n, DType t, int64_t G, int64_t D,
                   float* out) {
  if (t == DType::F16)
    weigh_rows_any<RowF16>(p, p_stride, rows, n, G, D, out);
  else if (t == DType::Q8_0)
    weigh_rows_any<RowQ8>(p, p_stride, rows, n, G, D, out);
  else
    weigh_rows_any<RowF32>(p, p_stride, rows, n, G, D, out);
}

constexpr AttentionKernels kTable{to_f32_avx512, to_f16_avx512, dots512, axpy512, score_rows512, weigh_rows512};

}  // namespace

const AttentionKernels& attention_kernels_avx512() { return kTable; }

}  // namespace moss
