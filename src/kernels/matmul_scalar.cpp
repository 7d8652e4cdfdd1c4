// Scalar kernels: the reference each SIMD table is tested against. They compute exactly the same
// integer block dot products as the SIMD code, then combine blocks in plain float order.
#include <cmath>
#include <cstring>

#include "kernels/matmul_kernels.h"
#include "tensor/quant_blocks.h"
#include "util/half.h"

namespace moss {

namespace {

size_t act_bytes(int64_t K) { return static_cast<size_t>(K / 32) * sizeof(BlockQ8A); }

void quantize_act(const float* x, uint8_t* row, int64_t K) {
  auto* y = reinterpret_cast<BlockQ8A*>(row);
  for (int64_t b = 0; b < K / 32; ++b, x += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      const float v = std::nearbyint(x[j] * id);  // default rounding: half to even, like cvtps2dq
      const int q = v == v ? static_cast<int>(std::fmax(-128.0f, std::fmin(127.0f, v))) : -128;
      y[b].qs[j] = static_cast<int8_t>(q);
      sum += q;
    }
    y[b].d = d;
    y[b].ds = d * static_cast<float>(sum);
  }
}

int dot32(const int8_t* a, const int8_t* b) {
  int s = 0;
  for (int j = 0; j < 32; ++j) s += a[j] * b[j];
  return s;
}

void gemm_q8_0(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1,
               float* y, int64_t ldy) {
  const int64_t nb = K / 32;
  for (int64_t n = n0; n < n1; ++n) {
    const auto* wr = reinterpret_cast<const BlockQ8_0*>(w + n * nb * sizeof(BlockQ8_0));
    for (int64_t i = 0; i < m; ++i) {
      const auto* xr = reinterpret_cast<const BlockQ8A*>(act + i * stride);
      float acc = 0;
      for (int64_t b = 0; b < nb; ++b)
        acc += static_cast<float>(dot32(wr[b].qs, xr[b].qs)) * (fp16_to_f32(wr[b].d) * xr[b].d);
      y[i * ldy + n] = acc;
    }
  }
}

void gemm_q4_0(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1,
               float* y, int64_t ldy) {
  const int64_t nb = K / 32;
  for (int64_t n = n0; n < n1; ++n) {
    const auto* wr = reinterpret_cast<const BlockQ4_0*>(w + n * nb * sizeof(BlockQ4_0));
    for (int64_t i = 0; i < m; ++i) {
      const auto* xr = reinterpret_cast<const BlockQ8A*>(act + i * stride);
      float acc = 0, corr = 0;
      for (int64_t b = 0; b < nb; ++b) {
        int s = 0;  // sum of q * qx with q in 0..15; the -8 offset is applied through ds
        for (int j = 0; j < 16; ++j) s += (wr[b].qs[j] & 0xF) * xr[b].qs[j] + (wr[b].qs[j] >> 4) * xr[b].qs[j + 16];
        const float dw = fp16_to_f32(wr[b].d);
        acc += static_cast<float>(s) * (dw * xr[b].d);
        corr += dw * xr[b].ds;
      }
      y[i * ldy + n] = acc - 8.0f * corr;
    }
  }
}

void gemm_q4_k(const uint8_t* act, size_t stride, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1,
               float* y, int64_t ldy) {
  const int64_t nsb = K / 256;
  for (int64_t n = n0; n < n1; ++n) {
    const auto* wr = reinterpret_cast<const BlockQ4_K*>(w + n * nsb * sizeof(BlockQ4_K));
    for (int64_t i = 0; i < m; ++i) {
      const auto* xr = reinterpret_cast<const BlockQ8A*>(act + i * stride);
      float acc = 0, corr = 0;
      for (int64_t b = 0; b < nsb; ++b) {
        const float d = fp16_to_f32(wr[b].d), dmin = fp16_to_f32(wr[b].dmin);
        for (int j = 0; j < 8; ++j) {
          uint8_t sc, mn;
          get_scale_min_k4(j, wr[b].scales, &sc, &mn);
          const uint8_t* q = wr[b].qs + 32 * (j / 2);
          const BlockQ8A& xb = xr[8 * b + j];
          int s = 0;
          for (int l = 0; l < 32; ++l) s += ((j & 1) ? (q[l] >> 4) : (q[l] & 0xF)) * xb.qs[l];
          acc += static_cast<float>(s) * (d * sc * xb.d);
          corr += dmin * mn * xb.ds;
        }
      }
      y[i * ldy + n] = acc - corr;
    }
  }
}

template <typename Load>
void gemm_float(const float* x, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y, int64_t ldy,
                size_t elem, Load load) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wr = w + n * K * static_cast<int64_t>(elem);
    for (int64_t i = 0; i < m; ++i) {
      float acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += x[i * K + k] * load(wr, k);
      y[i * ldy + n] = acc;
    }
  }
}

void gemm_f32(const float* x, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  gemm_float(x, m, w, K, n0, n1, y, ldy, 4, [](const uint8_t* p, int64_t k) {
    float v;
    std::memcpy(&v, p + 4 * k, 4);
    return v;
  });
}
void gemm_f16(const float* x, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  gemm_float(x, m, w, K, n0, n1, y, ldy, 2, [](const uint8_t* p, int64_t k) {
    uint16_t h;
    std::memcpy(&h, p + 2 * k, 2);
    return fp16_to_f32(h);
  });
}
void gemm_bf16(const float* x, int64_t m, const uint8_t* w, int64_t K, int64_t n0, int64_t n1, float* y, int64_t ldy) {
  gemm_float(x, m, w, K, n0, n1, y, ldy, 2, [](const uint8_t* p, int64_t k) {
    uint16_t h;
    std::memcpy(&h, p + 2 * k, 2);
    return bf16_to_f32(h);
  });
}

}  // namespace

const MatmulKernels& matmul_kernels_scalar() {
  static const MatmulKernels k = [] {
    MatmulKernels t{act_bytes, quantize_act, gemm_q8_0, gemm_q4_0, gemm_q4_k, gemm_f32, gemm_f16, gemm_bf16};
    t.quantize_act_range = blockq8a_range<quantize_act>;
    return t;
  }();
  return k;
}

}  // namespace moss
