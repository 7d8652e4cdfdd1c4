// ZIP central-directory parsing (APPNOTE.TXT 4.3). Every field read from the file is checked
// against the file size before it is used.
#include "formats/zip_reader.h"

#include <cstring>
#include <set>

#include "util/error.h"

namespace moss {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;

struct Bytes {
  const uint8_t* data;
  size_t size;
  const std::string& source;

  template <typename T>
  T get(uint64_t at, const char* what) const {
    if (at > size || sizeof(T) > size - at) fail(source, ": zip truncated while reading ", what, " at byte ", at);
    T v;
    std::memcpy(&v, data + at, sizeof(T));
    return v;
  }
};

}  // namespace

std::vector<ZipEntry> read_zip_directory(const uint8_t* data, size_t size, const std::string& source) {
  const Bytes b{data, size, source};
  if (size < 22) fail(source, ": not a zip archive (too short)");
  // The end-of-central-directory record is the last 22 bytes plus a comment of up to 65535 bytes.
  uint64_t end = UINT64_MAX;
  const size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (size_t at = size - 22 + 1; at-- > lowest;) {
    if (b.get<uint32_t>(at, "end record") == kEndSig && at + 22 + b.get<uint16_t>(at + 20, "comment length") == size) {
      end = at;
      break;
    }
  }
  if (end == UINT64_MAX) fail(source, ": not a zip archive (no end-of-central-directory record)");
  uint64_t count = b.get<uint16_t>(end + 10, "entry count");
  uint64_t cd_size = b.get<uint32_t>(end + 12, "directory size");
  uint64_t cd_offset = b.get<uint32_t>(end + 16, "directory offset");
  if (count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    // ZIP64: a locator just before the end record points at the 64-bit end record.
    if (end < 20 || b.get<uint32_t>(end - 20, "zip64 locator") != kLocator64Sig)
      fail(source, ": zip64 archive without a zip64 locator");
    const uint64_t end64 = b.get<uint64_t>(end - 20 + 8, "zip64 end offset");
    if (b.get<uint32_t>(end64, "zip64 end record") != kEnd64Sig) fail(source, ": bad zip64 end record at byte ", end64);
    count = b.get<uint64_t>(end64 + 32, "zip64 entry count");
    cd_size = b.get<uint64_t>(end64 + 40, "zip64 directory size");
    cd_offset = b.get<uint64_t>(end64 + 48, "zip64 directory offset");
  }
  if (cd_offset > size || cd_size > size - cd_offset) fail(source, ": zip central directory lies outside the file");
  if (count > cd_size / 46) fail(source, ": zip claims ", count, " entries in a ", cd_size, "-byte directory");

  std::vector<ZipEntry> entries;
  std::set<std::string> names;
  uint64_t at = cd_offset;
  for (uint64_t k = 0; k < count; ++k) {
    if (b.get<uint32_t>(at, "directory entry") != kCentralSig) fail(source, ": bad zip directory entry at byte ", at);
    const uint16_t flags = b.get<uint16_t>(at + 8, "flags");
    const uint16_t method = b.get<uint16_t>(at + 10, "method");
    uint64_t csize = b.get<uint32_t>(at + 20, "compressed size");
    uint64_t usize = b.get<uint32_t>(at + 24, "size");
    const uint16_t name_len = b.get<uint16_t>(at + 28, "name length");
    const uint16_t extra_len = b.get<uint16_t>(at + 30, "extra length");
    const uint16_t comment_len = b.get<uint16_t>(at + 32, "comment length");
    uint64_t local = b.get<uint32_t>(at + 42, "local header offset");
    const uint64_t name_at = at + 46;
    if (name_at + name_len + extra_len + comment_len > cd_offset + cd_size) fail(source, ": zip directory entry ", k, " overruns the directory");
    ZipEntry e;
    e.name.assign(reinterpret_cast<const char*>(data + name_at), name_len);
    // ZIP64 extended information (id 1): the 64-bit values of the fields saturated above, in order.
    for (uint64_t x = name_at + name_len; x + 4 <= name_at + name_len + extra_len;) {
      const uint16_t id = b.get<uint16_t>(x, "extra id");
      const uint16_t len = b.get<uint16_t>(x + 2, "extra length");
      if (x + 4 + len > name_at + name_len + extra_len) fail(source, ": zip entry ", e.name, ": extra field overruns the entry");
      if (id == 1) {
        uint64_t y = x + 4;
        auto take = [&](uint64_t& field) {
          if (y + 8 > x + 4 + len) fail(source, ": zip entry ", e.name, ": short zip64 extra field");
          field = b.get<uint64_t>(y, "zip64 field");
          y += 8;
        };
        if (usize == 0xffffffff) take(usize);
        if (csize == 0xffffffff) take(csize);
        if (local == 0xffffffff) take(local);
      }
      x += 4 + len;
    }
    if (flags & 1) fail(source, ": zip entry ", e.name, " is encrypted");
    if (method != 0) fail(source, ": zip entry ", e.name, " is compressed (method ", method, "); only STORED entries are supported");
    if (csize != usize) fail(source, ": zip entry ", e.name, " has different stored and original sizes");
    if (!names.insert(e.name).second) fail(source, ": zip has two entries named ", e.name);
    // The data follows the local header, whose name and extra lengths may differ from the
    // directory's (torch.save pads the local extra field to align storages).
    if (b.get<uint32_t>(local, "local header") != kLocalSig) fail(source, ": zip entry ", e.name, ": bad local header at byte ", local);
    const uint16_t lname = b.get<uint16_t>(local + 26, "local name length");
    const uint16_t lextra = b.get<uint16_t>(local + 28, "local extra length");
    e.data_offset = local + 30 + lname + lextra;
    if (e.data_offset > size || usize > size - e.data_offset)
      fail(source, ": zip entry ", e.name, " data [", e.data_offset, ", +", usize, ") lies outside the file of ", size, " bytes");
    e.size = usize;
    entries.push_back(std::move(e));
    at = name_at + name_len + extra_len + comment_len;
  }
  return entries;
}

}  // namespace moss
