// The KV cache of one sequence: keys (rotary applied) and values of every layer and cached position,
// float32, laid out [layer][pos][E] (E = n_head * head_dim, head h at h*D) for K and for V, so the
// rows of one layer are contiguous and a new token's row is written with one copy. Memory is
// reserved but not touched up front (the full 2048-position cache of MOSS-003 is 3.4 GB: 34 layers
// x 2 x 6144 floats per position); move-only.
#pragma once
#include <cstdint>
#include <memory>

#include "model/config.h"

namespace moss {

class KvCache {
 public:
  KvCache() = default;
  // capacity: positions this cache can hold; 0 means the model's context length. Throws if it
  // exceeds the context length.
  KvCache(const MossConfig& config, int64_t capacity = 0);

  int64_t n_layer() const { return n_layer_; }
  int64_t n_embd() const { return n_embd_; }
  int64_t capacity() const { return capacity_; }
  int64_t size() const { return n_past_; }  // positions 0..size()-1 are filled

  float* k(int64_t layer, int64_t pos) { return k_.get() + (layer * capacity_ + pos) * n_embd_; }
  float* v(int64_t layer, int64_t pos) { return v_.get() + (layer * capacity_ + pos) * n_embd_; }
  const float* k(int64_t layer, int64_t pos) const { return k_.get() + (layer * capacity_ + pos) * n_embd_; }
  const float* v(int64_t layer, int64_t pos) const { return v_.get() + (layer * capacity_ + pos) * n_embd_; }

  // Keeps the first n positions (for reusing a shared prefix, e.g. chat history); n > size() throws.
  void truncate(int64_t n);
  void clear() { n_past_ = 0; }

 private:
  friend class Model;  // advances size() after a successful forward
  int64_t n_layer_ = 0, n_embd_ = 0, capacity_ = 0, n_past_ = 0;
  std::unique_ptr<float[]> k_, v_;  // uninitialised: only positions < size() are ever read
};

}  // namespace moss
