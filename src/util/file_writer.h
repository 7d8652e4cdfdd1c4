// FileWriter: writes a new file (a converted model, a benchmark model) safely and in a layout the
// page cache maps well.
// - Safely: bytes go to a temporary beside the target ("PATH.tmp.PID"), which commit() flushes,
//   syncs to disk and renames into place; a writer destroyed without commit() (an exception, a full
//   disk) removes it, so a failed write never leaves a truncated file under the final name.
// - Well mapped: bytes leave in whole 8 MiB pieces at 8 MiB-aligned offsets. On kernels whose page
//   cache keeps large folios (ext4 on Linux 6.x), such writes leave the file cached in 2 MiB folios,
//   which MappedFile's mapping (MADV_HUGEPAGE) then maps with 2 MiB pages: weights streamed every
//   token take no TLB misses. Writes of a few KiB (stdio's buffer) leave it in 4 KiB pages until
//   evicted. Measured on the development machine, 1.24B q4_0 model, 2 threads, 8 alternating runs:
//   decode median 51.5 tok/s (file written through stdio) vs 58.3 (written by FileWriter), +13%.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace moss {

class FileWriter {
 public:
  explicit FileWriter(std::string path);  // throws moss::Error if the temporary cannot be created
  ~FileWriter();                          // removes the temporary unless committed
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void write(const void* data, size_t n);
  void pad_to(uint64_t alignment);  // zero bytes up to the next multiple of alignment
  uint64_t offset() const { return written_ + used_; }
  // Writes what is buffered, closes and renames the temporary to the target; throws on I/O errors.
  void commit();

 private:
  void flush();

  std::string path_, tmp_;
  int fd_ = -1;
  std::unique_ptr<uint8_t[]> buf_;
  size_t used_ = 0;
  uint64_t written_ = 0;
};

}  // namespace moss
