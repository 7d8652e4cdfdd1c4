// The KV cache of one sequence: keys (rotary applied) and values of every layer and cached position,
// laid out [layer][pos][E] (E = n_head * head_dim, head h at h*D) for K and for V, so the rows of
// one layer are contiguous and a new token's row is written with one store. The element type is
// float32 (the default: bit-exact with the reference) or IEEE half (DType::F16: half the memory and
// half the bytes attention reads per step; values are rounded to nearest even when stored, see
// kernels/attention.h). Memory is reserved but committed only as positions are written (the full
// 2048-position cache of MOSS-003 is 3.4 GB in f32, 1.7 GB in f16: 34 layers x 2 x 6144 elements per
// position), in huge pages once the cache is long enough for them to pay (see prepare); move-only.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "model/config.h"
#include "tensor/dtype.h"
#include "util/huge_pages.h"

namespace moss {

// Parses a KV cache element type name: "f32", "f16" or "q8_0"; throws moss::Error otherwise.
DType kv_type_from_name(const std::string& name);

class KvCache {
 public:
  KvCache() = default;
  // capacity: positions this cache can hold; 0 means the model's context length. Throws if it
  // exceeds the context length, if type is not F32, F16 or Q8_0, or (Q8_0) if the head size is not a
  // multiple of 32.
  KvCache(const MossConfig& config, int64_t capacity = 0, DType type = DType::F32);

  int64_t n_layer() const { return n_layer_; }
  int64_t n_embd() const { return n_embd_; }
  int64_t capacity() const { return capacity_; }
  int64_t size() const { return n_past_; }  // positions 0..size()-1 are filled
  DType type() const { return type_; }
  // Bytes of the K and V rows of one position over all layers, and of the whole reservation.
  size_t bytes_per_position() const { return 2 * static_cast<size_t>(n_layer_) * row_bytes_; }
  size_t bytes_reserved() const { return bytes_per_position() * static_cast<size_t>(capacity_); }

  // Row (layer, pos) of K / V, elements of type(); stride n_embd() elements between positions.
  void* k(int64_t layer, int64_t pos) { return k_.get() + offset(layer, pos); }
  void* v(int64_t layer, int64_t pos) { return v_.get() + offset(layer, pos); }
  const void* k(int64_t layer, int64_t pos) const { return k_.get() + offset(layer, pos); }
  const void* v(int64_t layer, int64_t pos) const { return v_.get() + offset(layer, pos); }

  // Stores the float32 rows k[0..E), v[0..E) at (layer, pos), converted to type().
  void store(int64_t layer, int64_t pos, const float* k, const float* v);
  // Reads the K / V row at (layer, pos) back as float32 (exact), into out[0..E).
  void load_k(int64_t layer, int64_t pos, float* out) const;
  void load_v(int64_t layer, int64_t pos, float* out) const;

  // Called (by Model) before positions up to `end` are written. Attention reads one row per position
  // and layer, rows 4 KiB or more apart, so with 4 KiB pages a long cache takes a TLB miss on nearly
  // every row (8 sequences at ~400 positions decode 149-152 tok/s with them, 169-171 with huge
  // pages). But each layer's K and V rows lie in their own area, so huge pages commit 2 MiB per layer
  // and per K/V on first touch: 64 MiB for a 10-token cache of the 1.24B model instead of 0.6 MiB.
  // So the cache asks for huge pages only once a layer's rows reach 1 MiB, at most doubling what
  // it commits.
  void prepare(int64_t end);

  // Keeps the first n positions (for reusing a shared prefix, e.g. chat history); n > size() throws.
  void truncate(int64_t n);
  void clear() { n_past_ = 0; }

 private:
  friend class Model;  // advances size() after a successful forward
  size_t offset(int64_t layer, int64_t pos) const {
    return static_cast<size_t>(layer * capacity_ + pos) * row_bytes_;
  }
  int64_t n_layer_ = 0, n_embd_ = 0, capacity_ = 0, n_past_ = 0;
  DType type_ = DType::F32;
  size_t row_bytes_ = 0;  // one K or V row of n_embd elements of type_
  HugePageBuffer k_, v_;  // only positions < size() are ever read
  bool huge_pages_ = false;  // advised (prepare)
};

}  // namespace moss
