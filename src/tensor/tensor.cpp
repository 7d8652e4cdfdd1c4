// TensorView helpers and TensorSet bookkeeping.
#include "tensor/tensor.h"

#include "util/error.h"

namespace moss {

int64_t TensorView::numel() const {
  for (int64_t d : shape)
    if (d == 0) return 0;  // checked first: the other dimensions may then be anything in range
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool shape_in_range(const std::vector<int64_t>& shape) {
  constexpr uint64_t kLimit = uint64_t{1} << 60;
  uint64_t product = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (d == 0) continue;
    if (static_cast<uint64_t>(d) > kLimit / product) return false;
    product *= static_cast<uint64_t>(d);
  }
  return true;
}
int64_t TensorView::rows() const { return shape.empty() ? 1 : numel() / (shape.back() ? shape.back() : 1); }
int64_t TensorView::cols() const { return shape.empty() ? 1 : shape.back(); }

std::string TensorView::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void TensorSet::add(TensorView t) {
  if (index_.count(t.name)) fail("duplicate tensor name ", t.name);
  index_[t.name] = tensors_.size();
  tensors_.push_back(std::move(t));
}

const TensorView* TensorSet::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& TensorSet::get(const std::string& name) const {
  const TensorView* t = find(name);
  if (!t) fail("missing tensor ", name);
  return *t;
}

void TensorSet::erase(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return;
  tensors_.erase(tensors_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

void* TensorSet::allocate(size_t nbytes) {
  // 64-byte aligned so SIMD kernels can use aligned loads on owned buffers too.
  auto buf = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(::operator new(nbytes ? nbytes : 1, std::align_val_t(64))),
                                      [](uint8_t* p) { ::operator delete(p, std::align_val_t(64)); });
  owners_.push_back(buf);
  return buf.get();
}

void TensorSet::merge(TensorSet&& other) {
  for (auto& t : other.tensors_) add(std::move(t));
  for (auto& o : other.owners_) owners_.push_back(std::move(o));
  other.tensors_.clear();
  other.index_.clear();
  other.owners_.clear();
}

}  // namespace moss
