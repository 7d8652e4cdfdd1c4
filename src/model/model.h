// The MOSS model: weights (views of a ModelFile's tensors) and the forward pass over a batch of
// sequences with KV caches (spec 1.6). Per block, for the new tokens of every sequence at once:
//   h = LayerNorm(x)                          (one LayerNorm feeds both branches)
//   q, k, v = h Wqkv^T; rotary on q, k        (canonical Q|K|V rows, see formats/model_file.h)
//   a = attention(q, cache k, cache v)        (causal, per sequence)
//   x = (a Wo^T + fc_out(gelu_new(fc_in(h)))) + x
// then ln_f and the LM head (with bias) for the rows whose logits are wanted.
// All activations are float32; weights stay in their stored type and go through matmul().
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "kernels/matmul.h"
#include "kernels/rotary.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "util/aligned_buffer.h"
#include "util/huge_pages.h"

namespace moss {

class ThreadPool;

// One sequence of a batched forward call.
struct SeqBatch {
  KvCache* cache = nullptr;            // holds positions 0..P-1; the new tokens are appended
  std::span<const int32_t> tokens;     // T >= 1 new tokens, at positions P..P+T-1
  bool all_logits = false;             // logits for every new token, else for the last one only
  std::span<const float> logits = {};  // out: [T or 1, n_vocab], valid until the next forward()
};

class Model {
 public:
  // Takes ownership of the file (the weights are views into it). n_threads = 0: all cores.
  // kv_type: the element type of the caches new_cache() makes, F32 (exact) or F16 (half the cache
  // memory; see model/kv_cache.h). Throws moss::Error for missing tensors, shapes that disagree
  // with the config, or another kv_type.
  // repack: q4_0 / q8_0 matrices go into 16-row panels where this CPU's kernels are faster on them
  // (repacked_matrices(); MOSS_REPACK=0 in the environment also turns it off).
  explicit Model(ModelFile file, int n_threads = 0, DType kv_type = DType::F32, bool repack = true);
  // open_model(path) then the constructor.
  static std::unique_ptr<Model> load(const std::string& path, int n_threads = 0, DType kv_type = DType::F32);
  // How many weight matrices miss the layout this CPU's fastest kernels need (matmul_misses_fast_layout):
  // non-zero for a q4_0 GGUF written with 32-byte alignment, read on an AVX-512 VBMI machine.
  int64_t matrices_missing_fast_layout() const;
  // A one-line note for the user when that count is non-zero (what it costs, how to fix the file), or
  // when the q4_0 / q8_0 weights could not be repacked for lack of memory; else empty. The commands print it
  // when they load a model.
  std::string layout_hint() const;
  // The q4_0 / q8_0 weight matrices repacked at load into 16-row panels for the panel kernels
  // (kernels/weight_panels.h; not on other CPUs, or with MOSS_REPACK=0), and the memory holding them.
  int64_t repacked_matrices() const { return repacked_count_; }
  const uint8_t* repacked_data() const { return repacked_.get(); }
  size_t repacked_bytes() const { return repacked_bytes_; }  // the copies' bytes (64-byte aligned each)
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const MossConfig& config() const { return config_; }
  const ModelFile& file() const { return file_; }
  ThreadPool& pool() { return *pool_; }
  const RopeTable& rope() const { return rope_; }

  DType kv_type() const { return kv_type_; }
  KvCache new_cache(int64_t capacity = 0) const { return KvCache(config_, capacity, kv_type_); }
  KvCache new_cache(int64_t capacity, DType kv_type) const { return KvCache(config_, capacity, kv_type); }

  // Not reentrant: one forward() at a time per Model (activations are reused between calls).
  // Runs the new tokens of every sequence through the model in one pass (the matmuls see all
  // tokens of all sequences as one batch) and appends them to each cache. Throws moss::Error,
  // before changing any cache, if a token id is out of range, a sequence would pass the cache
  // capacity or the context length (no wrap-around), a sequence is empty, or a cache appears twice.
  void forward(std::span<SeqBatch> batch);

  // One sequence: returns its logits ([T or 1, n_vocab]) as a copy.
  std::vector<float> forward(KvCache& cache, std::span<const int32_t> tokens, bool all_logits = false);

 private:
  struct Layer {
    std::vector<float> ln_w, ln_b;  // ln_1 [E]
    WeightMatrix qkv;               // [3E, E]
    WeightMatrix out;               // [E, E]
    WeightMatrix up;                // fc_in [F, E]
    std::vector<float> up_b;        // [F]
    WeightMatrix down;              // fc_out [E, F]
    std::vector<float> down_b;      // [E]
  };
  // Activations, sized for the largest batch seen so far and reused (not reallocated per token).
  struct Activations {
    std::vector<float> x, h, qkv, att, attn_out, up, ff;  // [N, E], [N, 3E], [N, F]
    std::vector<float> last, logits;                      // [M, E], [M, V] for the M logit rows
    AlignedBuffer qkv_xq, up_xq;  // qkv's and fc_in's encoded activation rows (one parallel region, MatmulJob)
    AlignedBuffer out_xq, down_xq;  // attn_out's and fc_out's (they run as one parallel region)
  };

  void validate_batch(std::span<SeqBatch> batch) const;
  void embed(std::span<SeqBatch> batch, float* x);
  void block(const Layer& layer, int64_t l, std::span<SeqBatch> batch, int64_t n_tokens);
  void repack_weights();

  ModelFile file_;
  MossConfig config_;
  std::unique_ptr<ThreadPool> pool_;
  RopeTable rope_;
  DType kv_type_ = DType::F32;
  const TensorView* embedding_ = nullptr;  // token_embd.weight [V, E], any row type
  std::vector<Layer> layers_;
  std::vector<float> norm_w_, norm_b_;  // ln_f
  WeightMatrix lm_head_;                // output.weight [V, E]
  std::vector<float> lm_head_b_;        // [V]
  Activations act_;
  HugePageBuffer repacked_;  // the panel copies of the q4_0 / q8_0 matrices (the file's pages are then unused)
  int64_t repacked_count_ = 0;
  size_t repacked_bytes_ = 0;
  uint64_t repack_skipped_bytes_ = 0, repack_available_bytes_ = 0;  // set when memory was short
};

}  // namespace moss
