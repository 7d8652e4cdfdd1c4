// Model metadata as GGUF key/value pairs. A Hugging Face folder is translated into the same keys
// when it is opened, so the model and tokenizer read one description whatever the file layout.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace moss {

// GGUF value type ids.
enum class MetaType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

struct MetaValue {
  MetaType type = MetaType::U32;
  MetaType elem_type = MetaType::U32;  // arrays only
  int64_t i = 0;                       // all integer types and bool
  double f = 0;                        // F32, F64
  std::string s;                       // STRING
  std::vector<MetaValue> array;        // ARRAY

  static MetaValue u32(uint32_t v);
  static MetaValue i32(int32_t v);
  static MetaValue u64(uint64_t v);
  static MetaValue f32(float v);
  static MetaValue boolean(bool v);
  static MetaValue str(std::string v);
  static MetaValue str_array(const std::vector<std::string>& v);
  static MetaValue i32_array(const std::vector<int32_t>& v);
  static MetaValue f32_array(const std::vector<float>& v);
};

class Metadata {
 public:
  void set(const std::string& key, MetaValue v);  // replaces an existing key
  bool has(const std::string& key) const { return find(key) != nullptr; }
  const MetaValue* find(const std::string& key) const;
  // Typed getters throw moss::Error naming the key when it is missing or of the wrong kind.
  int64_t get_int(const std::string& key) const;  // any integer type or bool
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key) const;  // F32/F64 (or an integer)
  double get_float(const std::string& key, double fallback) const;
  const std::string& get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;
  const std::vector<std::pair<std::string, MetaValue>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, MetaValue>> entries_;
};

// The keys moss.cpp writes and reads. Architecture prefix is "moss".
namespace keys {
inline constexpr const char* kArchitecture = "general.architecture";  // "moss"
inline constexpr const char* kName = "general.name";
inline constexpr const char* kFileType = "general.file_type";
inline constexpr const char* kAlignment = "general.alignment";
inline constexpr const char* kQuantVersion = "general.quantization_version";
inline constexpr const char* kContextLength = "moss.context_length";          // u32, n_positions
inline constexpr const char* kEmbeddingLength = "moss.embedding_length";      // u32, n_embd
inline constexpr const char* kBlockCount = "moss.block_count";                // u32, n_layer
inline constexpr const char* kFeedForwardLength = "moss.feed_forward_length"; // u32, n_inner
inline constexpr const char* kHeadCount = "moss.attention.head_count";        // u32, n_head
inline constexpr const char* kLayerNormEps = "moss.attention.layer_norm_epsilon";  // f32
inline constexpr const char* kRopeDims = "moss.rope.dimension_count";         // u32, rotary_dim
inline constexpr const char* kRopeFreqBase = "moss.rope.freq_base";           // f32, 10000
// "fp32" (variant A of spec 1.5: fp16 checkpoints loaded then .half()) or "fp16" (variant B:
// GPTQ int4/int8 checkpoints, multi-GPU path).
inline constexpr const char* kRopeInvFreqVariant = "moss.rope.inv_freq_variant";
inline constexpr const char* kVocabSize = "moss.vocab_size";  // u32, embedding / LM-head rows
inline constexpr const char* kTokModel = "tokenizer.ggml.model";  // "gpt2"
inline constexpr const char* kTokPre = "tokenizer.ggml.pre";      // "moss"
inline constexpr const char* kTokTokens = "tokenizer.ggml.tokens";  // string[], id -> byte-level token text
inline constexpr const char* kTokTypes = "tokenizer.ggml.token_type";  // i32[]: 1 normal, 3 control, 4 user-defined
inline constexpr const char* kTokMerges = "tokenizer.ggml.merges";  // string[] "a b", by rank
inline constexpr const char* kTokBos = "tokenizer.ggml.bos_token_id";
inline constexpr const char* kTokEos = "tokenizer.ggml.eos_token_id";
inline constexpr const char* kTokUnk = "tokenizer.ggml.unknown_token_id";
inline constexpr const char* kTokAddBos = "tokenizer.ggml.add_bos_token";
// i32[]: added (no-split) tokens whose neighbouring text is stripped (transformers 4.25.1 rule for
// added tokens that are plain strings: the whitespace runs and <|endoftext|>; spec 2.5).
inline constexpr const char* kTokStripIds = "tokenizer.moss.strip_neighbor_ids";
}  // namespace keys

}  // namespace moss
