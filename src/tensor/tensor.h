// Named tensors as the formats produce them and the model consumes them: a view of bytes (usually
// inside a memory-mapped file) plus dtype and shape. Shapes are in PyTorch order (outermost
// first): a Linear weight is {out_features, in_features}, each row contiguous.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace moss {

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;  // 0 when any dimension is 0
  int64_t rows() const;  // product of all but the last dim (1 for a vector)
  int64_t cols() const;  // last dim
  std::string shape_str() const;  // "[18432, 6144]"
};

// Whether every dimension is >= 0 and the product of the nonzero ones is at most 2^60 (so that
// element and byte counts of any sub-shape fit in 64 bits). Readers of untrusted files check this:
// a zero dimension must not let the others be arbitrary ([0, 2^40, 2^32] holds no element, but
// code that multiplies its leading dimensions would overflow).
bool shape_in_range(const std::vector<int64_t>& shape);


// A set of tensors plus whatever keeps their bytes alive (mappings, owned buffers). Ordered by
// insertion so that files are written in a stable order.
class TensorSet {
 public:
  void add(TensorView t);  // throws on a duplicate name
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  // Throws moss::Error "missing tensor NAME" when absent.
  const TensorView& get(const std::string& name) const;
  const TensorView* find(const std::string& name) const;
  const std::vector<TensorView>& all() const { return tensors_; }
  size_t size() const { return tensors_.size(); }
  void erase(const std::string& name);

  // Keeps `owner` (a mapping, a vector of bytes, another TensorSet's storage) alive with this set.
  void keep_alive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  // Allocates an owned buffer of n bytes that lives as long as this set.
  void* allocate(size_t nbytes);
  // Moves all tensors and owners of `other` into this set.
  void merge(TensorSet&& other);

 private:
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;
  std::vector<std::shared_ptr<const void>> owners_;
};

}  // namespace moss
