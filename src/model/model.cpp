// The MOSS forward pass (see model.h). This file only sequences kernel calls; numerics live in
// src/kernels/.
#include "model/model.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "kernels/attention.h"
#include "kernels/layer_norm.h"
#include "kernels/weight_panels.h"
#include "tensor/convert.h"
#include "util/error.h"
#include "util/mapped_file.h"
#include "util/memory_info.h"
#include "util/thread_pool.h"

namespace moss {

namespace {

// Memory left free beside the repacked weights: KV caches, activations, the rest of the process.
constexpr uint64_t kRepackMemoryMargin = uint64_t{1} << 30;

const TensorView& tensor_with_shape(const ModelFile& f, const std::string& name, std::vector<int64_t> shape) {
  const TensorView& t = f.tensors.get(name);
  if (t.shape != shape) {
    TensorView want;
    want.shape = shape;
    fail(f.source, ": tensor ", name, " has shape ", t.shape_str(), ", expected ", want.shape_str());
  }
  if (!can_dequantize(t.dtype))
    fail(f.source, ": tensor ", name, " has type ", dtype_name(t.dtype), " that cannot be computed with");
  const int64_t rows = shape.size() == 2 ? shape[0] : 1;
  if (t.data == nullptr || t.nbytes < row_bytes(t.dtype, shape.back()) * static_cast<size_t>(rows))
    fail(f.source, ": tensor ", name, " holds fewer bytes than its shape needs");
  return t;
}

WeightMatrix matrix(const ModelFile& f, const std::string& name, int64_t rows, int64_t cols) {
  const TensorView& t = tensor_with_shape(f, name, {rows, cols});
  return WeightMatrix{t.data, t.dtype, rows, cols};
}

// Norm weights and biases are small: converted to float32 once.
std::vector<float> vector_f32(const ModelFile& f, const std::string& name, int64_t n) {
  const TensorView& t = tensor_with_shape(f, name, {n});
  std::vector<float> v(static_cast<size_t>(n));
  dequantize_row(t.dtype, t.data, v.data(), n);
  return v;
}

void grow(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

}  // namespace

Model::Model(ModelFile file, int n_threads, DType kv_type, bool repack)
    : file_(std::move(file)),
      config_(MossConfig::from_metadata(file_.meta)),
      pool_(std::make_unique<ThreadPool>(n_threads)),
      rope_(config_.n_ctx, config_.rotary_dim, config_.rope_base, config_.rope_variant),
      kv_type_(kv_type) {
  require_kv_type(kv_type_);
  const int64_t E = config_.n_embd, F = config_.n_inner, V = config_.n_vocab;
  embedding_ = &tensor_with_shape(file_, "token_embd.weight", {V, E});
  for (int64_t l = 0; l < config_.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    Layer L;
    L.ln_w = vector_f32(file_, p + "attn_norm.weight", E);
    L.ln_b = vector_f32(file_, p + "attn_norm.bias", E);
    L.qkv = matrix(file_, p + "attn_qkv.weight", 3 * E, E);
    L.out = matrix(file_, p + "attn_output.weight", E, E);
    L.up = matrix(file_, p + "ffn_up.weight", F, E);
    L.up_b = vector_f32(file_, p + "ffn_up.bias", F);
    L.down = matrix(file_, p + "ffn_down.weight", E, F);
    L.down_b = vector_f32(file_, p + "ffn_down.bias", E);
    layers_.push_back(std::move(L));
  }
  norm_w_ = vector_f32(file_, "output_norm.weight", E);
  norm_b_ = vector_f32(file_, "output_norm.bias", E);
  lm_head_ = matrix(file_, "output.weight", V, E);
  lm_head_b_ = vector_f32(file_, "output.bias", V);
  if (repack) repack_weights();
}

// q4_0, q8_0 and q4_k matrices go into 16-row panels once, here, where this CPU's kernels are faster on
// them (kernels/weight_panels.h: q4_0 batched decode ~1.7x, prefill 1.2-1.5x, single decode no
// slower). The copy costs a pass over the weights at load and their size in anonymous memory (2 MiB
// pages); the file's page-cache pages are no longer read, and are marked for the kernel to reclaim
// first.
void Model::repack_weights() {
  std::vector<WeightMatrix*> todo;
  for (Layer& L : layers_)
    for (WeightMatrix* w : {&L.qkv, &L.out, &L.up, &L.down})
      if (panels_pay(*w)) todo.push_back(w);
  if (panels_pay(lm_head_)) todo.push_back(&lm_head_);
  if (todo.empty()) return;
  auto bytes_of = [](const WeightMatrix& w) {
    return (row_bytes(w.dtype, w.cols) * static_cast<size_t>(w.rows) + 63) / 64 * 64;
  };
  size_t total = 0;
  for (const WeightMatrix* w : todo) total += bytes_of(*w);
  // The copy is anonymous memory the kernel cannot reclaim (no swap, typically): where it would not
  // fit in what the machine and the process's cgroup leave (util/memory_info.h) beside a margin for
  // the KV caches and activations, the weights stay in their rows (slower batched decode and
  // prefill, same results within the kernels' bounds) and layout_hint says so.
  const std::optional<uint64_t> available = available_memory_bytes();
  if (available && total + kRepackMemoryMargin > *available) {
    repack_skipped_bytes_ = total;
    repack_available_bytes_ = *available;
    return;
  }
  repacked_ = allocate_huge_pages(total);
  size_t at = 0;
  for (WeightMatrix* w : todo) {
    const WeightMatrix stored = *w;
    *w = repack_panels(stored, repacked_.get() + at, *pool_);
    at += bytes_of(*w);
    advise_cold(stored.data, bytes_of(stored));  // the file's copy is not read again
  }
  repacked_count_ = static_cast<int64_t>(todo.size());
  repacked_bytes_ = total;
}

Model::~Model() = default;

std::string Model::layout_hint() const {
  if (repack_skipped_bytes_ > 0) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "note: the q4_0 / q8_0 weights were not repacked for the faster kernels: that needs %.1f GB of memory "
                  "and %.1f GB is available (batched decode and prefill run ~1.7x slower; MOSS_REPACK=0 "
                  "silences this)",
                  static_cast<double>(repack_skipped_bytes_) / 1e9, static_cast<double>(repack_available_bytes_) / 1e9);
    return buf;
  }
  const int64_t n = matrices_missing_fast_layout();
  if (n == 0) return "";
  return "note: " + std::to_string(n) + " q4_0 weight matrices of this file are not 64-byte aligned, so they run on " +
         "the slower q4_0 kernels (prefill ~25% slower); `moss convert " + file_.source +
         " -o ALIGNED.gguf --type keep` rewrites the file aligned";
}

int64_t Model::matrices_missing_fast_layout() const {
  int64_t n = matmul_misses_fast_layout(lm_head_) ? 1 : 0;
  for (const Layer& L : layers_)
    for (const WeightMatrix* w : {&L.qkv, &L.out, &L.up, &L.down}) n += matmul_misses_fast_layout(*w) ? 1 : 0;
  return n;
}

void Model::validate_batch(std::span<SeqBatch> batch) const {
  std::set<const KvCache*> seen;
  for (const SeqBatch& s : batch) {
    if (s.cache == nullptr) fail("forward: a sequence has no KV cache");
    if (!seen.insert(s.cache).second) fail("forward: the same KV cache appears twice in one batch");
    if (s.cache->n_layer() != config_.n_layer || s.cache->n_embd() != config_.n_embd)
      fail("forward: KV cache was made for another model shape");
    if (s.tokens.empty()) fail("forward: a sequence has no new tokens");
    const int64_t end = s.cache->size() + static_cast<int64_t>(s.tokens.size());
    if (end > s.cache->capacity())
      fail("forward: positions up to ", end - 1, " requested, but the ",
           s.cache->capacity() == config_.n_ctx ? "context length" : "KV cache capacity", " is ", s.cache->capacity(),
           " (positions 0..", s.cache->capacity() - 1, "); there is no wrap-around");
    for (int32_t id : s.tokens)
      if (id < 0 || id >= config_.n_vocab) fail("forward: token id ", id, " is outside 0..", config_.n_vocab - 1);
  }
}

// x[r] = wte[token r], the rows of all sequences one after another.
void Model::embed(std::span<SeqBatch> batch, float* x) {
  const int64_t E = config_.n_embd;
  const size_t rb = row_bytes(embedding_->dtype, E);
  const auto* base = static_cast<const uint8_t*>(embedding_->data);
  int64_t r = 0;
  for (const SeqBatch& s : batch)
    for (int32_t id : s.tokens) dequantize_row(embedding_->dtype, base + rb * static_cast<size_t>(id), x + E * r++, E);
}

void Model::block(const Layer& layer, int64_t l, std::span<SeqBatch> batch, int64_t N) {
  const int64_t E = config_.n_embd, H = config_.n_head, D = config_.head_dim;
  const int64_t R = config_.rotary_dim;
  Activations& a = act_;

  // h = LayerNorm(x): shared by the attention and the MLP branch.
  layer_norm(a.x.data(), N, E, layer.ln_w.data(), layer.ln_b.data(), config_.eps, a.h.data());

  // The sequences' attention inputs: qkv rows are [q (E) | k (E) | v (E)], head h at h*D within
  // each part, and each sequence's rows follow the previous one's.
  std::vector<AttentionSeq> seqs;
  std::vector<std::pair<size_t, int64_t>> rows;  // (sequence, token) of each of the N rows
  seqs.reserve(batch.size());
  rows.reserve(static_cast<size_t>(N));
  int64_t r0 = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    KvCache& cache = *batch[i].cache;
    const int64_t P = cache.size(), T = static_cast<int64_t>(batch[i].tokens.size());
    for (int64_t t = 0; t < T; ++t) rows.emplace_back(i, t);
    seqs.push_back(AttentionSeq{a.qkv.data() + r0 * 3 * E, 3 * E, cache.k(l, 0), cache.v(l, 0), E,
                                a.att.data() + r0 * E, E, P, T, cache.type(), cache.block_rows(),
                                cache.block_stride()});
    r0 += T;
  }
  // Rotary on q and k at each token's position; k and v go into the cache (converted to its element
  // type).
  auto rotate_and_store = [&](int64_t r) {
    const auto [i, t] = rows[static_cast<size_t>(r)];
    KvCache& cache = *batch[i].cache;
    float* row = a.qkv.data() + r * 3 * E;
    const int64_t pos = cache.size() + t;
    for (int64_t h = 0; h < H; ++h) {
      apply_rotary(row + h * D, R, rope_.sin(pos), rope_.cos(pos));      // q
      apply_rotary(row + E + h * D, R, rope_.sin(pos), rope_.cos(pos));  // k
    }
    cache.store(l, pos, row + E, row + 2 * E);
  };

  // The whole layer runs as one parallel region, its stages separated by waits on counters
  // instead of the pool's wake and return (each a few microseconds per layer at decode):
  //  1. qkv: every thread computes its share.
  //  2. Thread 0 waits for the whole of qkv, applies rotary, stores the rows' k and v in the cache and
  //     starts on attention, while the other threads go from qkv straight into fc_in. Attention and
  //     fc_in both read h (the parallel residual) and run side by side: attention is bound by its
  //     KV cache reads, fc_in (with several sequences in the step) by arithmetic. Each thread turns
  //     to the other queue when its own is empty; the others take attention only once the cache
  //     holds this step's rows.
  //  3. fc_in's chunks come out through gelu_new and are encoded right away as fc_out's input
  //     (MatmulJob chaining), while in L1: encoded after fc_in, the 8192-value row took one thread
  //     ~4 us per layer, reading the other core's half from its cache.
  //  4. Once all of attention and fc_in are done, the threads encode attention's output rows for
  //     attn_out, then run attn_out and fc_out, each going on to fc_out when attn_out has no rows
  //     left, so each thread's stream runs on from one matrix into the next.
  // The results are those of running the stages one after the other.
  {
    MatmulJob down(a.up.data(), N, layer.down, layer.down_b.data(), a.ff.data(), *pool_, a.down_xq,
                   MatmulEpilogue::None, MatmulInput::FromProducer);
    MatmulJob out(a.att.data(), N, layer.out, nullptr, a.attn_out.data(), *pool_, a.out_xq, MatmulEpilogue::None,
                  MatmulInput::FromProducer);
    MatmulJob qkv(a.h.data(), N, layer.qkv, nullptr, a.qkv.data(), *pool_, a.qkv_xq);
    MatmulJob up(a.h.data(), N, layer.up, layer.up_b.data(), a.up.data(), *pool_, a.up_xq, MatmulEpilogue::GeluNew,
                 MatmulInput::Encode, &down);
    AttentionJob attn(seqs, H, D, pool_->size());
    std::atomic<int> qkv_done{0};        // threads through with qkv
    std::atomic<bool> kv_stored{false};  // rotary applied and the cache rows stored
    std::atomic<int> mid_done{0};        // threads through with attention and fc_in
    std::atomic<int> att_encoded{0};     // threads through with encoding attention's output
    pool_->run([&](int index, int threads) {
      while (qkv.run_next_chunk(index)) {
      }
      qkv_done.fetch_add(1, std::memory_order_acq_rel);
      if (index == 0) {
        spin_until([&] { return qkv_done.load(std::memory_order_acquire) == threads; });
        for (int64_t r = 0; r < N; ++r) rotate_and_store(r);
        kv_stored.store(true, std::memory_order_release);
        while (attn.run_next_item()) {
        }
      }
      while (up.run_next_chunk(index)) {
      }
      spin_until([&] { return kv_stored.load(std::memory_order_acquire); });
      while (attn.run_next_item()) {
      }
      mid_done.fetch_add(1, std::memory_order_acq_rel);
      spin_until([&] { return mid_done.load(std::memory_order_acquire) == threads; });
      out.encode_rows(index, threads);
      att_encoded.fetch_add(1, std::memory_order_acq_rel);
      spin_until([&] { return att_encoded.load(std::memory_order_acquire) == threads; });
      while (out.run_next_chunk(index)) {
      }
      while (down.run_next_chunk(index)) {
      }
    });
  }

  // x = (attn_out + ff) + residual, in that order (spec 1.6 step 3.14).
  for (int64_t i = 0; i < N * E; ++i)
    a.x[static_cast<size_t>(i)] =
        (a.attn_out[static_cast<size_t>(i)] + a.ff[static_cast<size_t>(i)]) + a.x[static_cast<size_t>(i)];
}

void Model::forward(std::span<SeqBatch> batch) {
  validate_batch(batch);
  for (SeqBatch& s : batch) s.cache->prepare(s.cache->size() + static_cast<int64_t>(s.tokens.size()));
  const int64_t E = config_.n_embd, F = config_.n_inner, V = config_.n_vocab;
  int64_t N = 0, M = 0;  // tokens in the batch, rows of logits wanted
  for (const SeqBatch& s : batch) {
    N += static_cast<int64_t>(s.tokens.size());
    M += s.all_logits ? static_cast<int64_t>(s.tokens.size()) : 1;
  }
  if (N == 0) return;
  Activations& a = act_;
  grow(a.x, N * E), grow(a.h, N * E), grow(a.qkv, N * 3 * E), grow(a.att, N * E), grow(a.attn_out, N * E);
  grow(a.up, N * F), grow(a.ff, N * E), grow(a.last, M * E), grow(a.logits, M * V);

  embed(batch, a.x.data());
  for (int64_t l = 0; l < config_.n_layer; ++l) block(layers_[static_cast<size_t>(l)], l, batch, N);

  // Gather the rows whose logits are wanted, then ln_f and the LM head on those rows only.
  int64_t r0 = 0, m = 0;
  for (const SeqBatch& s : batch) {
    const int64_t T = static_cast<int64_t>(s.tokens.size());
    for (int64_t t = s.all_logits ? 0 : T - 1; t < T; ++t)
      std::memcpy(a.last.data() + E * m++, a.x.data() + (r0 + t) * E, sizeof(float) * static_cast<size_t>(E));
    r0 += T;
  }
  layer_norm(a.last.data(), M, E, norm_w_.data(), norm_b_.data(), config_.eps, a.last.data());
  matmul(a.last.data(), M, lm_head_, lm_head_b_.data(), a.logits.data(), *pool_);

  m = 0;
  for (SeqBatch& s : batch) {
    const int64_t rows = s.all_logits ? static_cast<int64_t>(s.tokens.size()) : 1;
    s.logits = std::span<const float>(a.logits.data() + m * V, static_cast<size_t>(rows * V));
    m += rows;
    s.cache->n_past_ += static_cast<int64_t>(s.tokens.size());
  }
}

std::vector<float> Model::forward(KvCache& cache, std::span<const int32_t> tokens, bool all_logits) {
  SeqBatch s{&cache, tokens, all_logits};
  forward(std::span<SeqBatch>(&s, 1));
  return std::vector<float>(s.logits.begin(), s.logits.end());
}

std::unique_ptr<Model> Model::load(const std::string& path, int n_threads, DType kv_type) {
  require_kv_type(kv_type);  // before reading the file
  return std::make_unique<Model>(open_model(path), n_threads, kv_type);
}

}  // namespace moss
