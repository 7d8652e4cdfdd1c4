// Random-weight benchmark/test models (see random_model.h). The GGUF is streamed tensor by tensor
// (no f32 copy of the model in memory), so even the 16.7B shape writes at disk speed.
#include "model/random_model.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <vector>

#include "formats/gguf.h"
#include "formats/hf_tokenizer.h"
#include "tensor/convert.h"
#include "util/error.h"
#include "util/file_writer.h"

namespace moss {

namespace {

constexpr RandomModelShape kShapes[] = {
    {"small", 2048, 16, 16, 64, 107008, 8192, 2048},     // MOSS scaled down: 1.24B parameters
    {"moss16b", 6144, 34, 24, 64, 107008, 24576, 2048},  // moss-moon-003: 16.7B parameters
    {"tiny", 256, 2, 4, 16, 512, 1024, 128},             // for tests
    // tiny with a context long enough for the chat prompt (the meta instruction alone is ~1,100
    // tokens in the built-in vocabulary), so `moss chat` and the server can run on it
    {"tiny-chat", 256, 2, 4, 16, 512, 1024, 2048},
    // tiny layers with room for GPT-2's 50,257 tokens + MOSS's 43: a random model that rarely
    // samples an end marker (about 10 of 50k rows), so its answers run long (interrupt tests)
    {"tiny-gpt2", 64, 2, 4, 16, 50368, 256, 2048},
};

// ---- tokenizer ----

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {  // byte-level symbols are all below U+0800
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// GPT-2's 256 byte symbols in GPT-2's id order (spec 2.2): the printable bytes 33-126, 161-172,
// 174-255 as themselves, then the other 68 bytes in increasing order as U+0100, U+0101, ...
std::vector<std::string> byte_symbols() {
  std::vector<std::string> out;
  std::vector<bool> printable(256, false);
  for (int b = 0; b < 256; ++b) printable[b] = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
  for (int b = 0; b < 256; ++b)
    if (printable[b]) out.push_back(utf8(static_cast<uint32_t>(b)));
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b)
    if (!printable[b]) out.push_back(utf8(next++));
  return out;
}

// The first 32 merges of GPT-2's vocab.bpe: enough that common English words become fewer tokens
// than bytes, so the BPE path is exercised.
constexpr const char* kBuiltinMerges[] = {"Ġ t", "Ġ a",  "h e", "i n", "r e",  "o n", "Ġt he", "e r",
                                          "Ġ s", "a t",  "Ġ w", "Ġ o", "e n",  "Ġ c", "i t",   "i s",
                                          "a n", "o r",  "e s", "Ġ b", "e d",  "Ġ f", "in g",  "Ġ p",
                                          "o u", "Ġa n", "a l", "a r", "Ġt o", "Ġ m", "Ġo f",  "Ġ in"};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot read ", path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The MOSS tokenizer files (spec 2.1) around a base vocabulary of n_base tokens that contains
// <|endoftext|>.
HfTokenizerFiles moss_files(std::string vocab_json, std::string merges_txt, int64_t n_base) {
  using json = nlohmann::json;
  json added = json::object();
  for (int n = 31; n >= 2; --n) added[std::string(static_cast<size_t>(n), ' ')] = n_base + (31 - n);  // 31 spaces first
  for (int n = 9; n >= 2; --n) added[std::string(static_cast<size_t>(n), '\t')] = n_base + 30 + (9 - n);
  const char* markers[] = {"<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>"};
  for (int i = 0; i < 5; ++i) added[markers[i]] = n_base + 38 + i;
  auto added_token = [](const char* content) {
    return json{
        {"content", content}, {"lstrip", false}, {"normalized", true}, {"rstrip", false}, {"single_word", false}};
  };
  json special = {{"bos_token", "<|endoftext|>"}, {"eos_token", added_token("<eom>")}, {"unk_token", "<|endoftext|>"}};
  special["additional_special_tokens"] = json::array();
  for (const char* m : markers) special["additional_special_tokens"].push_back(added_token(m));
  const json config = {{"add_bos_token", false},
                       {"add_prefix_space", false},
                       {"bos_token", "<|endoftext|>"},
                       {"eos_token", "<eom>"},
                       {"errors", "replace"},
                       {"pad_token", nullptr},
                       {"tokenizer_class", "MossTokenizer"},
                       {"unk_token", "<|endoftext|>"}};
  return {std::move(vocab_json), std::move(merges_txt), added.dump(), special.dump(), config.dump()};
}

// ---- GGUF writing ----

}  // namespace

const RandomModelShape& random_model_shape(const std::string& name) {
  for (const auto& sh : kShapes)
    if (name == sh.name) return sh;
  fail("unknown model shape '", name, "' (known: small, moss16b, tiny, tiny-chat, tiny-gpt2)");
}

Metadata random_model_tokenizer(const std::string& vocab_dir) {
  HfTokenizerFiles files;
  std::string source;
  if (vocab_dir.empty()) {
    source = "built-in vocabulary";
    nlohmann::json vocab = nlohmann::json::object();
    int64_t id = 0;
    for (const auto& s : byte_symbols()) vocab[s] = id++;
    std::string merges = "#version: 0.2\n";
    for (const char* m : kBuiltinMerges) {
      std::string a(m);
      const size_t sp = a.find(' ');
      vocab[a.substr(0, sp) + a.substr(sp + 1)] = id++;
      merges += a + "\n";
    }
    vocab["<|endoftext|>"] = id++;
    files = moss_files(vocab.dump(), merges, id);
  } else {
    source = vocab_dir;
    std::string enc = read_text(vocab_dir + "/encoder.json");
    std::string bpe = read_text(vocab_dir + "/vocab.bpe");
    int64_t n = 0;
    try {
      const auto j = nlohmann::json::parse(enc);
      if (!j.is_object() || !j.contains("<|endoftext|>")) fail(vocab_dir, "/encoder.json has no <|endoftext|> entry");
      n = static_cast<int64_t>(j.size());
    } catch (const nlohmann::json::exception& e) {
      fail(vocab_dir, "/encoder.json is not valid JSON: ", e.what());
    }
    files = moss_files(std::move(enc), std::move(bpe), n);
  }
  Metadata meta;
  hf_tokenizer_to_metadata(files, source, meta);
  return meta;
}

void write_random_model(const std::string& path, const RandomModelShape& s, DType wt, uint32_t seed,
                        const std::string& vocab_dir, const Progress& progress) {
  if (!dtype_traits(wt).quantized && wt != DType::F16 && wt != DType::F32 && wt != DType::BF16)
    fail("random model: weight type must be a float or quantized type, not ", dtype_name(wt));
  const Metadata tok = random_model_tokenizer(vocab_dir);
  const int64_t n_tok = static_cast<int64_t>(tok.get_string_array(keys::kTokTokens).size());
  if (n_tok > s.vocab)
    fail("random model: the tokenizer has ", n_tok, " tokens but the '", s.name, "' shape only ", s.vocab,
         " vocabulary rows (use the built-in vocabulary)");

  std::vector<GgufTensorInfo> ts;
  std::vector<uint64_t> nbytes;
  uint64_t off = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, DType t) {
    const uint64_t nb = row_bytes(t, shape.back()) * static_cast<uint64_t>(shape.size() == 2 ? shape[0] : 1);
    ts.push_back({name, std::move(shape), t, off});
    nbytes.push_back(nb);
    off += gguf_padded_size(nb, kMossWriteAlignment);
  };
  const int64_t E = s.n_embd, F = s.n_inner, V = s.vocab;
  add("token_embd.weight", {V, E}, wt);
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", {E}, DType::F32);
    add(p + "attn_norm.bias", {E}, DType::F32);
    add(p + "attn_qkv.weight", {3 * E, E}, wt);
    add(p + "attn_output.weight", {E, E}, wt);
    add(p + "ffn_up.weight", {F, E}, wt);
    add(p + "ffn_up.bias", {F}, DType::F32);
    add(p + "ffn_down.weight", {E, F}, wt);
    add(p + "ffn_down.bias", {E}, DType::F32);
  }
  add("output_norm.weight", {E}, DType::F32);
  add("output_norm.bias", {E}, DType::F32);
  add("output.weight", {V, E}, wt);
  add("output.bias", {V}, DType::F32);

  Metadata meta;
  meta.set(keys::kArchitecture, MetaValue::str("moss"));
  meta.set(keys::kName, MetaValue::str(std::string("moss-bench-random-") + s.name));
  meta.set(keys::kAlignment, MetaValue::u32(static_cast<uint32_t>(kMossWriteAlignment)));
  meta.set(keys::kFileType, MetaValue::u32(gguf_file_type(wt)));
  if (dtype_traits(wt).quantized) meta.set(keys::kQuantVersion, MetaValue::u32(2));
  meta.set(keys::kContextLength, MetaValue::u32(static_cast<uint32_t>(s.n_ctx)));
  meta.set(keys::kEmbeddingLength, MetaValue::u32(static_cast<uint32_t>(E)));
  meta.set(keys::kBlockCount, MetaValue::u32(static_cast<uint32_t>(s.n_layer)));
  meta.set(keys::kFeedForwardLength, MetaValue::u32(static_cast<uint32_t>(F)));
  meta.set(keys::kHeadCount, MetaValue::u32(static_cast<uint32_t>(s.n_head)));
  meta.set(keys::kLayerNormEps, MetaValue::f32(1e-5f));
  meta.set(keys::kRopeDims, MetaValue::u32(static_cast<uint32_t>(s.rotary)));
  meta.set(keys::kRopeFreqBase, MetaValue::f32(10000.0f));
  meta.set(keys::kVocabSize, MetaValue::u32(static_cast<uint32_t>(V)));
  for (const auto& [k, v] : tok.entries()) meta.set(k, v);

  FileWriter out(path);
  const std::string head = encode_gguf_header(meta, ts, kMossWriteAlignment);
  out.write(head.data(), head.size());
  // Seeds seed, seed+1 for the two row lengths: seed 1 gives the pools of the original bench models.
  RandomRows pool_e(wt, E, seed), pool_f(wt, F, seed + 1);
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < ts.size(); ++i) {
    const GgufTensorInfo& t = ts[i];
    buf.assign(nbytes[i], 0);
    if (t.shape.size() == 2) {
      (t.shape[1] == E ? pool_e : pool_f).fill(buf.data(), t.shape[0]);
    } else if (t.name.find("norm.weight") != std::string::npos) {
      const float one = 1.0f;
      for (int64_t k = 0; k < t.shape[0]; ++k) std::memcpy(buf.data() + 4 * k, &one, 4);
    }
    out.write(buf.data(), buf.size());
    out.pad_to(kMossWriteAlignment);
    if (progress) progress(t.offset + gguf_padded_size(nbytes[i], kMossWriteAlignment), off);
  }
  out.commit();
}

RandomRows::RandomRows(DType t, int64_t c, uint32_t seed) : type(t), cols(c), rb(row_bytes(t, c)), rows(rb * kRows) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<float> v(static_cast<size_t>(c));
  for (int r = 0; r < kRows; ++r) {
    for (auto& x : v) x = g(rng);
    quantize_row(t, v.data(), rows.data() + rb * r, c);
  }
}

void RandomRows::fill(uint8_t* dst, int64_t n_rows) const {
  for (int64_t i = 0; i < n_rows; ++i) std::memcpy(dst + rb * static_cast<size_t>(i), row(i), rb);
}

}  // namespace moss
