// torch.save archive -> tensor views. The storages are used in place: a tensor is valid only if
// its elements lie inside its storage's entry and its strides are the contiguous row-major ones
// (the model reads rows as flat arrays).
#include "formats/torch_zip.h"

#include <cstring>
#include <map>

#include "formats/pickle.h"
#include "formats/zip_reader.h"
#include "util/error.h"
#include "util/mapped_file.h"

namespace moss {

void parse_torch_zip(const uint8_t* data, size_t size, const std::string& source, TensorSet& out) {
  if (size >= 2 && data[0] == 0x80 && data[1] <= 5)
    fail(source, ": legacy (pre-1.6, non-zip) PyTorch checkpoint; re-save it with torch >= 1.6 "
                 "(torch.save(torch.load(f), f)) or convert it to safetensors");
  if (size < 4 || std::memcmp(data, "PK\x03\x04", 4) != 0) fail(source, ": not a PyTorch zip checkpoint (no zip header)");
  const std::vector<ZipEntry> entries = read_zip_directory(data, size, source);

  // One top-level folder (its name varies: the file stem, or "archive") holds data.pkl.
  const ZipEntry* pkl = nullptr;
  std::string top;
  for (const auto& e : entries) {
    const size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      if (pkl) fail(source, ": archive holds two data.pkl entries");
      pkl = &e;
      top = e.name.substr(0, slash);
    }
  }
  if (!pkl) fail(source, ": archive has no <folder>/data.pkl; not a torch.save checkpoint");
  std::map<std::string, const ZipEntry*> storages;
  const std::string prefix = top + "/data/";
  for (const auto& e : entries)
    if (e.name.compare(0, prefix.size(), prefix) == 0) storages[e.name.substr(prefix.size())] = &e;

  const std::vector<PickledTensor> tensors = unpickle_state_dict(data + pkl->data_offset, static_cast<size_t>(pkl->size), source);
  TensorSet parsed;
  for (const auto& t : tensors) {
    auto it = storages.find(t.storage_key);
    if (it == storages.end()) fail(source, ": tensor ", t.name, " uses storage ", t.storage_key, ", which the archive lacks");
    const ZipEntry& st = *it->second;
    const size_t elem = dtype_traits(t.dtype).block_bytes;
    if (static_cast<uint64_t>(t.storage_numel) > st.size / elem)
      fail(source, ": storage ", t.storage_key, " claims ", t.storage_numel, " elements but holds ", st.size, " bytes");
    if (!shape_in_range(t.shape)) fail(source, ": tensor ", t.name, " has a negative size or too many elements");
    // Contiguous row-major strides (dims of size 1 may carry any stride).
    uint64_t numel = 1;
    int64_t expect = 1;
    for (size_t d = t.shape.size(); d-- > 0;) {
      if (t.shape[d] < 0) fail(source, ": tensor ", t.name, " has a negative size");
      if (t.shape[d] != 1 && t.stride[d] != expect)
        fail(source, ": tensor ", t.name, " is not contiguous (stride ", t.stride[d], " in dim ", d, ", expected ", expect,
             "); save it after .contiguous()");
      if (t.shape[d] != 0 && numel > static_cast<uint64_t>(t.storage_numel) / static_cast<uint64_t>(t.shape[d]) + 1)
        fail(source, ": tensor ", t.name, " is larger than its storage");
      numel *= static_cast<uint64_t>(t.shape[d]);
      expect = static_cast<int64_t>(numel);
    }
    if (t.offset < 0 || numel > static_cast<uint64_t>(t.storage_numel) ||
        static_cast<uint64_t>(t.offset) > static_cast<uint64_t>(t.storage_numel) - numel)
      fail(source, ": tensor ", t.name, " (", numel, " elements at offset ", t.offset, ") does not fit in storage ",
           t.storage_key, " of ", t.storage_numel, " elements");
    TensorView v;
    v.name = t.name;
    v.dtype = t.dtype;
    v.shape = t.shape;
    v.data = data + st.data_offset + static_cast<uint64_t>(t.offset) * elem;
    v.nbytes = static_cast<size_t>(numel * elem);
    if (parsed.has(v.name)) fail(source, ": state dict names tensor ", v.name, " twice");
    parsed.add(std::move(v));
  }
  out.merge(std::move(parsed));
}

TensorSet read_torch_checkpoint(const std::string& path) {
  auto file = MappedFile::open(path);
  TensorSet ts;
  parse_torch_zip(file->data(), file->size(), path, ts);
  ts.keep_alive(file);
  return ts;
}

}  // namespace moss
