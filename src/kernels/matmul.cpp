// matmul: validation, choice of the kernel table for this CPU, quantization of the activation rows
// (for q8_0/q4_0/q4_k weights), and the split of the output rows over the thread pool.
#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <new>
#include <vector>

#include "kernels/gelu.h"
#include "kernels/matmul_kernels.h"
#include "kernels/weight_panels.h"
#include "util/aligned_buffer.h"
#include "tensor/convert.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace moss {

namespace {
bool panels(const WeightMatrix& w) { return w.layout == WeightLayout::Panels16; }

void matmul_rows(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, int64_t n0,
                 int64_t n1) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  const size_t rb = row_bytes(w.dtype, w.cols);
  std::vector<uint8_t> stored(panels(w) ? rb : 0);  // a panel row gathered back into its stored form
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* src = static_cast<const uint8_t*>(w.data) + rb * static_cast<size_t>(n);
    if (panels(w)) {
      panel_row(w, n, stored.data());
      src = stored.data();
    }
    dequantize_row(w.dtype, src, row.data(), w.cols);
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
  if (panels(w) && !panels_fit(w))
    fail("matmul: a panel matrix needs q4_0 or q8_0 weights, rows % 16 == 0 and K % 64 == 0, not ", dtype_name(w.dtype),
         " ", w.rows, " x ", w.cols);
}

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
  if (panels(w)) return false;  // repacked: the panel kernels need no alignment of the file
  if (w.dtype != DType::Q4_0 || w.cols % 1024 != 0 || active_isa() != Isa::Avx512 || !cpu_features().avx512vbmi)
    return false;
  return !avx512_q4_0_whole_lines(static_cast<const uint8_t*>(w.data), w.cols);
}

// The state of one matmul run in chunks (see MatmulJob in matmul.h). `xq` holds the encoded
// activation rows: the calling thread's reusable buffer for matmul(), the caller's for MatmulJob.
class MatmulJob::Impl {
 public:
  Impl(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool,
       AlignedBuffer& xq, MatmulEpilogue epilogue = MatmulEpilogue::None)
      : x_(x), m_(m), w_(w), bias_(bias), y_(y), K_(w.cols), N_(w.rows), gelu_(epilogue == MatmulEpilogue::GeluNew) {
    check(w, m);
    const int threads = pool.size();
    fast_ = matmul_supports(w.dtype);
    if (fast_ && m > 0 && N_ > 0) {
      const MatmulKernels& kt = matmul_kernels(active_isa());
      // Activation rows encoded once, shared by all threads.
      if (is_quant(w.dtype)) {
        stride_ = kt.act_bytes(K_);
        uint8_t* xqd = xq.reserve(stride_ * static_cast<size_t>(m));
        if (m >= 4 && threads > 1) {
          pool.parallel_for(m, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) kt.quantize_act(x + i * K_, xqd + i * stride_, K_);
          });
        } else {
          for (int64_t i = 0; i < m; ++i) kt.quantize_act(x + i * K_, xqd + i * stride_, K_);
        }
        xq_ = xq.data();
      }
      switch (w.dtype) {
        case DType::Q8_0:
          qg_ = panels(w) ? kt.q8_0_panels : kt.q8_0;
          break;
        case DType::Q4_0:
          qg_ = panels(w) ? kt.q4_0_panels : kt.q4_0;
          break;
        case DType::Q4_K:
          qg_ = kt.q4_k;
          break;
        case DType::F32:
          fg_ = kt.f32;
          break;
        case DType::F16:
          fg_ = kt.f16;
          break;
        default:
          fg_ = kt.bf16;
          break;
      }
      if (panels(w) && !qg_)
        fail("matmul: no ", isa_name(active_isa()), " kernels for ", dtype_name(w.dtype), " weights in the panel layout");
    }
    // Output rows are handed out in chunks from a shared counter, so a thread slowed by another
    // process does not hold the others up. About 8 chunks per thread, at least 8 rows each.
    chunk_ = std::max<int64_t>(8, (N_ + threads * 8 - 1) / (threads * 8));
    // For prefill the kernels sweep each chunk of weight rows once per tile of activation rows, so a
    // chunk should fit in L2 (~256 KiB of weights).
    if (m > 4) chunk_ = std::min(chunk_, std::max<int64_t>(8, static_cast<int64_t>((256u << 10) / row_bytes(w.dtype, K_))));
    // Decode (m <= 4) streams the weights once: there the chunks shrink as the matrix runs out (each
    // takes 1/(2 x threads) of the rows left, at least 1/32 of a thread's share), so that the threads
    // finish together instead of one waiting out the other's last full-size chunk. Fewer, longer
    // chunks first also keep each thread's stream sequential for longer. Measured (2 threads,
    // alternating runs): q4_0 decode 78.6 / 79.5 / 74.3 / 80.6 vs 70.4 / 77.5 / 77.2 / 75.4 tok/s,
    // q8_0 41.3 / 37.3 / 38.4 vs 35.5 / 36.1 / 36.8. Outputs are unchanged: each row is computed
    // the same way in any chunk.
    guided_ = m <= 4;
    guided_div_ = 2 * static_cast<int64_t>(threads);
    min_take_ = std::max<int64_t>(8, N_ / (static_cast<int64_t>(threads) * 32));
    // Panel matrices are computed 16 rows at a time: chunks start and end on panel boundaries.
    if (panels(w)) granule_ = kPanelRows;
    if (m == 0) N_ = 0;  // nothing to compute
  }

  bool run_next_chunk() {
    int64_t n0, take = round_up(chunk_);
    if (guided_) {
      n0 = next_.load(std::memory_order_relaxed);
      do {
        if (n0 >= N_) return false;
        take = round_up(std::max(min_take_, (N_ - n0) / guided_div_));
      } while (!next_.compare_exchange_weak(n0, n0 + take, std::memory_order_relaxed));
    } else {
      n0 = next_.fetch_add(take, std::memory_order_relaxed);
      if (n0 >= N_) return false;
    }
    const int64_t n1 = std::min(N_, n0 + take);
    compute(n0, n1);
    if (gelu_)
      for (int64_t i = 0; i < m_; ++i) gelu_new_range(y_ + i * N_, n0, n1);
    return true;
  }

 private:
  // Output rows [n0, n1), bias included.
  void compute(int64_t n0, int64_t n1) {
    const auto* wd = static_cast<const uint8_t*>(w_.data);
    if (!fast_) {  // other readable types: slow but correct (bias included)
      matmul_rows(x_, m_, w_, bias_, y_, n0, n1);
      return;
    }
    if (qg_)
      qg_(xq_, stride_, m_, wd, K_, n0, n1, y_, N_);
    else
      fg_(x_, m_, wd, K_, n0, n1, y_, N_);
    if (bias_)
      for (int64_t i = 0; i < m_; ++i)
        for (int64_t n = n0; n < n1; ++n) y_[i * N_ + n] += bias_[n];
  }


  const float* x_;
  int64_t m_;
  WeightMatrix w_;
  const float* bias_;
  float* y_;
  int64_t K_, N_;
  bool gelu_ = false;  // MatmulEpilogue::GeluNew
  bool fast_ = false, guided_ = false;
  QuantGemm qg_ = nullptr;
  FloatGemm fg_ = nullptr;
  const uint8_t* xq_ = nullptr;
  size_t stride_ = 0;
  int64_t round_up(int64_t rows) const { return (rows + granule_ - 1) / granule_ * granule_; }

  int64_t chunk_ = 8, guided_div_ = 2, min_take_ = 8, granule_ = 1;
  std::atomic<int64_t> next_{0};
};

MatmulJob::MatmulJob(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool,
                     AlignedBuffer& scratch, MatmulEpilogue epilogue)
    : impl_(std::make_unique<Impl>(x, m, w, bias, y, pool, scratch, epilogue)) {}
MatmulJob::~MatmulJob() = default;
bool MatmulJob::run_next_chunk() { return impl_->run_next_chunk(); }

void matmul(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool) {
  // The calling thread's encoded-activation buffer, 64-byte aligned, grown as needed and kept.
  thread_local AlignedBuffer xq;
  MatmulJob::Impl job(x, m, w, bias, y, pool, xq);  // checks the shapes
  if (m == 0 || w.rows == 0) return;                   // nothing to compute: do not wake the pool
  pool.run([&](int, int) {
    while (job.run_next_chunk()) {
    }
  });
}

}  // namespace moss
