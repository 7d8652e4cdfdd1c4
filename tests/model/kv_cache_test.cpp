// The KV cache element type: f32 / f16 storage, sizes, and the whole model with an f16 cache vs the
// f32 cache and the float64 reference fixtures (bound derived in kv_f16_tolerance.h), chunked
// prefill / truncation and thread-count independence with an f16 cache.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "kernels/attention.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "kv_f16_tolerance.h"
#include "model_fixtures.h"
#include "util/error.h"
#include "util/half.h"
#include "util/huge_pages.h"
#include "util/thread_pool.h"

namespace moss {
namespace {

using testing::ids_of;
using testing::kLogitTol;
using testing::max_abs_diff;
using testing::model_manifest;
using testing::read_f32;

std::string folder_path(const std::string& folder) { return testing::model_fixture_dir() + "/" + folder; }

nlohmann::json case_of(const std::string& folder) {
  for (const auto& f : model_manifest()["folders"])
    if (f["folder"] == folder) return model_manifest()["cases"][f["case"].get<std::string>()];
  throw std::runtime_error("folder " + folder + " is not in the manifest");
}

MossConfig small_config() {
  MossConfig c;
  c.n_layer = 2;
  c.n_embd = 8;
  c.n_head = 2;
  c.head_dim = 4;
  c.n_ctx = 16;
  return c;
}

TEST(KvCache, TypesSizesAndRoundTrip) {
  EXPECT_EQ(kv_type_from_name("f32"), DType::F32);
  EXPECT_EQ(kv_type_from_name("f16"), DType::F16);
  EXPECT_EQ(kv_type_from_name("q8_0"), DType::Q8_0);
  EXPECT_THROW(kv_type_from_name("q4_0"), Error);
  EXPECT_THROW(kv_type_from_name(""), Error);

  const MossConfig c = small_config();
  KvCache f32(c, 10), f16(c, 10, DType::F16);
  EXPECT_EQ(f32.type(), DType::F32);
  EXPECT_EQ(f16.type(), DType::F16);
  EXPECT_EQ(f32.bytes_per_position(), 2u * 2 * 8 * 4);  // K and V, 2 layers, 8 floats
  EXPECT_EQ(f16.bytes_per_position(), 2u * 2 * 8 * 2);
  // Rows of 8 halves: blocks of 128 positions (the most), so 10 positions reserve one block.
  EXPECT_EQ(f16.block_rows(), 128);
  EXPECT_EQ(f16.bytes_reserved(), 128 * f16.bytes_per_position());
  EXPECT_THROW(KvCache(c, 10, DType::Q8_0), Error);
  EXPECT_THROW(KvCache(c, 10, DType::BF16), Error);

  const float k[8] = {1.0f, 1.0f / 3, -2.0f / 7, 1e-6f, 65504.0f, -0.1f, 3.14159f, 0.0f};
  const float v[8] = {-1.0f / 3, 5.5f, 1e-3f, 2.0f, -7.25f, 0.3f, 1e4f / 3, -0.0f};
  float got[8];
  for (KvCache* cache : {&f32, &f16}) {
    cache->store(1, 3, k, v);
    cache->store(0, 3, v, k);  // another layer, same position: no overlap
    cache->load_k(1, 3, got);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(got[i], cache->type() == DType::F16 ? round_fp16(k[i]) : k[i]);
    cache->load_v(1, 3, got);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(got[i], cache->type() == DType::F16 ? round_fp16(v[i]) : v[i]);
    cache->load_k(0, 3, got);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(got[i], cache->type() == DType::F16 ? round_fp16(v[i]) : v[i]);
  }
}

// Blocks hold as many of a layer's rows as fit in 512 KiB, a power of two of them (at most 128).
TEST(KvCache, BlockRowsFitInHalfAMebibyte) {
  MossConfig c;
  c.n_layer = 16, c.n_embd = 2048, c.n_head = 16, c.head_dim = 128, c.n_ctx = 2048;  // the 1.24B shape
  EXPECT_EQ(KvCache(c, 0, DType::F16).block_rows(), 128);  // rows of 4 KiB
  EXPECT_EQ(KvCache(c, 0, DType::F32).block_rows(), 64);   // 8 KiB
  EXPECT_EQ(KvCache(c, 0, DType::Q8_0).block_rows(), 128);  // 2176 bytes: 240 would fit, 128 is the most
  c.n_embd = 6144, c.n_head = 24, c.head_dim = 256;  // MOSS-003
  EXPECT_EQ(KvCache(c, 0, DType::F16).block_rows(), 32);  // 12 KiB rows: 384 KiB (64 would be 768)
  EXPECT_EQ(KvCache(c, 0, DType::F16).bytes_reserved(), 2048 * KvCache(c, 0, DType::F16).bytes_per_position());
}

// Every (layer, position) of a cache spanning several blocks, the last one partial, has its own row:
// rows stored with distinct values all read back, and the addresses follow the documented layout
// (consecutive within a block, block_stride() elements from one block to the next).
TEST(KvCache, BlockedLayoutKeepsEveryRowApart) {
  MossConfig c = small_config();  // E = 8, 2 layers: blocks of 128 positions
  c.n_ctx = 200;
  for (DType t : {DType::F32, DType::F16}) {
    KvCache cache(c, 150, t);
    const int64_t E = c.n_embd, B = cache.block_rows();
    ASSERT_EQ(B, 128);
    // Distinct per (layer, position, element, K or V) and exact in half: at most 11 significant bits.
    auto value = [](int64_t l, int64_t p, int64_t i, bool key) { return float((l * 160 + p + i * 0.25) * (key ? 1 : -1)); };
    std::vector<float> k(E), v(E), got(E);
    for (int64_t p = 0; p < 150; ++p)
      for (int64_t l = 0; l < c.n_layer; ++l) {
        for (int64_t i = 0; i < E; ++i) k[i] = value(l, p, i, true), v[i] = value(l, p, i, false);
        cache.store(l, p, k.data(), v.data());
      }
    const size_t elem = t == DType::F16 ? 2 : 4;
    for (int64_t p = 0; p < 150; ++p)
      for (int64_t l = 0; l < c.n_layer; ++l) {
        cache.load_k(l, p, got.data());
        for (int64_t i = 0; i < E; ++i) ASSERT_EQ(got[i], value(l, p, i, true)) << l << " " << p;  // exact in half too
        cache.load_v(l, p, got.data());
        for (int64_t i = 0; i < E; ++i) ASSERT_EQ(got[i], value(l, p, i, false)) << l << " " << p;
        const auto* row = static_cast<const uint8_t*>(cache.k(l, p));
        const auto* first = static_cast<const uint8_t*>(cache.k(l, 0));
        EXPECT_EQ(row - first, static_cast<ptrdiff_t>(((p / B) * cache.block_stride() + (p % B) * E) * elem));
      }
    EXPECT_EQ(cache.block_stride(), c.n_layer * B * E);
  }
}

// Attention reads a cache of several blocks, the last one partial, as the model passes it (the
// first row of the layer, block_rows(), block_stride()): the same bits as the scalar reference over
// the rows loaded back into one contiguous f32 array (an f16 cache gives exactly the result of f32
// rows holding the half-rounded values, kernels/attention.h). A decode step (one new row, the
// whole-cache pass) and a prefill chunk whose rows straddle a block boundary; 16 heads of 128 take
// the decode kernels of the 1.24B model.
TEST(KvCache, AttentionReadsEveryBlockAsTheModelPassesIt) {
  for (int64_t n_head : {2, 16}) {
    MossConfig c;
    c.n_layer = 2, c.n_head = n_head, c.head_dim = 128, c.n_embd = n_head * 128, c.n_ctx = 400;
    const int64_t E = c.n_embd, S = 300;
    for (DType t : {DType::F32, DType::F16}) {
      KvCache cache(c, S, t);
      // 300 positions: 3 blocks of 128 (5 of 64 for f32 rows of 8 KiB), the last partial; the prefill
      // rows 120..139 straddle position 128.
      ASSERT_TRUE(cache.block_rows() == 128 || (t == DType::F32 && cache.block_rows() == 64));
      std::vector<float> k(E), v(E), q(static_cast<size_t>(20 * 3 * E));
      uint32_t seed = 12345;
      auto next = [&] { return (static_cast<float>((seed = seed * 1664525u + 1013904223u) >> 8) / 16777216.0f) - 0.5f; };
      for (int64_t p = 0; p < S; ++p)
        for (int64_t l = 0; l < c.n_layer; ++l) {
          for (int64_t i = 0; i < E; ++i) k[i] = next(), v[i] = next();
          cache.store(l, p, k.data(), v.data());
        }
      for (float& x : q) x = 2.0f * next();
      ThreadPool pool(2);
      for (int64_t l = 0; l < c.n_layer; ++l) {
        std::vector<float> kf(static_cast<size_t>(S * E)), vf(kf.size());
        for (int64_t p = 0; p < S; ++p) cache.load_k(l, p, kf.data() + p * E), cache.load_v(l, p, vf.data() + p * E);
        for (auto [P, T] : {std::pair<int64_t, int64_t>{S - 1, 1}, {120, 20}}) {
          std::vector<float> got(static_cast<size_t>(T * E)), want(got.size());
          const AttentionSeq blocked{q.data(), 3 * E, cache.k(l, 0), cache.v(l, 0), E, got.data(), E, P, T, t,
                                     cache.block_rows(), cache.block_stride()};
          const AttentionSeq flat{q.data(), 3 * E, kf.data(), vf.data(), E, want.data(), E, P, T, DType::F32};
          attention(std::span<const AttentionSeq>(&blocked, 1), c.n_head, c.head_dim, pool);
          attention_reference(std::span<const AttentionSeq>(&flat, 1), c.n_head, c.head_dim);
          for (size_t i = 0; i < got.size(); ++i)
            ASSERT_EQ(got[i], want[i]) << dtype_name(t) << " heads " << n_head << " layer " << l << " P " << P << " i " << i;
        }
      }
    }
  }
}

// A short cache commits about what it holds plus KvCache::kCommitAhead positions (whole blocks),
// although its buffers ask for huge pages: the first positions of all layers lie in the first block
// (8 MiB of K rows per 128 positions for the 1.24B shape in f16), so 10 positions prepared as the
// model does commit 128 positions of K, 8 MiB in 2 MiB pages (laid out [layer][pos], every layer's
// area took its own huge page: 32 MiB for K). prepare() commits them before any store, and storing
// those rows then commits nothing more. (Resident bytes rather than fault counts: under ASan every
// store also faults in shadow memory.)
TEST(KvCache, ShortCacheCommitsWhatItHoldsAndPrepareCommitsAhead) {
  MossConfig c;
  c.n_layer = 16, c.n_embd = 2048, c.n_head = 16, c.head_dim = 128, c.n_ctx = 2048;  // the 1.24B shape
  KvCache cache(c, 0, DType::F16);
  ASSERT_EQ(cache.block_rows(), 128);
  const auto* k0 = static_cast<const uint8_t*>(cache.k(0, 0));
  auto resident = [&] { return resident_pages(k0, k0 + cache.bytes_reserved() / 2).resident_bytes; };
  EXPECT_EQ(resident(), 0u);
  const int64_t n = 10, ahead = n + KvCache::kCommitAhead;  // 74: within the block committed
  cache.prepare(n);
  const size_t committed = size_t{128} * 16 * 4096;  // 128 positions x 16 layers x 4 KiB = 8 MiB
  const size_t after_prepare = resident();
  EXPECT_GE(after_prepare, committed);
  EXPECT_LE(after_prepare, committed + (size_t{2} << 20));
  std::vector<float> row(2048, 0.5f);
  for (int64_t l = 0; l < c.n_layer; ++l)
    for (int64_t p = 0; p < ahead; ++p) cache.store(l, p, row.data(), row.data());
  EXPECT_EQ(resident(), after_prepare);
  cache.prepare(ahead);  // committed already: nothing more
  EXPECT_EQ(resident(), after_prepare);
  cache.prepare(129);  // past the 128 committed: up to 129 + 64, whole blocks: 256 positions, 16 MiB of K
  EXPECT_GE(resident(), size_t{256} * 16 * 4096);
}

TEST(KvCache, ModelMakesCachesOfItsType) {
  auto m16 = Model::load(folder_path("a_f32_bin"), 1, DType::F16);
  EXPECT_EQ(m16->kv_type(), DType::F16);
  EXPECT_EQ(m16->new_cache().type(), DType::F16);
  EXPECT_EQ(m16->new_cache(4, DType::F32).type(), DType::F32);
  auto m32 = Model::load(folder_path("a_f32_bin"), 1);
  EXPECT_EQ(m32->kv_type(), DType::F32);  // the library default
  EXPECT_EQ(m32->new_cache().type(), DType::F32);
  EXPECT_THROW(Model::load(folder_path("a_f32_bin"), 1, DType::Q4_0), Error);
}

class KvF16Fixture : public ::testing::TestWithParam<std::string> {};

// Prefill (all positions) and the decode steps: f16 cache vs f32 cache within the derived bound,
// and vs the float64 reference within that bound plus the float32 one.
TEST_P(KvF16Fixture, LogitsWithinDerivedBoundOfF32AndReference) {
  const auto c = case_of(GetParam());
  auto m32 = Model::load(folder_path(GetParam()), 2);
  auto m16 = Model::load(folder_path(GetParam()), 2, DType::F16);
  const int64_t V = m32->config().n_vocab;
  const auto prompt = ids_of(c["prompt"]);
  const auto decode = ids_of(c["decode_ids"]);
  KvCache c32 = m32->new_cache(), c16 = m16->new_cache();
  ASSERT_EQ(c16.type(), DType::F16);
  std::vector<std::vector<float>> l32, l16;
  l32.push_back(m32->forward(c32, prompt, true));
  l16.push_back(m16->forward(c16, prompt, true));
  for (int32_t t : decode) {
    l32.push_back(m32->forward(c32, std::span<const int32_t>(&t, 1)));
    l16.push_back(m16->forward(c16, std::span<const int32_t>(&t, 1)));
  }
  const double tol = testing::f16_cache_logit_tol(m32->config().n_layer, testing::max_abs_value(c32));
  std::vector<std::vector<float>> want = {read_f32(c["prefill_logits"])};
  const auto want_dec = read_f32(c["decode_logits"]);
  for (size_t i = 0; i < decode.size(); ++i)
    want.emplace_back(want_dec.begin() + static_cast<std::ptrdiff_t>(i * V),
                      want_dec.begin() + static_cast<std::ptrdiff_t>((i + 1) * V));
  double worst = 0;
  for (size_t s = 0; s < l16.size(); ++s) {
    EXPECT_LE(max_abs_diff(l16[s], l32[s]), tol) << "step " << s;
    EXPECT_LE(max_abs_diff(l16[s], want[s]), tol + kLogitTol) << "step " << s;
    EXPECT_LE(max_abs_diff(l32[s], want[s]), kLogitTol) << "step " << s;
    worst = std::max(worst, max_abs_diff(l16[s], l32[s]));
  }
  // The rounding is really there (an f16 cache that silently stayed f32 would give ~1e-6).
  EXPECT_GT(worst, 1e-5);
  RecordProperty("f16_vs_f32_max_abs_logit_diff", std::to_string(worst));
}

// Chunked prefill and truncate-then-refeed with an f16 cache reproduce the one-shot f32 logits
// within the same bound (the cached rows of the first chunk are read back from half storage).
TEST_P(KvF16Fixture, ChunkedPrefillAndTruncate) {
  const auto c = case_of(GetParam());
  auto m32 = Model::load(folder_path(GetParam()), 1);
  auto m16 = Model::load(folder_path(GetParam()), 1, DType::F16);
  const int64_t V = m32->config().n_vocab;
  const auto prompt = ids_of(c["prompt"]);
  KvCache c32 = m32->new_cache();
  const auto full = m32->forward(c32, prompt, true);
  const double tol = testing::f16_cache_logit_tol(m32->config().n_layer, testing::max_abs_value(c32));
  KvCache cache = m16->new_cache(16);
  std::span<const int32_t> p(prompt);
  m16->forward(cache, p.subspan(0, 3), true);
  const auto rest = m16->forward(cache, p.subspan(3), true);
  EXPECT_LE(max_abs_diff(rest, std::span<const float>(full).subspan(3 * V)), tol);
  cache.truncate(static_cast<int64_t>(prompt.size()) - 2);
  const auto again = m16->forward(cache, p.subspan(prompt.size() - 2), true);
  EXPECT_LE(max_abs_diff(again, std::span<const float>(full).subspan((prompt.size() - 2) * V)), tol);
}

// The thread count changes only how rows and heads are split over threads; each logit's arithmetic
// (matmul per output element, attention per head, the half conversions per element) is the same,
// so an f16-cache run gives the same bits with 1, 2 or 3 threads.
TEST_P(KvF16Fixture, ThreadCountIndependent) {
  const auto c = case_of(GetParam());
  const auto prompt = ids_of(c["prompt"]);
  const auto decode = ids_of(c["decode_ids"]);
  std::vector<std::vector<float>> first;
  for (int threads : {1, 2, 3}) {
    auto m = Model::load(folder_path(GetParam()), threads, DType::F16);
    KvCache cache = m->new_cache();
    std::vector<std::vector<float>> got = {m->forward(cache, prompt, true)};
    for (int32_t t : decode) got.push_back(m->forward(cache, std::span<const int32_t>(&t, 1)));
    if (first.empty())
      first = got;
    else
      EXPECT_EQ(got, first) << "threads " << threads;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, KvF16Fixture,
                         ::testing::Values("a_f32_bin", "a_f16_sharded", "b_f32_sharded", "b_f16_bin"));

}  // namespace
}  // namespace moss

// A q8_0 cache in the model (heads of 64 here: whole blocks of 32). Attention over such rows equals
// the f32 arithmetic on their dequantized values exactly (tests/kernels); here the model's plumbing:
// the same logits at 1, 2 and 3 threads (threads take head groups, i.e. byte offsets into the
// 34-byte blocks of a row: a wrong offset changes the result with the thread count), real
// quantization (a pure f32 cache gives other logits), and the row size of the block layout.
#include <unistd.h>

#include <filesystem>

#include "model/random_model.h"

namespace moss {
namespace {

TEST(KvCacheQ8, ThreadCountIndependentAndReallyQuantized) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / (std::string("moss_kv_q8_").append(std::to_string(getpid())));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "tiny-chat.gguf").string();
  write_random_model(path, random_model_shape("tiny-chat"), DType::F32, 3);
  std::vector<int32_t> prompt(40);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 37 + 5) % 300);
  const int32_t next = 7;
  auto run = [&](int threads, DType kv) {
    auto m = Model::load(path, threads, kv);
    KvCache cache = m->new_cache(64);
    if (kv == DType::Q8_0) {
      EXPECT_EQ(cache.bytes_per_position(),
                2u * static_cast<size_t>(m->config().n_layer) * static_cast<size_t>(m->config().n_embd / 32) * 34);
    }
    std::vector<float> all = m->forward(cache, prompt, true);
    const std::vector<float> step = m->forward(cache, std::span<const int32_t>(&next, 1));
    all.insert(all.end(), step.begin(), step.end());
    return all;
  };
  const std::vector<float> q1 = run(1, DType::Q8_0);
  EXPECT_EQ(run(2, DType::Q8_0), q1);
  EXPECT_EQ(run(3, DType::Q8_0), q1);
  EXPECT_NE(run(1, DType::F32), q1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace moss
