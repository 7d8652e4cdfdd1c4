// matmul: validation, choice of the kernel table for this CPU, quantization of the activation rows
// (for q8_0/q4_0/q4_k weights), and the split of the output rows over the thread pool.
#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <new>
#include <numeric>
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
    fail("matmul: a panel matrix needs q4_0 or q8_0 weights with K % 64 == 0, or q4_k, and rows % 16 == 0, not ", dtype_name(w.dtype),
         " ", w.rows, " x ", w.cols);
}

bool is_quant(DType t) { return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_K; }
}  // namespace

const MatmulKernels& matmul_kernels(Isa isa) {
  if (!isa_supported(isa)) fail("this CPU does not support the ", isa_name(isa), " kernels");
  switch (isa) {
    case Isa::Avx512:
      return matmul_kernels_avx512();
    case Isa::Avx2Vnni:
      return matmul_kernels_avxvnni();
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
       AlignedBuffer& xq, MatmulEpilogue epilogue = MatmulEpilogue::None, MatmulInput input = MatmulInput::Encode,
       Impl* feeds = nullptr)
      : x_(x), m_(m), w_(w), bias_(bias), y_(y), K_(w.cols), N_(w.rows), gelu_(epilogue == MatmulEpilogue::GeluNew),
        from_producer_(input == MatmulInput::FromProducer), feeds_(feeds) {
    check(w, m);
    if (feeds_ && (feeds_->x_ != y_ || feeds_->K_ != N_ || feeds_->m_ != m_ || !feeds_->from_producer_))
      fail("matmul: a job can only feed a job made with MatmulInput::FromProducer whose input is its output");
    const int threads = pool.size();
    fast_ = matmul_supports(w.dtype);
    if (fast_ && m > 0 && N_ > 0) {
      const MatmulKernels& kt = matmul_kernels(active_isa());
      // Activation rows encoded once, shared by all threads.
      if (is_quant(w.dtype)) {
        stride_ = kt.act_bytes(K_);
        uint8_t* xqd = xq.reserve(stride_ * static_cast<size_t>(m));
        xq_ = xqd;
        auto* encode = panels(w) && kt.quantize_act_panels ? kt.quantize_act_panels : kt.quantize_act;
        encode_ = encode;
        encode_range_ = panels(w) && kt.quantize_act_panels ? kt.quantize_act_panels_range : kt.quantize_act_range;
        if (from_producer_) {
          // Filled later: by the feeding job, chunk by chunk, or by encode_rows.
        } else if (m >= 4 && threads > 1) {
          pool.parallel_for(m, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) encode(x + i * K_, xqd + i * stride_, K_);
          });
        } else {
          for (int64_t i = 0; i < m; ++i) encode(x + i * K_, xqd + i * stride_, K_);
        }
      }
      switch (w.dtype) {
        case DType::Q8_0:
          qg_ = panels(w) ? kt.q8_0_panels : kt.q8_0;
          break;
        case DType::Q4_0:
          qg_ = panels(w) ? kt.q4_0_panels : kt.q4_0;
          break;
        case DType::Q4_K:
          qg_ = panels(w) ? kt.q4_k_panels : kt.q4_k;
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
    // Panel matrices are computed 16 rows at a time: chunks start and end on panel boundaries.
    if (panels(w)) granule_ = kPanelRows;
    // A fed job's encoding is written in groups of 4 blocks (128 values): chunks end on those too.
    if (feeds_ && feeds_->xq_) granule_ = std::lcm(granule_, kEncodeGroup);
    chunk_ = (chunk_ + granule_ - 1) / granule_ * granule_;
    // Decode (m <= 4) streams the weights once, and a stream reads fastest long and sequential: each
    // restart (a new chunk elsewhere) costs a ramp-up of the prefetchers. So each thread owns a
    // contiguous share of the rows and takes it from the front, in pieces of half of what is left;
    // a thread whose share is done takes half of what is left of another's from its back. Threads
    // that start together stream one share each; one that starts late (the model's thread 0 runs
    // attention first) or is slowed by another process has its share's tail taken over, so they
    // still finish together. Against pieces of one shared queue shrinking from 1/4 of the rows,
    // measured (1.24B q4_0 decode, 2 threads, 8 alternating runs of `moss bench -n 96`): paired
    // efficiency 0.80-0.81 vs 0.78-0.79 when the host read ~78 GB/s, 0.86-0.88 vs 0.84-0.87 at ~51.
    // Outputs are unchanged: each row is computed the same way in any piece.
    if (m == 0) N_ = 0;  // nothing to compute
    by_shares_ = m <= 4;
    if (by_shares_) {
      const int64_t units = (N_ + granule_ - 1) / granule_;
      shares_ = std::make_unique<Share[]>(static_cast<size_t>(threads));
      n_shares_ = threads;
      for (int t = 0; t < threads; ++t) {
        int64_t b, e;
        split_range(units, t, threads, b, e);
        shares_[static_cast<size_t>(t)].span.store(pack(b, e), std::memory_order_relaxed);
      }
      min_units_ = std::max<int64_t>(1, units / (static_cast<int64_t>(threads) * 32));
    }
  }

  // Encodes input columns [k0, k1) of every activation row (a job made with FromProducer; k0 a
  // multiple of kEncodeGroup, k1 too or K).
  void encode_columns(int64_t k0, int64_t k1) {
    if (!xq_) return;  // float weights: nothing to encode
    for (int64_t i = 0; i < m_; ++i) encode_range_(x_ + i * K_, xq_ + static_cast<size_t>(i) * stride_, K_, k0 / 32, k1 / 32);
  }

  // Encodes activation rows [split of m for thread `index` of `threads`] whole (a job made with
  // FromProducer whose input another thread produced).
  void encode_rows(int index, int threads) {
    if (!xq_) return;
    int64_t i0, i1;
    split_range(m_, index, threads, i0, i1);
    for (int64_t i = i0; i < i1; ++i) encode_(x_ + i * K_, xq_ + static_cast<size_t>(i) * stride_, K_);
  }

  bool run_next_chunk(int thread) {
    if (by_shares_) {
      int64_t u0, u1;
      if (!take(thread, false, u0, u1)) {  // own share done: the others' tails
        bool found = false;
        for (int k = 1; k < n_shares_ && !found; ++k) found = take(thread + k, true, u0, u1);
        if (!found) return false;
      }
      finish(u0 * granule_, std::min(N_, u1 * granule_));
      return true;
    }
    const int64_t n0 = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (n0 >= N_) return false;
    finish(n0, std::min(N_, n0 + chunk_));
    return true;
  }

 private:
  // A thread's share of the decode rows, in granules: [front, back) packed as back << 32 | front.
  struct alignas(64) Share {
    std::atomic<uint64_t> span{0};
  };
  static uint64_t pack(int64_t front, int64_t back) {
    return static_cast<uint64_t>(back) << 32 | static_cast<uint64_t>(front);
  }
  // Half of what is left of share `index` (mod the shares; at least min_units_), from its front or
  // its back: [u0, u1). False when the share is used up.
  bool take(int index, bool from_back, int64_t& u0, int64_t& u1) {
    Share& s = shares_[static_cast<unsigned>(index) % static_cast<unsigned>(n_shares_)];
    uint64_t v = s.span.load(std::memory_order_relaxed);
    for (;;) {
      const auto front = static_cast<int64_t>(v & 0xffffffffu), back = static_cast<int64_t>(v >> 32);
      if (front >= back) return false;
      const int64_t n = std::min(back - front, std::max(min_units_, (back - front) / 2));
      u0 = from_back ? back - n : front, u1 = u0 + n;
      if (s.span.compare_exchange_weak(v, from_back ? pack(front, u0) : pack(u1, back), std::memory_order_relaxed))
        return true;
    }
  }
  // Rows [n0, n1): the product, bias and epilogue.
  void finish(int64_t n0, int64_t n1) {
    compute(n0, n1);
    if (gelu_)
      for (int64_t i = 0; i < m_; ++i) gelu_new_range(y_ + i * N_, n0, n1);
    if (feeds_) feeds_->encode_columns(n0, n1);
  }

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
  bool fast_ = false;
  bool by_shares_ = false;  // decode: rows handed out from per-thread shares (see the constructor)
  QuantGemm qg_ = nullptr;
  FloatGemm fg_ = nullptr;
  uint8_t* xq_ = nullptr;  // the encoded activation rows (quantized weights)
  size_t stride_ = 0;
  // The encoding of activation rows (whole, and by block range; see encode_columns).
  void (*encode_)(const float*, uint8_t*, int64_t) = nullptr;
  MatmulKernels::QuantizeActRange encode_range_ = nullptr;
  bool from_producer_ = false;  // MatmulInput::FromProducer
  Impl* feeds_ = nullptr;       // the job whose input this one's outputs are
  static constexpr int64_t kEncodeGroup = 128;
  int64_t chunk_ = 8, granule_ = 1;  // prefill: rows per chunk (whole granules), and the granule
  std::atomic<int64_t> next_{0};  // prefill: the next row to hand out
  std::unique_ptr<Share[]> shares_;  // decode: one per thread
  int n_shares_ = 1;
  int64_t min_units_ = 1;
};

MatmulJob::MatmulJob(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool,
                     AlignedBuffer& scratch, MatmulEpilogue epilogue, MatmulInput input, MatmulJob* feeds)
    : impl_(std::make_unique<Impl>(x, m, w, bias, y, pool, scratch, epilogue, input,
                                   feeds ? feeds->impl_.get() : nullptr)) {}
MatmulJob::~MatmulJob() = default;
bool MatmulJob::run_next_chunk(int thread) { return impl_->run_next_chunk(thread); }
void MatmulJob::encode_rows(int index, int threads) { impl_->encode_rows(index, threads); }

void matmul(const float* x, int64_t m, const WeightMatrix& w, const float* bias, float* y, ThreadPool& pool) {
  // The calling thread's encoded-activation buffer, 64-byte aligned, grown as needed and kept.
  thread_local AlignedBuffer xq;
  MatmulJob::Impl job(x, m, w, bias, y, pool, xq);  // checks the shapes
  if (m == 0 || w.rows == 0) return;                   // nothing to compute: do not wake the pool
  pool.run([&](int thread, int) {
    while (job.run_next_chunk(thread)) {
    }
  });
}

}  // namespace moss
