// Attention kernel (see attention.h). Each (sequence, head) is independent; a thread takes a group of
// contiguous heads of one sequence, and the query rows are processed one at a time with a score
// buffer of (heads in the group) x S floats. Also the scalar half conversions and their dispatch.
#include "kernels/attention.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/attention_kernels.h"
#include "kernels/softmax.h"
#include "tensor/convert.h"
#include "util/error.h"
#include "util/half.h"
#include "util/thread_pool.h"

namespace moss {

namespace {

void to_f32_scalar(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}
void to_f16_scalar(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_fp16(src[i]);
}
constexpr AttentionKernels kScalar{to_f32_scalar, to_f16_scalar, nullptr, nullptr, nullptr, nullptr};

// q . k with 16 independent partial sums (lane i sums the terms d = i mod 16), added pairwise at the
// end: the compiler turns the lanes into SIMD registers, and the additions no longer wait on each
// other (one serial chain of D float additions was the decode step's largest cost outside the
// matmuls). Any summation order keeps |error| <= (D - 1) u sum|q k|, within the documented bound.
float dot(const float* q, const float* k, int64_t n) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int64_t d = 0;
  for (; d + kLanes <= n; d += kLanes)
    for (int i = 0; i < kLanes; ++i) acc[i] += q[d + i] * k[d + i];
  for (int i = 0; d < n; ++d, ++i) acc[i] += q[d] * k[d];
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int i = 0; i < w; ++i) acc[i] += acc[i + w];
  return acc[0];
}

// The slice [off, off + n) of cache rows as float32. F32 rows are read in place; F16 and Q8_0 rows
// are converted (F16 exactly, Q8_0 dequantized: d * q per block of 32, also exact in float32) into
// the worker's buffer, so everything after this is the f32 arithmetic. Byte offsets come from
// row_bytes(), which for Q8_0 counts whole 34-byte blocks (off and n are multiples of 32 there).
class RowReader {
 public:
  RowReader(const AttentionSeq& s, const void* base, int64_t off, int64_t n, const AttentionKernels& ak,
            std::vector<float>& buf)
      : span_bytes_(row_bytes(s.kv_type, n)), n_(n), type_(s.kv_type), ak_(ak), buf_(buf) {
    rows_.base = static_cast<const uint8_t*>(base) + row_bytes(s.kv_type, off);
    rows_.row_bytes = row_bytes(s.kv_type, s.kv_stride);
    if (s.kv_block_rows > 0) {
      rows_.block_bytes = row_bytes(s.kv_type, s.kv_block_stride);
      rows_.block_shift = std::countr_zero(static_cast<uint64_t>(s.kv_block_rows));
      rows_.block_mask = s.kv_block_rows - 1;
    }
    if (type_ != DType::F32 && static_cast<int64_t>(buf_.size()) < n) buf_.resize(static_cast<size_t>(n));
  }
  const float* row(int64_t j) const {
    const uint8_t* p = rows_.at(j);
    if (type_ == DType::F32) return reinterpret_cast<const float*>(p);
    if (type_ == DType::F16)
      ak_.to_f32(reinterpret_cast<const uint16_t*>(p), buf_.data(), n_);
    else
      dequantize_row(type_, p, buf_.data(), n_);
    return buf_.data();
  }
  const void* raw(int64_t j) const { return rows_.at(j); }
  const KvRows& rows() const { return rows_; }
  DType type() const { return type_; }
  bool f16() const { return type_ == DType::F16; }
  // Whether the fused row kernels (dots / axpy) can read these rows: f32 and f16 only.
  bool fused() const { return type_ != DType::Q8_0; }
  void prefetch(int64_t j) const { prefetch_lines(rows_.at(j), span_bytes_); }

 private:
  KvRows rows_;
  size_t span_bytes_;
  int64_t n_;
  DType type_;
  const AttentionKernels& ak_;
  std::vector<float>& buf_;
};

// Per-worker scratch: the score rows and the converted cache slice.
struct Scratch {
  std::vector<float> scores, row, dots;
};

// Heads [h0, h1) of one sequence. Keys and values are visited row by row, each row's slice for all
// these heads at once: the heads of a row are contiguous, so a thread reads one span per cache row
// instead of one 1 KiB piece per head (with rows 8 KiB apart that was a TLB miss per head and row,
// and the attention of a decode step cost as much as a third of the weight reads). Per head the
// arithmetic is the same as visiting the heads one by one: same operations, same order.
void attend_heads(const AttentionSeq& s, int64_t h0, int64_t h1, int64_t head_dim, const AttentionKernels& ak,
                  Scratch& scratch) {
  // The reference divides by sqrt(D) as a float32 scalar (16.0 exactly for D = 256).
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(head_dim)));
  const int64_t G = h1 - h0;
  std::vector<float>& scores = scratch.scores;
  const RowReader keys(s, s.k, h0 * head_dim, G * head_dim, ak, scratch.row);
  const RowReader values(s, s.v, h0 * head_dim, G * head_dim, ak, scratch.row);
  const bool fused = keys.fused();
  if (ak.dots && static_cast<int64_t>(scratch.dots.size()) < G) scratch.dots.resize(static_cast<size_t>(G));
  // The whole-range kernels need whole 16-lane vectors per head (q8_0 heads are whole blocks of 32,
  // check_seqs), so with them only f32 / f16 heads of other sizes take the per-row path below.
  const bool ranges = ak.score_rows && ak.weigh_rows && head_dim % 16 == 0;
  for (int64_t t = 0; t < s.n_new; ++t) {
    const int64_t n_keys = s.n_past + t + 1;  // causal: positions 0..P+t
    if (static_cast<int64_t>(scores.size()) < G * n_keys) scores.resize(static_cast<size_t>(G * n_keys));
    float* sc = scores.data();  // [G][n_keys]
    const float* qt = s.q + t * s.q_stride + h0 * head_dim;
    if (ranges) {
      float* out = s.out + t * s.out_stride + h0 * head_dim;
      ak.score_rows(qt, keys.rows(), n_keys, keys.type(), G, head_dim, scale, sc, n_keys);
      for (int64_t g = 0; g < G; ++g) softmax_inplace(sc + g * n_keys, n_keys);
      ak.weigh_rows(sc, n_keys, values.rows(), n_keys, values.type(), G, head_dim, out);
      continue;
    }
    for (int64_t j = 0; j < n_keys; ++j) {
      if (j + kKvRowsAhead < n_keys) keys.prefetch(j + kKvRowsAhead);
      const float* q = qt;
      if (ak.dots && fused) {  // the same sums, read from the cache row directly
        ak.dots(q, keys.raw(j), keys.f16(), G, head_dim, scratch.dots.data());
        for (int64_t g = 0; g < G; ++g) sc[g * n_keys + j] = scratch.dots[static_cast<size_t>(g)] / scale;
        continue;
      }
      const float* k = keys.row(j);  // heads h0..h1-1
      for (int64_t g = 0; g < G; ++g) sc[g * n_keys + j] = dot(q + g * head_dim, k + g * head_dim, head_dim) / scale;
    }
    for (int64_t g = 0; g < G; ++g) softmax_inplace(sc + g * n_keys, n_keys);  // the probabilities
    float* out = s.out + t * s.out_stride + h0 * head_dim;
    for (int64_t d = 0; d < G * head_dim; ++d) out[d] = 0.0f;
    for (int64_t j = 0; j < n_keys; ++j) {
      if (j + kKvRowsAhead < n_keys) values.prefetch(j + kKvRowsAhead);
      if (ak.axpy && fused) {
        ak.axpy(sc + j, n_keys, values.raw(j), values.f16(), G, head_dim, out);
        continue;
      }
      const float* v = values.row(j);
      for (int64_t g = 0; g < G; ++g) {
        const float p = sc[g * n_keys + j];
        float* o = out + g * head_dim;
        const float* vg = v + g * head_dim;
        for (int64_t d = 0; d < head_dim; ++d) o[d] += p * vg[d];
      }
    }
  }
}

}  // namespace

const AttentionKernels& attention_kernels_scalar() { return kScalar; }

const AttentionKernels& attention_kernels(Isa isa) {
  if (!isa_supported(isa)) fail("this CPU does not support the ", isa_name(isa), " kernels");
  switch (isa) {
    case Isa::Avx512:
      return attention_kernels_avx512();
    case Isa::Avx2:
    case Isa::Avx2Vnni:  // attention has no integer dot products: the AVX2 kernels
      return attention_kernels_avx2();
    default:
      return attention_kernels_scalar();
  }
}

bool kv_type_supported(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::Q8_0; }

void require_kv_type(DType t) {
  if (!kv_type_supported(t)) fail("KV cache element type ", dtype_name(t), " is not supported (f32, f16 or q8_0)");
}

void kv_from_f32(DType t, const float* src, void* dst, int64_t n) {
  require_kv_type(t);
  if (t == DType::F32)
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n));
  else if (t == DType::F16)
    attention_kernels(active_isa()).to_f16(src, static_cast<uint16_t*>(dst), n);
  else
    quantize_row(t, src, dst, n);  // the reference q8_0 quantizer; n must be a multiple of 32
}

void kv_to_f32(DType t, const void* src, float* dst, int64_t n) {
  require_kv_type(t);
  if (t == DType::F32)
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n));
  else if (t == DType::F16)
    attention_kernels(active_isa()).to_f32(static_cast<const uint16_t*>(src), dst, n);
  else
    dequantize_row(t, src, dst, n);
}

void require_kv_layout(DType t, int64_t head_dim) {
  require_kv_type(t);
  if (t == DType::Q8_0 && (head_dim <= 0 || head_dim % 32 != 0))
    fail("a q8_0 KV cache needs a head size that is a multiple of 32 (this model's is ", head_dim, ")");
}

namespace {
void check_seqs(std::span<const AttentionSeq> seqs, int64_t head_dim) {
  for (const AttentionSeq& s : seqs) {
    require_kv_layout(s.kv_type, head_dim);
    const bool blocks_ok = s.kv_block_rows == 0 ||
                           (s.kv_block_rows > 0 && std::has_single_bit(static_cast<uint64_t>(s.kv_block_rows)));
    if (!blocks_ok)
      fail("attention: KV rows in blocks of ", s.kv_block_rows, " (0 or a power of two)");
  }
}

// Heads per work item. A decode step (one new row per sequence) is bound by reading the cache, and
// its rows stream fastest read whole, one after another: a group of half the heads reads half of
// every row, a pattern the hardware prefetchers follow at about 60% of the speed. So decode steps
// take all heads per item (one item per sequence; the model runs fc_in beside them meanwhile).
// Steps with several new rows (prefill) compute T x S scores on rows already in cache, and split
// the heads into a group per thread so that every thread has a share.
int64_t head_groups(std::span<const AttentionSeq> seqs, int64_t n_head, int threads) {
  const bool decode = std::all_of(seqs.begin(), seqs.end(), [](const AttentionSeq& s) { return s.n_new == 1; });
  return decode ? 1 : std::min<int64_t>(n_head, std::max(1, threads));
}
}  // namespace

// Work items: (sequence, group of contiguous heads).
AttentionJob::AttentionJob(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim, int threads)
    : seqs_(seqs),
      kernels_(attention_kernels(active_isa())),
      n_head_(n_head),
      head_dim_(head_dim),
      groups_(head_groups(seqs, n_head, threads)),
      items_(static_cast<int64_t>(seqs.size()) * groups_) {
  check_seqs(seqs, head_dim);
}

bool AttentionJob::run_next_item() {
  const int64_t item = next_.fetch_add(1, std::memory_order_relaxed);
  if (item >= items_) return false;
  thread_local Scratch scratch;  // O(heads per group x S), kept between calls
  int64_t h0, h1;
  split_range(n_head_, static_cast<int>(item % groups_), static_cast<int>(groups_), h0, h1);
  attend_heads(seqs_[static_cast<size_t>(item / groups_)], h0, h1, head_dim_, kernels_, scratch);
  return true;
}

void attention(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim, ThreadPool& pool) {
  AttentionJob job(seqs, n_head, head_dim, pool.size());
  pool.run([&](int, int) {
    while (job.run_next_item()) {
    }
  });
}

void attention_reference(std::span<const AttentionSeq> seqs, int64_t n_head, int64_t head_dim) {
  check_seqs(seqs, head_dim);
  Scratch scratch;
  for (const AttentionSeq& s : seqs)
    for (int64_t h = 0; h < n_head; ++h) attend_heads(s, h, h + 1, head_dim, kScalar, scratch);
}

}  // namespace moss
