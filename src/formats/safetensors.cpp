// safetensors parsing with nlohmann::json for the header and explicit checks on every size and
// offset (the header is untrusted: offsets outside the buffer, overlapping ranges or a byte count
// that disagrees with the shape are all errors).
#include "formats/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <set>

#include "util/error.h"
#include "util/mapped_file.h"

namespace moss {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit (100 MB)

bool dtype_from_safetensors(const std::string& s, DType& out) {
  static const std::pair<const char*, DType> kTable[] = {
      {"F64", DType::F64}, {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16},
      {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16}, {"I8", DType::I8},
      {"U8", DType::U8},   {"BOOL", DType::BOOL},
  };
  for (const auto& [name, t] : kTable)
    if (s == name) {
      out = t;
      return true;
    }
  return false;
}

uint64_t get_u64(const nlohmann::json& j, const std::string& source, const std::string& name, const char* what) {
  if (!j.is_number_unsigned()) fail(source, ": tensor ", name, ": ", what, " must be a non-negative integer");
  return j.get<uint64_t>();
}

}  // namespace

void parse_safetensors(const uint8_t* data, size_t size, const std::string& source, TensorSet& out) {
  if (size < 8) fail(source, ": not a safetensors file (", size, " bytes, shorter than the 8-byte header length)");
  uint64_t n = 0;
  std::memcpy(&n, data, 8);
  if (n > size - 8) fail(source, ": safetensors header length ", n, " exceeds the file size ", size);
  if (n > kMaxHeader) fail(source, ": safetensors header length ", n, " is larger than the 100 MB limit");
  if (n < 2 || data[8] != '{') fail(source, ": safetensors header does not start with a JSON object");
  nlohmann::json header;
  // nlohmann keeps the last of duplicate keys silently; the callback sees every top-level key so
  // that a header naming a tensor twice is refused instead.
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    if (depth == 1 && ev == nlohmann::json::parse_event_t::key && parsed.is_string() &&
        !seen.insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  try {
    header = nlohmann::json::parse(data + 8, data + 8 + n, on_event);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": safetensors header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) fail(source, ": safetensors header is not a JSON object");
  if (!duplicate.empty()) fail(source, ": safetensors header names tensor ", duplicate, " twice");
  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;

  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  TensorSet parsed;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    if (!info.is_object()) fail(source, ": tensor ", name, ": entry is not an object");
    auto dt = info.find("dtype");
    auto sh = info.find("shape");
    auto off = info.find("data_offsets");
    if (dt == info.end() || sh == info.end() || off == info.end())
      fail(source, ": tensor ", name, ": needs dtype, shape and data_offsets");
    if (!dt->is_string()) fail(source, ": tensor ", name, ": dtype is not a string");
    TensorView v;
    v.name = name;
    if (!dtype_from_safetensors(dt->get<std::string>(), v.dtype))
      fail(source, ": tensor ", name, ": unsupported dtype ", dt->get<std::string>());
    if (!sh->is_array()) fail(source, ": tensor ", name, ": shape is not an array");
    if (sh->size() > 8) fail(source, ": tensor ", name, ": ", sh->size(), " dimensions is too many");
    uint64_t numel = 1;
    for (const auto& d : *sh) {
      const uint64_t dim = get_u64(d, source, name, "shape entry");
      if (dim > static_cast<uint64_t>(INT64_MAX) || (dim != 0 && numel > (static_cast<uint64_t>(INT64_MAX) >> 3) / dim))
        fail(source, ": tensor ", name, ": shape ", sh->dump(), " has too many elements");
      numel *= dim;
      v.shape.push_back(static_cast<int64_t>(dim));
    }
    if (!shape_in_range(v.shape)) fail(source, ": tensor ", name, ": shape ", sh->dump(), " is out of range");
    if (!off->is_array() || off->size() != 2) fail(source, ": tensor ", name, ": data_offsets must be [begin, end]");
    const uint64_t begin = get_u64((*off)[0], source, name, "data offset");
    const uint64_t end = get_u64((*off)[1], source, name, "data offset");
    if (begin > end || end > buffer_size)
      fail(source, ": tensor ", name, ": data_offsets [", begin, ", ", end, "] are outside the ", buffer_size, "-byte buffer");
    const uint64_t expect = numel * dtype_traits(v.dtype).block_bytes;
    if (end - begin != expect)
      fail(source, ": tensor ", name, ": holds ", end - begin, " bytes but shape ", sh->dump(), " of ",
           dt->get<std::string>(), " needs ", expect);
    v.data = buffer + begin;
    v.nbytes = static_cast<size_t>(expect);
    ranges.push_back({begin, end, name});
    parsed.add(std::move(v));
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  std::erase_if(ranges, [](const Range& r) { return r.begin == r.end; });  // empty tensors overlap nothing
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      fail(source, ": tensors ", ranges[i - 1].name, " and ", ranges[i].name, " overlap in the buffer");
  out.merge(std::move(parsed));
}

TensorSet read_safetensors(const std::string& path) {
  auto file = MappedFile::open(path);
  TensorSet ts;
  parse_safetensors(file->data(), file->size(), path, ts);
  ts.keep_alive(file);
  return ts;
}

}  // namespace moss
