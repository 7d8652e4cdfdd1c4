// The KV cache of one sequence: keys (rotary applied) and values of every layer and cached position.
// Rows (E = n_head * head_dim elements, head h at h*D) are laid out in blocks of B positions,
// [block][layer][B rows][E] for K and for V: a layer's rows are contiguous within a block (up to
// 512 KiB of them, so attention streams them), and the first positions of all layers
// lie together, so a short cache commits about what it holds even in 2 MiB pages (see
// block_rows()). The element type is float32 (the default: bit-exact with the reference), IEEE half
// (DType::F16: half the memory and half the bytes attention reads per step; values are rounded to
// nearest even when stored, see kernels/attention.h) or q8_0. Memory is reserved for the capacity but
// committed only as positions are written (the full 2048-position cache of MOSS-003 is 3.4 GB in f32,
// 1.7 GB in f16: 34 layers x 2 x 6144 elements per position); move-only.
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
  // Bytes of the K and V rows of one position over all layers, and of the whole reservation (the
  // capacity rounded up to whole blocks).
  size_t bytes_per_position() const { return 2 * static_cast<size_t>(n_layer_) * row_bytes_; }
  size_t bytes_reserved() const { return bytes_per_position() * static_cast<size_t>(blocks_reserved() << block_shift_); }

  // Row (layer, pos) of K / V, elements of type(). Within a block of block_rows() positions the rows
  // of a layer are n_embd() elements apart; from a block to the next, block_stride() elements.
  void* k(int64_t layer, int64_t pos) { return k_.get() + offset(layer, pos); }
  void* v(int64_t layer, int64_t pos) { return v_.get() + offset(layer, pos); }
  const void* k(int64_t layer, int64_t pos) const { return k_.get() + offset(layer, pos); }
  const void* v(int64_t layer, int64_t pos) const { return v_.get() + offset(layer, pos); }
  // B, a power of two: the most positions whose rows of one layer fit in 512 KiB (at least 1, at
  // most 128). A decode step reads a layer's rows block by block, one core, beside a matmul
  // streaming weights on the others, and every block boundary restarts the hardware's stream: with
  // runs of 64 KiB the attention of the 1.24B model read 20 GB/s from memory, with 256 KiB 21-25,
  // with 512 KiB 24-27 (each layer contiguous: 25.5-27.7; bench/README.md). The unused part of the
  // last block, one block of every layer at most (8 MiB for K and 8 for V of the 1.24B model in f16,
  // 13 + 13 for MOSS-16B), is what is committed beyond the rows held; the bound on the block's
  // bytes keeps that small for wide rows.
  int64_t block_rows() const { return int64_t{1} << block_shift_; }
  int64_t block_stride() const { return n_layer_ * block_rows() * n_embd_; }

  // Stores the float32 rows k[0..E), v[0..E) at (layer, pos), converted to type().
  void store(int64_t layer, int64_t pos, const float* k, const float* v);
  // Reads the K / V row at (layer, pos) back as float32 (exact), into out[0..E).
  void load_k(int64_t layer, int64_t pos, float* out) const;
  void load_v(int64_t layer, int64_t pos, float* out) const;

  // Called (by Model) before positions up to `end` are written: commits the pages of the rows up to
  // `end` plus kCommitAhead positions (whole blocks), if not done yet (best effort: see
  // commit_pages). A page fault costs 4-12 us per 4 KiB page and 0.1-0.2 ms per 2 MiB page on the
  // development VM (1-36 ms when its host backs the memory for the first time); taken one row at a
  // time they landed inside decode steps, in batches they land every kCommitAhead positions (and
  // mostly in prefill).
  void prepare(int64_t end);
  static constexpr int64_t kCommitAhead = 64;

  // Keeps the first n positions (for reusing a shared prefix, e.g. chat history); n > size() throws.
  void truncate(int64_t n);
  void clear() { n_past_ = 0; }

 private:
  friend class Model;  // advances size() after a successful forward
  int64_t blocks_reserved() const { return (capacity_ + block_rows() - 1) >> block_shift_; }
  size_t offset(int64_t layer, int64_t pos) const {
    const int64_t block = pos >> block_shift_, row = pos & (block_rows() - 1);
    return (static_cast<size_t>((block * n_layer_ + layer) << block_shift_) + static_cast<size_t>(row)) * row_bytes_;
  }
  int64_t n_layer_ = 0, n_embd_ = 0, capacity_ = 0, n_past_ = 0;
  int block_shift_ = 0;  // log2 of block_rows()
  int64_t committed_ = 0;  // positions whose pages prepare() has committed (whole blocks)
  DType type_ = DType::F32;
  size_t row_bytes_ = 0;  // one K or V row of n_embd elements of type_
  HugePageBuffer k_, v_;  // only positions < size() are ever read
};

}  // namespace moss
