// KvCache (see kv_cache.h).
#include "model/kv_cache.h"

#include "util/error.h"

namespace moss {

KvCache::KvCache(const MossConfig& config, int64_t capacity)
    : n_layer_(config.n_layer), n_embd_(config.n_embd), capacity_(capacity == 0 ? config.n_ctx : capacity) {
  if (capacity_ <= 0 || capacity_ > config.n_ctx)
    fail("KV cache capacity ", capacity_, " is outside 1..", config.n_ctx, " (the context length)");
  const size_t n = static_cast<size_t>(n_layer_ * capacity_ * n_embd_);
  k_.reset(new float[n]);  // default-initialised: pages are committed as positions are written
  v_.reset(new float[n]);
}

void KvCache::truncate(int64_t n) {
  if (n < 0 || n > n_past_) fail("KV cache truncate to ", n, " positions, but it holds ", n_past_);
  n_past_ = n;
}

}  // namespace moss
