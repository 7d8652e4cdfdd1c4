// Hugging Face folder -> ModelFile. Steps: config.json -> metadata; tokenizer files -> metadata;
// weights (safetensors or torch .bin, single or sharded through the index's weight_map) -> views
// under the HF names; then every expected tensor is checked against the config's shapes and
// renamed to the canonical names of model_file.h. Only the fused qkv matrix is copied (to undo the
// mp_num = 4 q/v/k layout, spec 1.4); everything else stays a view of the mapped files.
#include "formats/hf_folder.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "formats/hf_config.h"
#include "formats/hf_gptq.h"
#include "formats/hf_tokenizer.h"
#include "formats/safetensors.h"
#include "formats/torch_zip.h"
#include "util/error.h"
#include "util/mapped_file.h"

namespace moss {

namespace fs = std::filesystem;

namespace {

// Whole small text file; "" when absent. Refuses absurd sizes (tokenizer files are a few MB).
std::string slurp(const fs::path& p, bool required) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) {
    if (required) fail(p.string(), " is missing");
    return "";
  }
  if (fs::file_size(p, ec) > (256u << 20)) fail(p.string(), " is larger than 256 MB; not a config/tokenizer file");
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("cannot read ", p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses one weight file (format chosen by extension) and keeps its mapping alive in `owner`.
TensorSet load_weight_file(const fs::path& p, TensorSet& owner) {
  auto file = MappedFile::open(p.string());
  TensorSet ts;
  if (p.extension() == ".safetensors")
    parse_safetensors(file->data(), file->size(), p.string(), ts);
  else
    parse_torch_zip(file->data(), file->size(), p.string(), ts);
  owner.keep_alive(file);
  return ts;
}

// Sharded checkpoint: each tensor is taken from the shard the index names for it.
TensorSet load_sharded(const fs::path& dir, const fs::path& index_path) {
  const std::string text = slurp(index_path, true);
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(index_path.string(), " is not valid JSON: ", e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    fail(index_path.string(), " has no weight_map object");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string()) fail(index_path.string(), ": weight_map entry ", name, " is not a file name");
    const std::string f = file.get<std::string>();
    // The index is data, not a path to follow anywhere: shards must sit in the folder itself.
    if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos || f == "." || f == "..")
      fail(index_path.string(), ": weight_map names shard \"", f, "\", which is not a plain file name in the folder");
    by_shard[f].push_back(name);
  }
  TensorSet out;
  for (const auto& [shard, names] : by_shard) {
    TensorSet ts = load_weight_file(dir / shard, out);
    for (const auto& name : names) {
      const TensorView* t = ts.find(name);
      if (!t) fail((dir / shard).string(), " lacks tensor ", name, ", which ", index_path.filename().string(), " places there");
      out.add(*t);
    }
  }
  return out;
}

TensorSet load_weights(const fs::path& dir) {
  std::error_code ec;
  auto exists = [&](const char* name) { return fs::is_regular_file(dir / name, ec); };
  if (exists("model.safetensors.index.json")) return load_sharded(dir, dir / "model.safetensors.index.json");
  if (exists("model.safetensors")) {
    TensorSet out;
    TensorSet ts = load_weight_file(dir / "model.safetensors", out);
    out.merge(std::move(ts));
    return out;
  }
  if (exists("pytorch_model.bin.index.json")) return load_sharded(dir, dir / "pytorch_model.bin.index.json");
  if (exists("pytorch_model.bin")) {
    TensorSet out;
    TensorSet ts = load_weight_file(dir / "pytorch_model.bin", out);
    out.merge(std::move(ts));
    return out;
  }
  fail(dir.string(), ": no weights found (expected model.safetensors[.index.json] or pytorch_model.bin[.index.json])");
}

std::string shape_str(const std::vector<int64_t>& s) {
  TensorView v;
  v.shape = s;
  return v.shape_str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class Canonicalizer {
 public:
  Canonicalizer(const HfConfig& c, TensorSet& raw, TensorSet& out, const std::string& source)
      : c_(c), raw_(raw), out_(out), source_(source) {}

  void run() {
    const int64_t E = c_.n_embd, V = c_.vocab_size, F = c_.n_inner;
    take("transformer.wte.weight", "token_embd.weight", {V, E});
    for (int64_t i = 0; i < c_.n_layer; ++i) {
      const std::string hf = "transformer.h." + std::to_string(i) + ".";
      const std::string blk = "blk." + std::to_string(i) + ".";
      take(hf + "ln_1.weight", blk + "attn_norm.weight", {E});
      take(hf + "ln_1.bias", blk + "attn_norm.bias", {E});
      qkv(hf + "attn.qkv_proj", blk + "attn_qkv.weight");
      linear(hf + "attn.out_proj", blk + "attn_output.weight", E, E);
      linear(hf + "mlp.fc_in", blk + "ffn_up.weight", F, E);
      take(hf + "mlp.fc_in.bias", blk + "ffn_up.bias", {F});
      linear(hf + "mlp.fc_out", blk + "ffn_down.weight", E, F);
      take(hf + "mlp.fc_out.bias", blk + "ffn_down.bias", {E});
      used_.insert(hf + "attn.causal_mask");  // buffers of the reference code, not weights
      used_.insert(hf + "attn.masked_bias");
    }
    take("transformer.ln_f.weight", "output_norm.weight", {E});
    take("transformer.ln_f.bias", "output_norm.bias", {E});
    take("lm_head.weight", "output.weight", {V, E});
    take("lm_head.bias", "output.bias", {V});
    for (const auto& t : raw_.all()) {
      if (used_.count(t.name)) continue;
      for (const char* g : {".qweight", ".qzeros", ".scales", ".g_idx"})
        if (ends_with(t.name, g) && !c_.wbits) fail(source_, ": tensor ", t.name, " belongs to a GPTQ checkpoint, but config.json has no wbits 4/8");
      fail(source_, ": unexpected tensor ", t.name, " ", t.shape_str(), " (not part of a MOSS model with this config)");
    }
  }

 private:
  const TensorView& get(const std::string& name, const std::vector<int64_t>& shape) {
    const TensorView* t = raw_.find(name);
    if (!t) fail(source_, ": missing tensor ", name, " (expected shape ", shape_str(shape), ")");
    if (t->shape != shape) fail(source_, ": tensor ", name, " has shape ", t->shape_str(), ", expected ", shape_str(shape));
    if (t->dtype != DType::F16 && t->dtype != DType::BF16 && t->dtype != DType::F32 && t->dtype != DType::F64)
      fail(source_, ": tensor ", name, " has type ", dtype_name(t->dtype), "; expected f16, bf16 or f32 weights");
    used_.insert(name);
    return *t;
  }

  void take(const std::string& hf, const std::string& name, const std::vector<int64_t>& shape) {
    TensorView v = get(hf, shape);
    v.name = name;
    // torch.save aligns storages to 64 bytes and safetensors writers pad the header to 8, but a
    // file that does not would hand kernels misaligned element pointers: copy those few.
    const size_t elem = dtype_traits(v.dtype).block_bytes;
    if (reinterpret_cast<uintptr_t>(v.data) % elem != 0) {
      void* copy = out_.allocate(v.nbytes);
      std::memcpy(copy, v.data, v.nbytes);
      v.data = copy;
    }
    out_.add(std::move(v));
  }

  // A block Linear: an fp16/fp32 `.weight`, or in a GPTQ folder (wbits 4/8) a QuantLinear imported
  // into the same canonical [N, K] (formats/hf_gptq.h).
  void linear(const std::string& hf, const std::string& name, int64_t N, int64_t K) {
    if (!c_.wbits) return take(hf + ".weight", name, {N, K});
    import_hf_gptq(raw_, hf, N, K, c_, out_, name, source_);
    for (const auto& n : hf_gptq_tensor_names(hf)) used_.insert(n);
  }

  // Spec 1.4, generalised: rows of the fused matrix form mp_num = 4 chunks of 3*local rows
  // (local = E/4), each chunk holding local rows of q, then v, then k, for heads h = (H/4)*m + j.
  // Output rows: Q (h*D + d), then K, then V. For GPTQ the permutation applies to the imported
  // weight's rows (spec 1.4/§3: the output dimension N); a q8_0 row is whole blocks along K, so
  // moving rows is exact for it too.
  void qkv(const std::string& hf, const std::string& name) {
    const int64_t E = c_.n_embd, H = c_.n_head, D = c_.head_dim();
    TensorSet scratch;  // the imported GPTQ weight before the permutation, freed on return
    if (c_.wbits) {
      import_hf_gptq(raw_, hf, 3 * E, E, c_, scratch, name, source_);
      for (const auto& n : hf_gptq_tensor_names(hf)) used_.insert(n);
    }
    const TensorView& src = c_.wbits ? scratch.get(name) : get(hf + ".weight", {3 * E, E});
    const int64_t local = E / kMossMpNum, heads_per_chunk = H / kMossMpNum;
    const size_t row = row_bytes(src.dtype, E);
    auto* dst = static_cast<uint8_t*>(out_.allocate(src.nbytes));
    const auto* s = static_cast<const uint8_t*>(src.data);
    for (int64_t h = 0; h < H; ++h) {
      const int64_t m = h / heads_per_chunk, j = h % heads_per_chunk;
      const int64_t base = m * 3 * local + j * D;
      for (int64_t d = 0; d < D; ++d) {
        const int64_t q_src = base + d, v_src = base + local + d, k_src = base + 2 * local + d;
        const int64_t out_row = h * D + d;
        std::memcpy(dst + static_cast<size_t>(out_row) * row, s + static_cast<size_t>(q_src) * row, row);
        std::memcpy(dst + static_cast<size_t>(E + out_row) * row, s + static_cast<size_t>(k_src) * row, row);
        std::memcpy(dst + static_cast<size_t>(2 * E + out_row) * row, s + static_cast<size_t>(v_src) * row, row);
      }
    }
    TensorView v = src;
    v.name = name;
    v.data = dst;
    out_.add(std::move(v));
  }

  const HfConfig& c_;
  TensorSet& raw_;
  TensorSet& out_;
  const std::string& source_;
  std::set<std::string> used_;
};

}  // namespace

ModelFile open_hf_folder(const std::string& dir_str) {
  const fs::path dir(dir_str);
  ModelFile m;
  m.source = dir_str;
  const HfConfig c = parse_hf_config(slurp(dir / "config.json", true), (dir / "config.json").string());
  hf_config_to_metadata(c, m.meta);
  std::string name = dir.filename().string();
  if (name.empty()) name = dir.parent_path().filename().string();
  m.meta.set(keys::kName, MetaValue::str(name));

  if (fs::exists(dir / "vocab.json")) {
    HfTokenizerFiles tf;
    tf.vocab_json = slurp(dir / "vocab.json", true);
    tf.merges_txt = slurp(dir / "merges.txt", true);
    tf.added_tokens_json = slurp(dir / "added_tokens.json", false);
    tf.special_tokens_map_json = slurp(dir / "special_tokens_map.json", false);
    tf.tokenizer_config_json = slurp(dir / "tokenizer_config.json", false);
    hf_tokenizer_to_metadata(tf, dir_str, m.meta);
  }

  TensorSet raw = load_weights(dir);
  TensorSet out;
  Canonicalizer(c, raw, out, dir_str).run();
  // The canonical views point into the mappings `raw` keeps alive.
  out.keep_alive(std::make_shared<TensorSet>(std::move(raw)));
  m.tensors.merge(std::move(out));
  return m;
}

}  // namespace moss
