// The 256-bit q4_k panel GEMM (layout: weight_panels.h, PanelQ4KGeometry), shared by the AVX2 and
// AVX-VNNI tables: included inside an anonymous namespace by matmul_panels_avx2.cpp and
// matmul_panels_avxvnni.cpp (each compiled for its instruction set, with -ffp-contract=off) after
// they define
//   struct BlockDot { static __m256i sum(const __m256i (&wv)[8], const int8_t* x); };
// the exact integer dot product, per 32-bit lane (weight row), of a sub-block's 32 nibbles (wv: the
// 8 vectors of 4 elements, low nibbles 0..15 then high 16..31) with the activations x[0..31].
// A panel's 64-byte vectors are taken as two halves of 8 rows. For 2-4 activation rows, rows 0..7
// pass over the whole panel, then rows 8..15 (from cache by then), so that one half's accumulators
// (two per activation row) and its 8 weight vectors fit AVX2's 16 registers; for one row (decode)
// both halves go in one pass, so the weights stream from memory once.
// The float operations are the scalar table's, in its order, each rounded on its own (see
// matmul_panels_avx512.cpp), so the outputs are its bits. The includers include <immintrin.h>,
// <cstring>, kernels/matmul_kernels.h and kernels/weight_panels.h first.

// Byte k (0..3) of each 32-bit lane, zero-extended (k is a constant once the callers are unrolled).
inline __m256i lane_byte(__m256i v, int k) {
  const __m256i ff = _mm256_set1_epi32(0xFF);
  switch (k) {
    case 0: return _mm256_and_si256(v, ff);
    case 1: return _mm256_and_si256(_mm256_srli_epi32(v, 8), ff);
    case 2: return _mm256_and_si256(_mm256_srli_epi32(v, 16), ff);
    default: return _mm256_srli_epi32(v, 24);
  }
}

// d * scale and dmin * min of the unit's 8 sub-blocks for the 8 rows of half `half`
// (get_scale_min_k4 per lane; both products exact: an 11-bit significand times a 6-bit integer).
// Once per super-block: unpacked per sub-block, the AVX2 decode GEMV ran at 30.6 GB/s in cache
// instead of 34.5.
inline void q4_k_scales(const uint8_t* unit, int half, __m256 (&scale)[8], __m256 (&mins)[8]) {
  using G = PanelQ4KGeometry;
  const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(unit + G::kD + 16 * half)));
  const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(unit + G::kDmin + 16 * half)));
  const uint8_t* sv = unit + G::kScales + 32 * static_cast<size_t>(half);
  const __m256i s0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sv)),
                s1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sv + 64)),
                s2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sv + 128));
  const __m256i m63 = _mm256_set1_epi32(63), m15 = _mm256_set1_epi32(15);
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {  // scale bytes j, j + 4, j + 8
    const __m256i b0 = lane_byte(s0, j), b1 = lane_byte(s1, j), b2 = lane_byte(s2, j);
    const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(b2, m15), _mm256_slli_epi32(_mm256_srli_epi32(b0, 6), 4));
    const __m256i mn_hi = _mm256_or_si256(_mm256_srli_epi32(b2, 4), _mm256_slli_epi32(_mm256_srli_epi32(b1, 6), 4));
    scale[j] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_and_si256(b0, m63)));
    mins[j] = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(_mm256_and_si256(b1, m63)));
    scale[j + 4] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(sc_hi));
    mins[j + 4] = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(mn_hi));
  }
}

// The 8 weight vectors of sub-block j, half `half`: low nibbles (elements 4k..4k+3), then high.
inline void q4_k_weights(const uint8_t* unit, int half, int j, __m256i (&wv)[8]) {
  using G = PanelQ4KGeometry;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const uint8_t* q = unit + G::kQuants + G::kSubBlock * static_cast<size_t>(j) + 32 * static_cast<size_t>(half);
  for (int k = 0; k < 4; ++k) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * k));
    wv[k] = _mm256_and_si256(v, low4);
    wv[k + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
  }
}

// MX activation rows x one half (8 rows) of a q4_k panel: y[r * ldy + 0..7].
template <class Dot, int MX>
void q4_k_half_tile(const BlockQ8A* x, int64_t nb, const uint8_t* panel, int half, float* y, int64_t ldy) {
  using G = PanelQ4KGeometry;
  __m256 acc[MX], corr[MX];
  for (int r = 0; r < MX; ++r) acc[r] = corr[r] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < nb / 8; ++sb) {
    const uint8_t* unit = panel + G::kUnit * static_cast<size_t>(sb);
    if (half == 0)
      for (size_t l = 0; l < G::kUnit / 64; ++l)
        _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
    __m256 scale[8], mins[8];
    q4_k_scales(unit, half, scale, mins);
    for (int j = 0; j < 8; ++j) {
      __m256i wv[8];
      q4_k_weights(unit, half, j, wv);
      const int64_t b = 8 * sb + j;
      for (int r = 0; r < MX; ++r) {
        const BlockQ8A& xb = x[r * nb + b];
        const __m256 s = _mm256_cvtepi32_ps(Dot::sum(wv, xb.qs));
        acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(s, _mm256_mul_ps(scale[j], _mm256_set1_ps(xb.d))));
        corr[r] = _mm256_add_ps(corr[r], _mm256_mul_ps(mins[j], _mm256_set1_ps(xb.ds)));
      }
    }
  }
  for (int r = 0; r < MX; ++r) _mm256_storeu_ps(y + r * ldy, _mm256_sub_ps(acc[r], corr[r]));
}

// One activation row (decode) x a whole q4_k panel, both halves of each sub-block in one pass: the
// weights stream from memory once, without a second pass over the panel. 1.24B q4_k decode, 2
// threads, three alternating rounds at 46-49 GB/s: 86-87% of the paired reads on AVX2 and AVX-VNNI,
// against 77-80% with the by-half tiles.
template <class Dot>
void q4_k_joint_tile(const BlockQ8A* x, int64_t nb, const uint8_t* panel, float* y) {
  using G = PanelQ4KGeometry;
  __m256 acc[2], corr[2];
  acc[0] = acc[1] = corr[0] = corr[1] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < nb / 8; ++sb) {
    const uint8_t* unit = panel + G::kUnit * static_cast<size_t>(sb);
    for (size_t l = 0; l < G::kUnit / 64; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
    __m256 scale[2][8], mins[2][8];
    q4_k_scales(unit, 0, scale[0], mins[0]);
    q4_k_scales(unit, 1, scale[1], mins[1]);
    for (int j = 0; j < 8; ++j) {
      const BlockQ8A& xb = x[8 * sb + j];
      for (int half = 0; half < 2; ++half) {
        __m256i wv[8];
        q4_k_weights(unit, half, j, wv);
        const __m256 s = _mm256_cvtepi32_ps(Dot::sum(wv, xb.qs));
        acc[half] = _mm256_add_ps(acc[half], _mm256_mul_ps(s, _mm256_mul_ps(scale[half][j], _mm256_set1_ps(xb.d))));
        corr[half] = _mm256_add_ps(corr[half], _mm256_mul_ps(mins[half][j], _mm256_set1_ps(xb.ds)));
      }
    }
  }
  _mm256_storeu_ps(y, _mm256_sub_ps(acc[0], corr[0]));
  _mm256_storeu_ps(y + 8, _mm256_sub_ps(acc[1], corr[1]));
}

template <class Dot, int MX>
void q4_k_panel_rows(const BlockQ8A* x, int64_t nb, const uint8_t* w, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  const size_t panel_bytes = PanelQ4KGeometry::kUnit * static_cast<size_t>(nb / 8);
  for (int64_t n = n0; n < n1; n += kPanelRows) {
    const uint8_t* panel = w + panel_bytes * static_cast<size_t>(n / kPanelRows);
    if constexpr (MX == 1) {
      q4_k_joint_tile<Dot>(x, nb, panel, y + n);
    } else {
      q4_k_half_tile<Dot, MX>(x, nb, panel, 0, y + n, ldy);
      q4_k_half_tile<Dot, MX>(x, nb, panel, 1, y + n + 8, ldy);
    }
  }
}

template <class Dot>
void gemm256_q4_k_panels_impl(const uint8_t* act, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1,
                              float* y, int64_t ldy) {
  const auto* x = reinterpret_cast<const BlockQ8A*>(act);  // rows are contiguous BlockQ8A[K / 32]
  const int64_t nb = K / 32;
  // Tiles of 4 activation rows (one thread, 8192 x 2048 in cache, m = 128: 2 rows 159 / 193
  // GFLOP/s on AVX2 / AVX-VNNI, 4 rows 187 / 226, 6 rows 185 / 229).
  for (int64_t i = 0; i < m; i += 4) {
    switch (m - i >= 4 ? 4 : m - i) {
      case 4: q4_k_panel_rows<Dot, 4>(x + i * nb, nb, w, n0, n1, y + i * ldy, ldy); break;
      case 3: q4_k_panel_rows<Dot, 3>(x + i * nb, nb, w, n0, n1, y + i * ldy, ldy); break;
      case 2: q4_k_panel_rows<Dot, 2>(x + i * nb, nb, w, n0, n1, y + i * ldy, ldy); break;
      default: q4_k_panel_rows<Dot, 1>(x + i * nb, nb, w, n0, n1, y + i * ldy, ldy); break;
    }
  }
}
