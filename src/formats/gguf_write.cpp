// GGUF v3 writer (write_gguf of model_file.h). Layout follows gguf-py / llama.cpp exactly:
// header, KV pairs, tensor infos, zero padding to the alignment, then each tensor's bytes padded to
// the alignment, with offsets equal to the running sum of padded sizes in tensor-info order (the
// order llama.cpp's reader insists on). Weights are converted row by row, so memory stays small.
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "formats/gguf.h"
#include "tensor/convert.h"
#include "util/error.h"
#include "util/file_writer.h"

namespace moss {

namespace {

class Bytes {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    buf_.append(p, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    buf_ += s;
  }
  void put_value(const MetaValue& v, const std::string& key) {
    switch (v.type) {
      case MetaType::U8: put<uint8_t>(static_cast<uint8_t>(v.i)); break;
      case MetaType::I8: put<int8_t>(static_cast<int8_t>(v.i)); break;
      case MetaType::U16: put<uint16_t>(static_cast<uint16_t>(v.i)); break;
      case MetaType::I16: put<int16_t>(static_cast<int16_t>(v.i)); break;
      case MetaType::U32: put<uint32_t>(static_cast<uint32_t>(v.i)); break;
      case MetaType::I32: put<int32_t>(static_cast<int32_t>(v.i)); break;
      case MetaType::U64: put<uint64_t>(static_cast<uint64_t>(v.i)); break;
      case MetaType::I64: put<int64_t>(v.i); break;
      case MetaType::F32: put<float>(static_cast<float>(v.f)); break;
      case MetaType::F64: put<double>(v.f); break;
      case MetaType::BOOL: put<uint8_t>(v.i ? 1 : 0); break;
      case MetaType::STRING: put_string(v.s); break;
      case MetaType::ARRAY:
        put<uint32_t>(static_cast<uint32_t>(v.elem_type));
        put<uint64_t>(v.array.size());
        for (const auto& e : v.array) {
          if (e.type != v.elem_type) fail("metadata key ", key, ": array element of another type than the array's");
          put_value(e, key);
        }
        break;
      default:
        fail("metadata key ", key, " has an invalid type");
    }
  }
  void pad_to(uint64_t alignment) {
    while (buf_.size() % alignment != 0) buf_ += '\0';
  }
  const std::string& str() const { return buf_; }

 private:
  std::string buf_;
};

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Which tensors get the requested weight type: 2-D matrices named *.weight that are not norms.
bool is_weight_matrix(const TensorView& t) {
  return t.shape.size() == 2 && ends_with(t.name, ".weight") && t.name.find("norm") == std::string::npos;
}

struct Plan {
  const TensorView* src;
  DType out;
  uint64_t nbytes;
  uint64_t offset;
};

// The type asked for this weight matrix: the embedding and the LM head may have their own.
std::optional<DType> role_type(const TensorView& t, const WeightTypes& types) {
  if (t.name == "token_embd.weight") return types.embedding;
  if (t.name == "output.weight") return types.output;
  return std::nullopt;
}

DType choose_type(const TensorView& t, const WeightTypes& types, bool keep_weight_types) {
  const auto& tr = dtype_traits(t.dtype);
  if (t.dtype == DType::U8 || t.dtype == DType::BOOL)
    fail("tensor ", t.name, " has type ", tr.name, ", which GGUF cannot store");
  if (!is_float(t.dtype) && !tr.quantized) return t.dtype;  // integer tensors are copied as they are
  if (!is_weight_matrix(t)) return tr.quantized ? t.dtype : DType::F32;
  const std::optional<DType> role = role_type(t, types);
  if (!role && keep_weight_types) return t.dtype == DType::F64 ? DType::F32 : t.dtype;
  const DType want = role.value_or(types.weights);
  if (tr.quantized && dtype_traits(want).quantized && t.dtype != want)
    fail("tensor ", t.name, " is already quantized as ", tr.name, "; re-quantizing it to ", dtype_name(want),
         " would compound the errors (convert from the original f16/f32 checkpoint instead)");
  return want;
}

void check_writable(DType type) {
  const auto& tr = dtype_traits(type);
  if (type == DType::U8 || type == DType::BOOL || (!is_float(type) && !tr.quantized) || !can_quantize(type))
    fail("cannot write weights as ", tr.name);
}

}  // namespace

std::string encode_gguf_header(const Metadata& meta, const std::vector<GgufTensorInfo>& tensors, uint64_t alignment) {
  Bytes head;
  head.put<uint32_t>(0x46554747);  // "GGUF"
  head.put<uint32_t>(kGgufVersion);
  head.put<uint64_t>(tensors.size());
  head.put<uint64_t>(meta.entries().size());
  for (const auto& [k, v] : meta.entries()) {
    head.put_string(k);
    head.put<uint32_t>(static_cast<uint32_t>(v.type));
    head.put_value(v, k);
  }
  for (const auto& t : tensors) {
    head.put_string(t.name);
    head.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) head.put<uint64_t>(static_cast<uint64_t>(*it));
    head.put<uint32_t>(static_cast<uint32_t>(t.type));
    head.put<uint64_t>(t.offset);
  }
  head.pad_to(alignment);
  return head.str();
}

void write_gguf(const std::string& path, const ModelFile& model, DType weight_type, const Progress& progress,
                bool keep_weight_types) {
  write_gguf(path, model, WeightTypes{weight_type, std::nullopt, std::nullopt}, progress, keep_weight_types);
}

void write_gguf(const std::string& path, const ModelFile& model, const WeightTypes& types, const Progress& progress,
                bool keep_weight_types) {
  check_writable(types.weights);
  if (types.embedding) check_writable(*types.embedding);
  if (types.output) check_writable(*types.output);
  DType weight_type = types.weights;  // general.file_type: the bulk of the weights
  const uint64_t alignment = kMossWriteAlignment;

  // Plan every tensor first so that all errors surface before a byte is written.
  std::vector<Plan> plans;
  uint64_t offset = 0;
  bool any_quantized = false;
  std::map<DType, uint64_t> weight_bytes;  // for general.file_type when the weights keep their types
  for (const auto& t : model.tensors.all()) {
    if (t.name.size() > kGgufMaxName) fail("tensor name ", t.name, " is longer than GGUF's ", kGgufMaxName, " bytes");
    if (t.shape.empty() || t.shape.size() > static_cast<size_t>(kGgufMaxDims))
      fail("tensor ", t.name, " has ", t.shape.size(), " dims; GGUF stores 1 to 4");
    const DType out = choose_type(t, types, keep_weight_types);
    const int64_t cols = t.cols();
    if (cols % dtype_traits(out).block_size != 0)
      fail("tensor ", t.name, " ", t.shape_str(), ": rows of ", cols, " elements cannot be stored as ", dtype_name(out),
           " (block size ", dtype_traits(out).block_size, ")");
    if (t.rows() * static_cast<int64_t>(row_bytes(t.dtype, cols)) != static_cast<int64_t>(t.nbytes))
      fail("tensor ", t.name, " holds ", t.nbytes, " bytes, which does not match its shape ", t.shape_str());
    if (out != t.dtype && !(can_dequantize(t.dtype) && can_quantize(out)))
      fail("tensor ", t.name, ": no conversion from ", dtype_name(t.dtype), " to ", dtype_name(out));
    const uint64_t nbytes = static_cast<uint64_t>(t.rows()) * row_bytes(out, cols);
    plans.push_back({&t, out, nbytes, offset});
    offset += gguf_padded_size(nbytes, alignment);
    any_quantized |= dtype_traits(out).quantized;
    if (is_weight_matrix(t)) weight_bytes[out] += nbytes;
  }
  const uint64_t total = offset;

  Metadata meta;
  for (const auto& [k, v] : model.meta.entries())
    if (k != keys::kAlignment && k != keys::kFileType && k != keys::kQuantVersion) meta.set(k, v);
  if (keep_weight_types) {  // label the file by the type that holds most of the weight bytes
    weight_type = DType::F32;
    uint64_t most = 0;
    for (const auto& [type, bytes] : weight_bytes)
      if (bytes > most) most = bytes, weight_type = type;
  }
  meta.set(keys::kFileType, MetaValue::u32(gguf_file_type(weight_type)));
  if (any_quantized) meta.set(keys::kQuantVersion, MetaValue::u32(2));
  meta.set(keys::kAlignment, MetaValue::u32(static_cast<uint32_t>(alignment)));

  std::vector<GgufTensorInfo> infos;
  infos.reserve(plans.size());
  for (const auto& p : plans) infos.push_back({p.src->name, p.src->shape, p.out, p.offset});
  const std::string head = encode_gguf_header(meta, infos, alignment);  // may still throw: before any file
  FileWriter out(path);
  out.write(head.data(), head.size());
  uint64_t done = 0;
  if (progress) progress(0, total);
  std::vector<float> row;
  std::vector<uint8_t> chunk;
  constexpr size_t kChunk = 8u << 20;  // converted bytes are flushed in ~8 MB pieces
  for (const auto& p : plans) {
    const TensorView& t = *p.src;
    const auto* src = static_cast<const uint8_t*>(t.data);
    if (p.nbytes == 0) continue;  // empty tensor (e.g. [0, 2^40]): nothing to convert, no padding
    if (p.out == t.dtype) {
      for (uint64_t k = 0; k < p.nbytes; k += kChunk) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, p.nbytes - k));
        out.write(src + k, n);
        done += n;
        if (progress) progress(done, total);
      }
    } else {
      const int64_t cols = t.cols();
      const size_t in_row = row_bytes(t.dtype, cols), out_row = row_bytes(p.out, cols);
      row.resize(static_cast<size_t>(cols));
      for (int64_t r = 0; r < t.rows(); ++r) {
        dequantize_row(t.dtype, src + static_cast<size_t>(r) * in_row, row.data(), cols);
        const size_t at = chunk.size();
        chunk.resize(at + out_row);
        quantize_row(p.out, row.data(), chunk.data() + at, cols);
        if (chunk.size() >= kChunk || r + 1 == t.rows()) {
          out.write(chunk.data(), chunk.size());
          done += chunk.size();
          chunk.clear();
          if (progress) progress(done, total);
        }
      }
    }
    const uint64_t before = out.offset();
    out.pad_to(alignment);
    done += out.offset() - before;
  }
  out.commit();
  if (progress) progress(total, total);
}

}  // namespace moss
