// The 256-bit panel GEMMs (layout: weight_panels.h), shared by the AVX2 and AVX-VNNI tables:
// included inside an anonymous namespace by matmul_panels_avx2.cpp and matmul_panels_avxvnni.cpp
// (each compiled for its instruction set, with -ffp-contract=off), which then instantiate them with
//   struct Dot { static __m256i sum(__m256i init, const __m256i (&wv)[8], const int8_t* x); };
// init plus the exact integer dot product, per 32-bit lane (weight row), of a block's or
// sub-block's 32 unsigned weights (wv: 8 vectors of 4 elements each, elements 4k..4k+3 in wv[k])
// with the activations x[0..31]: vpdpbusd with AVX-VNNI; vpmaddubsw + vpmaddwd on AVX2, which is
// exact for nibbles (0..15) but would saturate on q8_0's quants + 128, so the AVX2 table has no
// q8_0 panels.
// A panel's 64-byte vectors are taken as two halves of 8 rows (one 32-bit lane per row). For 1-2
// activation rows both halves go in one pass (decode streams the weights once); for 3-4 rows,
// rows 0..7 pass over the whole panel, then rows 8..15 from cache, so that one half's
// accumulators and its 8 weight vectors fit the 16 vector registers.
// Arithmetic, the same on both tables and the AVX-512 one (so the same bits on every level,
// WeightPanels.PanelKernelsGiveTheSameBitsOnEveryLevel):
// - q4_0 / q8_0: per block, the integer sum from the weights' offset term (-8 or -128 times the
//   block's activation sum, once per call), then convert, multiply by d_x, FMA with the 8 weight
//   scales, the blocks in order per output;
// - q4_k: the scalar table's separate multiplies and adds in its order (see
//   matmul_panels_avx512.cpp), so also the scalar table's bits.
// The includers include <immintrin.h>, <cstring>, <vector>, kernels/matmul_kernels.h and
// kernels/weight_panels.h first.

inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// ---- q4_0 and q8_0 ----

struct PanelQ4_0 {
  static constexpr PanelGeometry kGeometry = kPanelQ4_0;
  static constexpr int32_t kOffset = -8;
  // The 8 vectors of one half of a block (8 rows): q4_0's 4 stored vectors give the low nibbles
  // (elements 4k..4k+3) and the high ones (elements 16+4k..16+4k+3).
  static void load(const uint8_t* half, __m256i (&wv)[8]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (int k = 0; k < 4; ++k) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(half + 64 * k));
      wv[k] = _mm256_and_si256(v, low4);
      wv[k + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    }
  }
};
struct PanelQ8_0 {
  static constexpr PanelGeometry kGeometry = kPanelQ8_0;
  static constexpr int32_t kOffset = -128;
  static void load(const uint8_t* half, __m256i (&wv)[8]) {
    for (int k = 0; k < 8; ++k) wv[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(half + 64 * k));
  }
};

// The start of each block's integer chain: offset * (sum of its 32 quants), for `count` blocks, in a
// buffer of the calling thread (once per call rather than once per panel).
inline const int32_t* block_offsets(const BlockQ8A* x, int64_t count, int32_t offset) {
  thread_local std::vector<int32_t> out;
  out.resize(static_cast<size_t>(count));
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < count; ++i) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs));
    const __m256i s8 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    s = _mm_hadd_epi32(s, s);
    s = _mm_hadd_epi32(s, s);
    out[static_cast<size_t>(i)] = offset * _mm_cvtsi128_si32(s);
  }
  return out.data();
}

// The 8 weight rows' scales of block h (0, 1) of a unit, half `half`, and where its quants start.
template <class T>
inline __m256 half_scales(const uint8_t* unit, int h, int half) {
  return _mm256_cvtph_ps(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(unit + T::kGeometry.scales() + 32 * h + 16 * half)));
}
template <class T>
inline const uint8_t* half_quants(const uint8_t* unit, int h, int half) {
  return unit + 64 * T::kGeometry.vectors() * static_cast<size_t>(h) + 32 * static_cast<size_t>(half);
}

// acc + one activation row's block against 8 weight rows.
template <class Dot>
inline __m256 add_block(__m256 acc, const __m256i (&wv)[8], __m256 dw, const BlockQ8A& xb, int32_t off) {
  const __m256i s = Dot::sum(_mm256_set1_epi32(off), wv, xb.qs);
  return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(xb.d)), dw, acc);
}

// MX activation rows x one panel (16 weight rows): y[r * ldy + 0..15]; off[r * nb + b]: the start
// of block b's chain for row r. Measured with AVX-VNNI, one thread, 8192 x 2048 in cache: 4 rows
// joint 270 (q4_0) / 233 (q8_0) GFLOP/s, by half 319 / 296; 1 row joint 224 / 155, by half 167 / 107.
template <class T, class Dot, int MX>
void panel_tile_joint(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* panel, float* y, int64_t ldy) {
  constexpr PanelGeometry G = T::kGeometry;
  __m256 acc[MX][2];
  for (int r = 0; r < MX; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t t = 0; t < nb / 2; ++t) {
    const uint8_t* unit = panel + G.unit() * static_cast<size_t>(t);
    for (size_t l = 0; l < G.unit() / 64; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
    for (int h = 0; h < 2; ++h) {
      const int64_t b = 2 * t + h;
      for (int half = 0; half < 2; ++half) {
        const __m256 dw = half_scales<T>(unit, h, half);
        __m256i wv[8];
        T::load(half_quants<T>(unit, h, half), wv);
        for (int r = 0; r < MX; ++r)
          acc[r][half] = add_block<Dot>(acc[r][half], wv, dw, x[r * nb + b], off[r * nb + b]);
      }
    }
  }
  for (int r = 0; r < MX; ++r) {
    _mm256_storeu_ps(y + r * ldy, acc[r][0]);
    _mm256_storeu_ps(y + r * ldy + 8, acc[r][1]);
  }
}

template <class T, class Dot, int MX>
void panel_tile_by_half(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* panel, float* y,
                        int64_t ldy) {
  constexpr PanelGeometry G = T::kGeometry;
  for (int half = 0; half < 2; ++half) {
    __m256 acc[MX];
    for (int r = 0; r < MX; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t t = 0; t < nb / 2; ++t) {
      const uint8_t* unit = panel + G.unit() * static_cast<size_t>(t);
      if (half == 0)
        for (size_t l = 0; l < G.unit() / 64; ++l)
          _mm_prefetch(reinterpret_cast<const char*>(unit) + 64 * l + kWeightPrefetch, _MM_HINT_T0);
      for (int h = 0; h < 2; ++h) {
        const int64_t b = 2 * t + h;
        const __m256 dw = half_scales<T>(unit, h, half);
        __m256i wv[8];
        T::load(half_quants<T>(unit, h, half), wv);
        for (int r = 0; r < MX; ++r) acc[r] = add_block<Dot>(acc[r], wv, dw, x[r * nb + b], off[r * nb + b]);
      }
    }
    for (int r = 0; r < MX; ++r) _mm256_storeu_ps(y + r * ldy + 8 * half, acc[r]);
  }
}

template <class T, class Dot, int MX>
void panel_rows(const BlockQ8A* x, const int32_t* off, int64_t nb, const uint8_t* w, int64_t n0, int64_t n1, float* y,
                int64_t ldy) {
  const size_t panel_bytes = T::kGeometry.panel_bytes(nb);
  for (int64_t n = n0; n < n1; n += kPanelRows) {
    const uint8_t* panel = w + panel_bytes * static_cast<size_t>(n / kPanelRows);
    if constexpr (MX <= 2)
      panel_tile_joint<T, Dot, MX>(x, off, nb, panel, y + n, ldy);
    else
      panel_tile_by_half<T, Dot, MX>(x, off, nb, panel, y + n, ldy);
  }
}

template <class T, class Dot>
void gemm256_panels_impl(const uint8_t* act, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y,
                         int64_t ldy) {
  const auto* x = reinterpret_cast<const BlockQ8A*>(act);  // rows are contiguous BlockQ8A[K / 32]
  const int64_t nb = K / 32;
  const int32_t* offsets = block_offsets(x, m * nb, T::kOffset);
  // Activation tiles of up to 4 rows outside (they stay in L1), the chunk's panels inside (5 and 6
  // rows measured no faster).
  for (int64_t i = 0; i < m; i += 4) {
    const BlockQ8A* xi = x + i * nb;
    const int32_t* oi = offsets + i * nb;
    float* yi = y + i * ldy;
    switch (m - i >= 4 ? 4 : m - i) {
      case 4: panel_rows<T, Dot, 4>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      case 3: panel_rows<T, Dot, 3>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      case 2: panel_rows<T, Dot, 2>(xi, oi, nb, w, n0, n1, yi, ldy); break;
      default: panel_rows<T, Dot, 1>(xi, oi, nb, w, n0, n1, yi, ldy); break;
    }
  }
}

// ---- q4_k (PanelQ4KGeometry) ----

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

// The 8 weight vectors of sub-block j, half `half`: the sub-block is laid out as a q4_0 block.
inline void q4_k_weights(const uint8_t* unit, int half, int j, __m256i (&wv)[8]) {
  using G = PanelQ4KGeometry;
  PanelQ4_0::load(unit + G::kQuants + G::kSubBlock * static_cast<size_t>(j) + 32 * static_cast<size_t>(half), wv);
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
        const __m256 s = _mm256_cvtepi32_ps(Dot::sum(_mm256_setzero_si256(), wv, xb.qs));
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
        const __m256 s = _mm256_cvtepi32_ps(Dot::sum(_mm256_setzero_si256(), wv, xb.qs));
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
