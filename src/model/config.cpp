// MossConfig from metadata, with validation (see config.h).
#include "model/config.h"

#include <cmath>

#include "formats/metadata.h"
#include "util/error.h"

namespace moss {

namespace {
// Far above any real MOSS/CodeGen size, low enough that products of two of them fit in int64 and
// a hostile file cannot make us compute absurd allocations without noticing.
constexpr int64_t kMaxDim = int64_t(1) << 20;
constexpr int64_t kMaxLayers = 4096;

void check_range(const char* what, int64_t v, int64_t max) {
  if (v <= 0 || v > max) fail("model config: ", what, " = ", v, " is out of range (1..", max, ")");
}
}  // namespace

MossConfig MossConfig::from_metadata(const Metadata& meta) {
  MossConfig c;
  c.n_vocab = meta.get_int(keys::kVocabSize);
  c.n_ctx = meta.get_int(keys::kContextLength);
  c.n_embd = meta.get_int(keys::kEmbeddingLength);
  c.n_layer = meta.get_int(keys::kBlockCount);
  c.n_head = meta.get_int(keys::kHeadCount);
  // n_inner = null in config.json means 4 * n_embd (spec 1.1); the HF reader may leave the key out.
  c.n_inner = meta.get_int(keys::kFeedForwardLength, 4 * c.n_embd);
  c.rotary_dim = meta.get_int(keys::kRopeDims);
  c.eps = static_cast<float>(meta.get_float(keys::kLayerNormEps, 1e-5));
  c.rope_base = static_cast<float>(meta.get_float(keys::kRopeFreqBase, 10000.0));
  const std::string variant = meta.get_string(keys::kRopeInvFreqVariant, "fp32");
  if (variant == "fp32") {
    c.rope_variant = RopeVariant::kFp32;
  } else if (variant == "fp16") {
    c.rope_variant = RopeVariant::kFp16;
  } else {
    fail("model config: ", keys::kRopeInvFreqVariant, " = '", variant, "' (expected \"fp32\" or \"fp16\")");
  }
  c.bos_id = static_cast<int32_t>(meta.get_int(keys::kTokBos, -1));
  c.eos_id = static_cast<int32_t>(meta.get_int(keys::kTokEos, -1));
  if (c.n_head > 0 && c.n_embd % c.n_head == 0) c.head_dim = c.n_embd / c.n_head;
  c.validate();
  return c;
}

void MossConfig::validate() const {
  check_range("vocab size", n_vocab, int64_t(1) << 24);
  check_range("context length", n_ctx, kMaxDim);
  check_range("n_embd", n_embd, kMaxDim);
  check_range("n_layer", n_layer, kMaxLayers);
  check_range("n_head", n_head, n_embd);
  check_range("n_inner", n_inner, kMaxDim);
  if (n_embd % n_head != 0) fail("model config: n_embd ", n_embd, " is not a multiple of n_head ", n_head);
  if (head_dim != n_embd / n_head) fail("model config: head_dim ", head_dim, " != n_embd / n_head");
  if (rotary_dim <= 0 || rotary_dim % 2 != 0 || rotary_dim > head_dim)
    fail("model config: rotary_dim ", rotary_dim, " must be even and in 2..head_dim (", head_dim, ")");
  if (!(eps > 0.0f) || !std::isfinite(eps)) fail("model config: layer_norm_epsilon must be positive");
  if (!(rope_base > 1.0f) || !std::isfinite(rope_base)) fail("model config: rope freq_base must be > 1");
  if (bos_id < -1 || bos_id >= n_vocab) fail("model config: bos id ", bos_id, " outside the vocabulary");
  if (eos_id < -1 || eos_id >= n_vocab) fail("model config: eos id ", eos_id, " outside the vocabulary");
}

std::string MossConfig::describe() const {
  return "E=" + std::to_string(n_embd) + " H=" + std::to_string(n_head) + " D=" + std::to_string(head_dim) +
         " R=" + std::to_string(rotary_dim) + " F=" + std::to_string(n_inner) + " L=" + std::to_string(n_layer) +
         " V=" + std::to_string(n_vocab) + " ctx=" + std::to_string(n_ctx) +
         (rope_variant == RopeVariant::kFp16 ? " rope=fp16" : " rope=fp32");
}

}  // namespace moss
