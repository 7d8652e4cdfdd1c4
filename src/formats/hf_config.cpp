// config.json parsing with explicit type and range checks (the file may be hand-edited or hostile).
#include "formats/hf_config.h"

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace moss {

namespace {

int64_t get_int(const nlohmann::json& j, const char* key, int64_t fallback, int64_t lo, int64_t hi, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(source, ": config field ", key, " must be an integer, got ", it->dump());
  const int64_t v = it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : it->get<int64_t>();
  if (v < lo || v > hi) fail(source, ": config field ", key, " = ", v, " is outside [", lo, ", ", hi, "]");
  return v;
}

}  // namespace

HfConfig parse_hf_config(const std::string& json_text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": config.json is not valid JSON: ", e.what());
  }
  if (!j.is_object()) fail(source, ": config.json is not a JSON object");
  if (auto mt = j.find("model_type"); mt != j.end() && !(mt->is_string() && mt->get<std::string>() == "moss"))
    fail(source, ": config.json model_type is ", mt->dump(), ", expected \"moss\"");

  HfConfig c;
  // Upper bounds are far above MOSS (E 6144, 34 layers, V 107008) but keep every product of two
  // of them inside 64 bits.
  c.vocab_size = get_int(j, "vocab_size", c.vocab_size, 1, 1 << 24, source);
  c.n_positions = get_int(j, "n_positions", c.n_positions, 1, 1 << 24, source);
  c.n_embd = get_int(j, "n_embd", c.n_embd, 1, 1 << 20, source);
  c.n_layer = get_int(j, "n_layer", c.n_layer, 1, 4096, source);
  c.n_head = get_int(j, "n_head", c.n_head, 1, 1 << 16, source);
  c.rotary_dim = get_int(j, "rotary_dim", c.rotary_dim, 0, 1 << 20, source);
  c.n_inner = get_int(j, "n_inner", 4 * c.n_embd, 1, 1 << 22, source);
  c.bos_token_id = get_int(j, "bos_token_id", c.bos_token_id, 0, (1 << 24) - 1, source);
  c.eos_token_id = get_int(j, "eos_token_id", c.eos_token_id, 0, (1 << 24) - 1, source);
  if (auto it = j.find("layer_norm_epsilon"); it != j.end() && !it->is_null()) {
    if (!it->is_number()) fail(source, ": config field layer_norm_epsilon must be a number");
    c.layer_norm_epsilon = it->get<double>();
    if (!(c.layer_norm_epsilon > 0 && c.layer_norm_epsilon < 1)) fail(source, ": config field layer_norm_epsilon = ", c.layer_norm_epsilon, " is not in (0, 1)");
  }
  const int64_t wbits = get_int(j, "wbits", 32, 1, 64, source);
  if (wbits == 4 || wbits == 8) {
    c.wbits = static_cast<int>(wbits);
  } else if (wbits != 32) {
    fail(source, ": config field wbits = ", wbits, " is not supported (4, 8, or 32 for unquantized)");
  }
  c.groupsize = get_int(j, "groupsize", c.groupsize, -1, 1 << 20, source);

  if (c.n_embd % c.n_head != 0) fail(source, ": n_embd ", c.n_embd, " is not a multiple of n_head ", c.n_head);
  if (c.n_head % kMossMpNum != 0)
    fail(source, ": n_head ", c.n_head, " is not a multiple of 4 (the fused qkv layout splits heads into 4 chunks)");
  if (c.rotary_dim > c.head_dim() || c.rotary_dim % 2 != 0)
    fail(source, ": rotary_dim ", c.rotary_dim, " must be even and at most the head size ", c.head_dim());
  return c;
}

void hf_config_to_metadata(const HfConfig& c, Metadata& meta) {
  meta.set(keys::kArchitecture, MetaValue::str("moss"));
  meta.set(keys::kContextLength, MetaValue::u32(static_cast<uint32_t>(c.n_positions)));
  meta.set(keys::kEmbeddingLength, MetaValue::u32(static_cast<uint32_t>(c.n_embd)));
  meta.set(keys::kBlockCount, MetaValue::u32(static_cast<uint32_t>(c.n_layer)));
  meta.set(keys::kFeedForwardLength, MetaValue::u32(static_cast<uint32_t>(c.n_inner)));
  meta.set(keys::kHeadCount, MetaValue::u32(static_cast<uint32_t>(c.n_head)));
  meta.set(keys::kLayerNormEps, MetaValue::f32(static_cast<float>(c.layer_norm_epsilon)));
  meta.set(keys::kRopeDims, MetaValue::u32(static_cast<uint32_t>(c.rotary_dim)));
  meta.set(keys::kRopeFreqBase, MetaValue::f32(10000.0f));
  // Spec 1.5: GPTQ checkpoints are built with the default dtype set to fp16, which rounds
  // inv_freq (variant B); fp16/fp32 checkpoints loaded then .half()-ed keep fp32 inv_freq (A).
  meta.set(keys::kRopeInvFreqVariant, MetaValue::str(c.wbits == 4 || c.wbits == 8 ? "fp16" : "fp32"));
  meta.set(keys::kVocabSize, MetaValue::u32(static_cast<uint32_t>(c.vocab_size)));
  // generate() stops on config.eos_token_id, so the config's ids are the ones recorded.
  meta.set(keys::kTokBos, MetaValue::u32(static_cast<uint32_t>(c.bos_token_id)));
  meta.set(keys::kTokEos, MetaValue::u32(static_cast<uint32_t>(c.eos_token_id)));
}

}  // namespace moss
