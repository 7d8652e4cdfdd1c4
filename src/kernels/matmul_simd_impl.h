// Shared body of the AVX2, AVX-VNNI and AVX-512 kernel tables, included (inside an anonymous
// namespace) by matmul_avx2.cpp, matmul_avxvnni.cpp and matmul_avx512.cpp after they define
//   __m256i dot_u8_i8(__m256i u, __m256i s): eight int32 partial sums of u8 x i8 products
// (maddubs + madd on AVX2, one vpdpbusd with AVX-VNNI or AVX-512 VNNI). Each file is compiled for its ISA, so
// this code must stay out of any shared (non-anonymous) namespace to avoid ODR mixing.
//
// GEMM shape: tiles of MX = 4 activation rows (kept in L1) against every weight row of the chunk
// (sized by matmul() to stay in L2); each loaded and unpacked weight block is used four times.
// m = 1 (decode) is the MX = 1 case.
// The includers include <immintrin.h>, <cstring>, kernels/matmul_kernels.h and tensor/quant_blocks.h
// at global scope first.

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

size_t act_bytes(int64_t K) { return static_cast<size_t>(K / 32) * sizeof(BlockQ8A); }

void quantize_act(const float* x, uint8_t* row, int64_t K) {
  auto* y = reinterpret_cast<BlockQ8A*>(row);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < K / 32; ++b, x += 32) {
    __m256 v[4];
    for (int j = 0; j < 4; ++j) v[j] = _mm256_loadu_ps(x + 8 * j);
    __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                              _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int j = 0; j < 4; ++j) q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], vid));  // half to even
    const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    // pack 32 x i32 -> 32 x i8; packs works per 128-bit lane, the permute restores the order
    const __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    const __m256i ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), ordered);
    y[b].d = d;
    y[b].ds = d * static_cast<float>(_mm_cvtsi128_si32(s4));
  }
}

inline __m256i load_nibbles16(const uint8_t* qs) {  // 16 bytes -> 32 values 0..15 (low nibbles first)
  const __m128i r = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r, 4), r), _mm256_set1_epi8(0x0F));
}

inline __m256i loadx(const BlockQ8A& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }


template <int MX>
void tile_q8_0(const BlockQ8A* x, int64_t nb, const BlockQ8_0* w, float* y, int64_t ldy) {
  __m256 acc[MX];
  for (int r = 0; r < MX; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    _mm_prefetch(reinterpret_cast<const char*>(w + b) + kWeightPrefetch, _MM_HINT_T0);
    const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i aw = _mm256_sign_epi8(wq, wq);  // |w| as u8; the sign moves onto x
    const float dw = f16(w[b].d);
    for (int r = 0; r < MX; ++r) {
      const BlockQ8A& xb = x[r * nb + b];
      const __m256i dot = dot_u8_i8(aw, _mm256_sign_epi8(loadx(xb), wq));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * xb.d), acc[r]);
    }
  }
  for (int r = 0; r < MX; ++r) y[r * ldy] = hsum(acc[r]);
}

template <int MX>
void tile_q4_0(const BlockQ8A* x, int64_t nb, const BlockQ4_0* w, float* y, int64_t ldy) {
  __m256 acc[MX];
  float corr[MX];
  for (int r = 0; r < MX; ++r) acc[r] = _mm256_setzero_ps(), corr[r] = 0;
  for (int64_t b = 0; b < nb; ++b) {
    _mm_prefetch(reinterpret_cast<const char*>(w + b) + kWeightPrefetch, _MM_HINT_T0);
    const __m256i wq = load_nibbles16(w[b].qs);  // 0..15; the -8 is applied through ds
    const float dw = f16(w[b].d);
    for (int r = 0; r < MX; ++r) {
      const BlockQ8A& xb = x[r * nb + b];
      const __m256i dot = dot_u8_i8(wq, loadx(xb));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * xb.d), acc[r]);
      corr[r] += dw * xb.ds;
    }
  }
  for (int r = 0; r < MX; ++r) y[r * ldy] = hsum(acc[r]) - 8.0f * corr[r];
}

template <int MX>
void tile_q4_k(const BlockQ8A* x, int64_t nb, const BlockQ4_K* w, float* y, int64_t ldy) {
  __m256 acc[MX];
  float corr[MX];
  for (int r = 0; r < MX; ++r) acc[r] = _mm256_setzero_ps(), corr[r] = 0;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb / 8; ++b) {
    const float d = f16(w[b].d), dmin = f16(w[b].dmin);
    float dsc[8], dm[8];
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, mn;
      get_scale_min_k4(j, w[b].scales, &sc, &mn);
      dsc[j] = d * sc;
      dm[j] = dmin * mn;
    }
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs + 32 * c));
      const __m256i lo = _mm256_and_si256(raw, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
      for (int r = 0; r < MX; ++r) {
        const BlockQ8A& x0 = x[r * nb + 8 * b + 2 * c];
        const BlockQ8A& x1 = x[r * nb + 8 * b + 2 * c + 1];
        acc[r] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u8_i8(lo, loadx(x0))), _mm256_set1_ps(dsc[2 * c] * x0.d), acc[r]);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u8_i8(hi, loadx(x1))), _mm256_set1_ps(dsc[2 * c + 1] * x1.d),
                                 acc[r]);
        corr[r] += dm[2 * c] * x0.ds + dm[2 * c + 1] * x1.ds;
      }
    }
  }
  for (int r = 0; r < MX; ++r) y[r * ldy] = hsum(acc[r]) - corr[r];
}

// Runs tile<MX> over all m activation rows for each weight row in [n0, n1).
#define MOSS_QUANT_GEMM(NAME, BLOCK, PER_ROW_BLOCKS, TILE)                                                     \
  void NAME(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, \
            float* y, int64_t ldy) {                                                                           \
    (void)stride; /* rows are contiguous: stride == act_bytes(K), a whole number of BlockQ8A */                \
    const auto* xa = reinterpret_cast<const BlockQ8A*>(act);                                                   \
    const int64_t nb = static_cast<int64_t>(stride / sizeof(BlockQ8A)), wb = PER_ROW_BLOCKS;                   \
    int64_t i = 0; /* activation tiles outside (they stay in L1), weight rows inside */                        \
    for (; i + 8 <= m; i += 8)                                                                                 \
      for (int64_t n = n0; n < n1; ++n)                                                                        \
        TILE<8>(xa + i * nb, nb, reinterpret_cast<const BLOCK*>(w) + n * wb, y + i * ldy + n, ldy);            \
    if (i + 4 <= m) {                                                                                          \
      for (int64_t n = n0; n < n1; ++n)                                                                        \
        TILE<4>(xa + i * nb, nb, reinterpret_cast<const BLOCK*>(w) + n * wb, y + i * ldy + n, ldy);            \
      i += 4;                                                                                                  \
    }                                                                                                          \
    for (int64_t n = n0; n < n1; ++n) {                                                                        \
      const auto* wr = reinterpret_cast<const BLOCK*>(w) + n * wb;                                             \
      switch (m - i) {                                                                                         \
        case 3:                                                                                                \
          TILE<3>(xa + i * nb, nb, wr, y + i * ldy + n, ldy);                                                  \
          break;                                                                                               \
        case 2:                                                                                                \
          TILE<2>(xa + i * nb, nb, wr, y + i * ldy + n, ldy);                                                  \
          break;                                                                                               \
        case 1:                                                                                                \
          TILE<1>(xa + i * nb, nb, wr, y + i * ldy + n, ldy);                                                  \
          break;                                                                                               \
        default:                                                                                               \
          break;                                                                                               \
      }                                                                                                        \
    }                                                                                                          \
  }

MOSS_QUANT_GEMM(gemm_q8_0, BlockQ8_0, K / 32, tile_q8_0)
MOSS_QUANT_GEMM(gemm_q4_0, BlockQ4_0, K / 32, tile_q4_0)
MOSS_QUANT_GEMM(gemm_q4_k, BlockQ4_K, K / 256, tile_q4_k)
#undef MOSS_QUANT_GEMM

// Plain weight types: 8 weights per step converted to f32, reused across MX activation rows.
struct LoadF32 {
  static __m256 load8(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static float load1(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  static constexpr int kBytes = 4;
};
struct LoadF16 {
  static __m256 load8(const uint8_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float load1(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16(h);
  }
  static constexpr int kBytes = 2;
};
struct LoadBF16 {
  static __m256 load8(const uint8_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float load1(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  static constexpr int kBytes = 2;
};

template <class L, int MX>
void tile_float(const float* x, int64_t K, const uint8_t* w, float* y, int64_t ldy) {
  __m256 acc[MX];
  for (int r = 0; r < MX; ++r) acc[r] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    const __m256 wv = L::load8(w + k * L::kBytes);
    for (int r = 0; r < MX; ++r) acc[r] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + r * K + k), acc[r]);
  }
  for (int r = 0; r < MX; ++r) {
    float s = hsum(acc[r]);
    for (int64_t t = k; t < K; ++t) s += x[r * K + t] * L::load1(w + t * L::kBytes);
    y[r * ldy] = s;
  }
}

template <class L>
void gemm_float(const float* x, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wr = w + n * K * L::kBytes;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) tile_float<L, 4>(x + i * K, K, wr, y + i * ldy + n, ldy);
    switch (m - i) {
      case 3:
        tile_float<L, 3>(x + i * K, K, wr, y + i * ldy + n, ldy);
        break;
      case 2:
        tile_float<L, 2>(x + i * K, K, wr, y + i * ldy + n, ldy);
        break;
      case 1:
        tile_float<L, 1>(x + i * K, K, wr, y + i * ldy + n, ldy);
        break;
      default:
        break;
    }
  }
}

const MatmulKernels kTable = [] {
  MatmulKernels t{act_bytes, quantize_act,        gemm_q8_0,           gemm_q4_0,
                  gemm_q4_k, gemm_float<LoadF32>, gemm_float<LoadF16>, gemm_float<LoadBF16>};
  t.quantize_act_range = blockq8a_range<quantize_act>;
  return t;
}();
