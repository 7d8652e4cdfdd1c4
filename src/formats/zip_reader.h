// Minimal ZIP reader for torch.save archives: parses the central directory (with ZIP64) and
// computes where each STORED entry's bytes start, so storages are used in place from the
// mapping. Compressed or encrypted entries are refused: torch.save never writes them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace moss {

struct ZipEntry {
  std::string name;
  uint64_t data_offset = 0;  // from the start of the archive
  uint64_t size = 0;
};

// Throws moss::Error (naming `source`) for anything malformed: no end-of-directory record, counts
// or offsets outside the file, compressed entries, duplicate names.
std::vector<ZipEntry> read_zip_directory(const uint8_t* data, size_t size, const std::string& source);

}  // namespace moss
