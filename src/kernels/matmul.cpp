// matmul: validation, choice of the kernel table for this CPU, quantization of the activation rows
// (for q8_0/q4_0/q4_k weights), and the split of the output rows over the thread pool.
#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <vector>

#include "kernels/matmul_kernels.h"
#include "tensor/convert.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace moss {

namespace {
void matmul_rows(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, int64_t n0,
                 int64_t n1) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  const size_t rb = row_bytes(w.dtype, w.cols);
  for (int64_t n = n0; n < n1; ++n) {
    dequantize_row(w.dtype, static_cast<const uint8_t*>(w.data) + rb * static_cast<size_t>(n), row.data(), w.cols);
    for (int64_t i = 0; i < m; ++i) {
      const float* xi = x + i * w.cols;
      float acc = 0.0f;
      for (int64_t k = 0; k < w.cols; ++k) acc += xi[k] * row[static_cast<size_t>(k)];
      y[i * w.rows + n] = acc + (bias ? bias[n] : 0.0f);
    }
  }
}

void check(const WeightMatrix& w, int64_t m) {
  if (m < 0 || w.rows < 0 || w.cols < 0) fail("matmul: negative size");
  row_bytes(w.dtype, w.cols);  // throws when K is not a multiple of the block size
  if (!w.data && w.rows > 0 && w.cols > 0) fail("matmul: weight matrix without data");
}

// A byte buffer aligned for 512-bit loads.
class AlignedBuffer {
 public:
  ~AlignedBuffer() { ::operator delete(data_, std::align_val_t(64)); }
  uint8_t* reserve(size_t n) {
    if (n > size_) {
      ::operator delete(data_, std::align_val_t(64));
      data_ = nullptr;
      data_ = static_cast<uint8_t*>(::operator new(n, std::align_val_t(64)));
      size_ = n;
    }
    return data_;
  }
  const uint8_t* data() const { return data_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

bool is_quant(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_K; }
}  // namespace

const MatmulKernels& matmul_kernels(Isa isa) {
  if (!isa_supported(isa)) fail("this CPU does not support the ", isa_name(isa), " kernels");
  switch (isa) {
    case Isa::Avx512:
      return matmul_kernels_avx512();
    case Isa::Avx2:
      return matmul_kernels_avx2();
    default:
      return matmul_kernels_scalar();
  }
}

bool matmul_supports(DType t) { return is_quant(t) || t == DType::F32 || t == DType::F16 || t == DType::BF16; }

void matmul_reference(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y) {
  check(w, m);
  matmul_rows(x, m, w, bias, y, 0, w.rows);
}

bool matmul_misses_fast_layout(const WeightMatrix& w) {
  if (w.dtype != DType::Q4_0 || w.cols % 1024 != 0 || active_isa() != Isa::Avx512 || !cpu_features().avx512vbmi)
    return false;
  return !avx512_q4_0_whole_lines(static_cast<const uint8_t*>(w.data), w.cols);
}

void matmul(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool) {
  check(w, m);
  if (m == 0 || w.rows == 0) return;
  if (!matmul_supports(w.dtype)) {  // other readable types: slow but correct
    pool.parallel_for(w.rows, [&](int64_t n0, int64_t n1) { matmul_rows(x, m, w, bias, y, n0, n1); });
    return;
  }
  const MatmulKernels& kt = matmul_kernels(active_isa());
  const int64_t K = w.cols, N = w.rows;
  const auto* wd = static_cast<const uint8_t*>(w.data);

  // Activation rows encoded once per call, shared by all threads (one buffer per calling thread,
  // 64-byte aligned, grown as needed and kept).
  thread_local AlignedBuffer xq;
  const bool quant = is_quant(w.dtype);
  const size_t stride = quant ? kt.act_bytes(K) : 0;
  if (quant) {
    uint8_t* xqd = xq.reserve(stride * static_cast<size_t>(m));
    if (m >= 4 && pool.size() > 1) {
      pool.parallel_for(m, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) kt.quantize_act(x + i * K, xqd + i * stride, K);
      });
    } else {
      for (int64_t i = 0; i < m; ++i) kt.quantize_act(x + i * K, xqd + i * stride, K);
    }
  }

  QuantGemm qg = nullptr;
  FloatGemm fg = nullptr;
  switch (w.dtype) {
    case DType::Q8_0:
      qg = kt.q8_0;
      break;
    case DType::Q4_0:
      qg = kt.q4_0;
      break;
    case DType::Q4_K:
      qg = kt.q4_k;
      break;
    case DType::F32:
      fg = kt.f32;
      break;
    case DType::F16:
      fg = kt.f16;
      break;
    default:
      fg = kt.bf16;
      break;
  }

  // Output rows are handed out in chunks from a shared counter, so a thread slowed by another process
  // does not hold the others up. About 8 chunks per thread, at least 8 rows each.
  int64_t chunk = std::max<int64_t>(8, (N + pool.size() * 8 - 1) / (pool.size() * 8));
  // For prefill the kernels sweep each chunk of weight rows once per tile of activation rows, so a
  // chunk should fit in L2 (~256 KiB of weights).
  if (m > 4) chunk = std::min(chunk, std::max<int64_t>(8, static_cast<int64_t>((256u << 10) / row_bytes(w.dtype, K))));
  // Decode (m <= 4) streams the weights once: there the chunks shrink as the matrix runs out (each
  // takes 1/(2 x threads) of the rows left, at least 1/32 of a thread's share), so that the threads finish together
  // instead of one waiting out the other's last full-size chunk. Fewer, longer chunks first also
  // keep each thread's stream sequential for longer. Measured (2 threads, alternating runs): q4_0
  // decode 78.6 / 79.5 / 74.3 / 80.6 vs 70.4 / 77.5 / 77.2 / 75.4 tok/s, q8_0 41.3 / 37.3 / 38.4 vs
  // 35.5 / 36.1 / 36.8. Outputs are unchanged: each row is computed the same way in any chunk.
  const bool guided = m <= 4;
  const int64_t guided_div = 2 * static_cast<int64_t>(pool.size());
  const int64_t min_take = std::max<int64_t>(8, N / (static_cast<int64_t>(pool.size()) * 32));
  std::atomic<int64_t> next{0};
  const uint8_t* xqd = xq.data();
  pool.run([&](int, int) {
    for (;;) {
      int64_t n0, take = chunk;
      if (guided) {
        n0 = next.load(std::memory_order_relaxed);
        do {
          if (n0 >= N) break;
          take = std::max(min_take, (N - n0) / guided_div);
        } while (!next.compare_exchange_weak(n0, n0 + take, std::memory_order_relaxed));
      } else {
        n0 = next.fetch_add(chunk, std::memory_order_relaxed);
      }
      if (n0 >= N) break;
      const int64_t n1 = std::min(N, n0 + take);
      if (qg)
        qg(xqd, stride, m, wd, K, n0, n1, y, N);
      else
        fg(x, m, wd, K, n0, n1, y, N);
      if (bias)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t n = n0; n < n1; ++n) y[i * N + n] += bias[n];
    }
  });
}

}  // namespace moss
