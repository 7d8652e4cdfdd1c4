// AlignedBuffer: a reusable byte buffer aligned for 512-bit loads, grown on demand and kept (callers
// reserve the size they need each time; the contents are not preserved when it grows). Used for the
// encoded activation rows of the matmul kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>

namespace moss {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { ::operator delete(data_, std::align_val_t(64)); }
  uint8_t* reserve(size_t n) {
    if (n > size_) {
      ::operator delete(data_, std::align_val_t(64));
      data_ = nullptr;
      data_ = static_cast<uint8_t*>(::operator new(n, std::align_val_t(64)));
      size_ = n;
    }
    return data_;
  }
  const uint8_t* data() const { return data_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace moss
