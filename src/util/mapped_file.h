// A read-only memory mapping of a whole file. Weights are used straight from the mapping, so a
// 33 GB checkpoint is never copied into memory (the page cache holds it, once).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace moss {

class MappedFile {
 public:
  // Maps `path` read-only; throws moss::Error naming the file if it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Tells the kernel the pages of [p, p + n) will not be read again soon (MADV_COLD, rounded inward to
// whole pages): under memory pressure they are reclaimed first. Contents never change, whatever memory
// it is (a file mapping's pages are read back from the file if touched again). Model calls it on the
// file's q4_0 / q8_0 weights after repacking them. Advice only: errors are ignored.
void advise_cold(const void* p, size_t n);

}  // namespace moss
