// GGUF v3 reader. The file is hostile until proven otherwise: every count is checked against the
// bytes that remain before anything is allocated, so a forged header can neither allocate
// terabytes nor read past the mapping.
#include <cstring>
#include <set>

#include "formats/gguf.h"
#include "util/error.h"
#include "util/mapped_file.h"

namespace moss {

namespace {

// Smallest encoded size of one KV value of each type (for count-vs-size checks).
size_t min_value_bytes(MetaType t) {
  switch (t) {
    case MetaType::U8: case MetaType::I8: case MetaType::BOOL: return 1;
    case MetaType::U16: case MetaType::I16: return 2;
    case MetaType::U32: case MetaType::I32: case MetaType::F32: return 4;
    case MetaType::U64: case MetaType::I64: case MetaType::F64: return 8;
    case MetaType::STRING: return 8;
    case MetaType::ARRAY: return 12;
  }
  return 1;
}

constexpr int kMaxArrayDepth = 8;  // nested arrays: GGUF allows them, nobody needs more than this

class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& source) : data_(data), size_(size), source_(source) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename... Parts>
  [[noreturn]] void error(const Parts&... parts) const {
    fail(source_, ": invalid GGUF at byte ", pos_, ": ", parts...);
  }

  void need(uint64_t n, const char* what) const {
    if (n > remaining()) error("file truncated while reading ", what, " (", n, " bytes needed, ", remaining(), " left)");
  }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const char* what) {
    const uint64_t len = read<uint64_t>(what);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

  MetaType read_type(const char* what) {
    const uint32_t t = read<uint32_t>(what);
    if (t > static_cast<uint32_t>(MetaType::F64)) error("unknown value type ", t, " for ", what);
    return static_cast<MetaType>(t);
  }

  MetaValue read_value(MetaType type, const std::string& key, int depth) {
    MetaValue v;
    v.type = type;
    switch (type) {
      case MetaType::U8: v.i = read<uint8_t>(key.c_str()); break;
      case MetaType::I8: v.i = read<int8_t>(key.c_str()); break;
      case MetaType::U16: v.i = read<uint16_t>(key.c_str()); break;
      case MetaType::I16: v.i = read<int16_t>(key.c_str()); break;
      case MetaType::U32: v.i = read<uint32_t>(key.c_str()); break;
      case MetaType::I32: v.i = read<int32_t>(key.c_str()); break;
      case MetaType::U64: v.i = static_cast<int64_t>(read<uint64_t>(key.c_str())); break;
      case MetaType::I64: v.i = read<int64_t>(key.c_str()); break;
      case MetaType::F32: v.f = read<float>(key.c_str()); break;
      case MetaType::F64: v.f = read<double>(key.c_str()); break;
      case MetaType::BOOL: {
        const uint8_t b = read<uint8_t>(key.c_str());
        if (b > 1) error("bool value ", static_cast<int>(b), " of key ", key, " is neither 0 nor 1");
        v.i = b;
        break;
      }
      case MetaType::STRING: v.s = read_string(key.c_str()); break;
      case MetaType::ARRAY: {
        if (depth >= kMaxArrayDepth) error("arrays nested deeper than ", kMaxArrayDepth, " in key ", key);
        v.elem_type = read_type(key.c_str());
        const uint64_t count = read<uint64_t>(key.c_str());
        // Each element takes at least min_value_bytes: a count the file cannot hold is rejected
        // before reserving memory for it.
        if (count > remaining() / min_value_bytes(v.elem_type))
          error("array of key ", key, " claims ", count, " elements but only ", remaining(), " bytes remain");
        v.array.reserve(static_cast<size_t>(count));
        for (uint64_t k = 0; k < count; ++k) v.array.push_back(read_value(v.elem_type, key, depth + 1));
        break;
      }
    }
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& source_;
};

struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne;
  DType type;
  uint64_t offset;
  uint64_t nbytes;
};

}  // namespace

bool is_gguf(const uint8_t* data, size_t size) { return size >= 4 && std::memcmp(data, "GGUF", 4) == 0; }

void parse_gguf(const uint8_t* data, size_t size, const std::string& source, Metadata& meta, TensorSet& tensors) {
  Reader r(data, size, source);
  if (!is_gguf(data, size)) fail(source, ": not a GGUF file (bad magic)");
  r.read<uint32_t>("magic");
  const uint32_t version = r.read<uint32_t>("version");
  if (version != kGgufVersion) {
    if ((version & 0xffff) == 0 && (version >> 16) != 0) r.error("version is big-endian; only little-endian files are supported");
    r.error("unsupported GGUF version ", version, " (only version 3 is supported)");
  }
  const uint64_t n_tensors = r.read<uint64_t>("tensor count");
  const uint64_t n_kv = r.read<uint64_t>("key/value count");
  // Smallest possible KV: 8-byte key length + 4-byte type + 1-byte value. Smallest tensor info:
  // 8 + 4 + 8 (one dim) + 4 + 8 = 32 bytes.
  if (n_kv > r.remaining() / 13) r.error("key/value count ", n_kv, " is impossible for a file of ", size, " bytes");
  if (n_tensors > r.remaining() / 32) r.error("tensor count ", n_tensors, " is impossible for a file of ", size, " bytes");

  Metadata parsed;
  std::set<std::string> seen_keys;
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = r.read_string("key");
    if (!seen_keys.insert(key).second) r.error("duplicate key ", key);
    const MetaType type = r.read_type(key.c_str());
    parsed.set(key, r.read_value(type, key, 0));
  }

  uint64_t alignment = kGgufDefaultAlignment;
  if (const MetaValue* a = parsed.find(keys::kAlignment)) {
    if (a->type != MetaType::U32) r.error("general.alignment must be a u32");
    alignment = static_cast<uint64_t>(a->i);
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment % 8 != 0)
      r.error("general.alignment ", alignment, " is not a power of two multiple of 8");
  }

  std::vector<TensorInfo> infos;
  infos.reserve(static_cast<size_t>(n_tensors));
  std::set<std::string> seen_names;
  for (uint64_t t = 0; t < n_tensors; ++t) {
    TensorInfo info;
    info.name = r.read_string("tensor name");
    if (info.name.size() > kGgufMaxName) r.error("tensor name ", info.name.substr(0, 80), "... is longer than ", kGgufMaxName, " bytes");
    if (!seen_names.insert(info.name).second) r.error("duplicate tensor name ", info.name);
    const uint32_t n_dims = r.read<uint32_t>("tensor dims");
    if (n_dims < 1 || n_dims > kGgufMaxDims) r.error("tensor ", info.name, " has ", n_dims, " dims (1 to 4 allowed)");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = r.read<uint64_t>("tensor shape");
      if (ne > static_cast<uint64_t>(INT64_MAX)) r.error("tensor ", info.name, " has a negative dimension");
      if (ne != 0 && numel > static_cast<uint64_t>(INT64_MAX) / ne) r.error("tensor ", info.name, " has more elements than fit in 64 bits");
      numel *= ne;
      info.ne.push_back(static_cast<int64_t>(ne));
    }
    if (!shape_in_range(info.ne)) r.error("tensor ", info.name, " has dimensions whose product does not fit in 64 bits");
    const uint32_t type_id = r.read<uint32_t>("tensor type");
    if (!dtype_known(type_id) || type_id >= 1000) r.error("tensor ", info.name, " has unknown or unsupported ggml type ", type_id);
    info.type = static_cast<DType>(type_id);
    const auto& tr = dtype_traits(info.type);
    if (info.ne[0] % tr.block_size != 0)
      r.error("tensor ", info.name, ": ne[0] = ", info.ne[0], " is not a multiple of the ", tr.name, " block size ", tr.block_size);
    const uint64_t blocks = numel / static_cast<uint64_t>(tr.block_size);
    if (blocks > static_cast<uint64_t>(size) / tr.block_bytes + 1)
      r.error("tensor ", info.name, " (", numel, " elements) is larger than the file");
    info.nbytes = blocks * tr.block_bytes;
    info.offset = r.read<uint64_t>("tensor offset");
    if (info.offset % alignment != 0) r.error("tensor ", info.name, " offset ", info.offset, " is not a multiple of the alignment ", alignment);
    infos.push_back(std::move(info));
  }

  TensorSet parsed_tensors;  // merged into `tensors` only once everything is valid
  const uint64_t data_start = (r.pos() + alignment - 1) / alignment * alignment;
  if (n_tensors > 0 && data_start > size) r.error("tensor data section starts at ", data_start, " beyond the end of the file (", size, " bytes)");
  for (auto& info : infos) {
    const uint64_t avail = size > data_start ? size - data_start : 0;
    if (info.offset > avail || info.nbytes > avail - info.offset)
      fail(source, ": invalid GGUF: tensor ", info.name, " data [", data_start + info.offset, ", +", info.nbytes,
           ") lies outside the file of ", size, " bytes");
    TensorView v;
    v.name = info.name;
    v.dtype = info.type;
    v.shape.assign(info.ne.rbegin(), info.ne.rend());  // GGUF ne[0] is the innermost (PyTorch's last) dim
    v.data = data + data_start + info.offset;
    v.nbytes = static_cast<size_t>(info.nbytes);
    parsed_tensors.add(std::move(v));
  }
  tensors.merge(std::move(parsed_tensors));
  meta = std::move(parsed);
}

ModelFile read_gguf(const std::string& path) {
  auto file = MappedFile::open(path);
  ModelFile m;
  m.source = path;
  parse_gguf(file->data(), file->size(), path, m.meta, m.tensors);
  m.tensors.keep_alive(file);
  return m;
}

uint32_t gguf_file_type(DType t) {
  // LLAMA_FTYPE values; K-quant files written here use one type for every matrix, so the
  // "_S" (small, uniform) variants are the honest labels.
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q4_1: return 3;
    case DType::Q8_0: return 7;
    case DType::Q5_0: return 8;
    case DType::Q5_1: return 9;
    case DType::Q2_K: return 10;
    case DType::Q3_K: return 11;
    case DType::Q4_K: return 14;
    case DType::Q5_K: return 16;
    case DType::Q6_K: return 18;
    case DType::BF16: return 32;
    default: return 1024;  // LLAMA_FTYPE_GUESSED: no standard label
  }
}

}  // namespace moss
