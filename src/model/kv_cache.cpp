// KvCache (see kv_cache.h).
#include "model/kv_cache.h"

#include <algorithm>

#include "kernels/attention.h"
#include "tensor/convert.h"
#include "util/error.h"

namespace moss {

DType kv_type_from_name(const std::string& name) {
  if (name == "f32") return DType::F32;
  if (name == "f16") return DType::F16;
  if (name == "q8_0") return DType::Q8_0;
  fail("unknown KV cache type '", name, "' (known: f32, f16, q8_0)");
}

KvCache::KvCache(const MossConfig& config, int64_t capacity, DType type)
    : n_layer_(config.n_layer),
      n_embd_(config.n_embd),
      capacity_(capacity == 0 ? config.n_ctx : capacity),
      type_(type) {
  require_kv_layout(type, config.head_dim);
  row_bytes_ = row_bytes(type, n_embd_);
  if (capacity_ <= 0 || capacity_ > config.n_ctx)
    fail("KV cache capacity ", capacity_, " is outside 1..", config.n_ctx, " (the context length)");
  constexpr size_t kBlockBytes = size_t{512} << 10;
  constexpr int kMaxBlockShift = 7;  // 128 positions
  while (block_shift_ < kMaxBlockShift && (row_bytes_ << (block_shift_ + 1)) <= kBlockBytes) ++block_shift_;
  const size_t n = bytes_reserved() / 2;
  k_ = allocate_huge_pages(n);  // pages are committed as positions are written
  v_ = allocate_huge_pages(n);
}

void KvCache::prepare(int64_t end) {
  if (end <= committed_) return;
  const int64_t blocks = std::min(blocks_reserved(), (end + kCommitAhead + block_rows() - 1) >> block_shift_);
  const size_t block_bytes = static_cast<size_t>(n_layer_ << block_shift_) * row_bytes_;  // all layers' rows
  const size_t from = static_cast<size_t>(committed_ >> block_shift_) * block_bytes;
  const size_t to = static_cast<size_t>(blocks) * block_bytes;
  commit_pages(k_.get() + from, to - from);
  commit_pages(v_.get() + from, to - from);
  committed_ = blocks << block_shift_;
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v) {
  kv_from_f32(type_, k, this->k(layer, pos), n_embd_);
  kv_from_f32(type_, v, this->v(layer, pos), n_embd_);
}

void KvCache::load_k(int64_t layer, int64_t pos, float* out) const { kv_to_f32(type_, k(layer, pos), out, n_embd_); }
void KvCache::load_v(int64_t layer, int64_t pos, float* out) const { kv_to_f32(type_, v(layer, pos), out, n_embd_); }

void KvCache::truncate(int64_t n) {
  if (n < 0 || n > n_past_) fail("KV cache truncate to ", n, " positions, but it holds ", n_past_);
  n_past_ = n;
}

}  // namespace moss
