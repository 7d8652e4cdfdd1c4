// Continuous batching: sessions running concurrently through one BatchedModel (with prefills cut
// into small chunks) get the same logits as each sequence run alone through a plain Model.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "../model/kv_f16_tolerance.h"
#include "generate/batched_model.h"
#include "model/model.h"
#include "util/error.h"

namespace moss {
namespace {

const std::string kModel = std::string(MOSS_FIXTURE_DIR) + "/models/a_f32_bin";

// Prompt and decode tokens of sequence i (different lengths so prefills and decodes interleave).
std::vector<int32_t> prompt_of(int i) {
  std::vector<int32_t> p;
  for (int k = 0; k < 3 + 5 * i; ++k) p.push_back((17 * i + 31 * k + 5) % 300);
  return p;
}
std::vector<int32_t> decode_of(int i) { return {static_cast<int32_t>(40 + i), 7, static_cast<int32_t>(200 - i), 99}; }

std::vector<std::vector<float>> run_alone(Model& model, int i) {
  KvCache cache = model.new_cache();
  std::vector<std::vector<float>> out;
  out.push_back(model.forward(cache, prompt_of(i)));
  for (int32_t t : decode_of(i)) out.push_back(model.forward(cache, std::vector<int32_t>{t}));
  return out;
}

TEST(BatchedModel, ConcurrentSessionsMatchSequentialRuns) {
  auto reference_model = Model::load(kModel, 1);
  constexpr int kSessions = 4;
  std::vector<std::vector<std::vector<float>>> expected(kSessions), got(kSessions);
  for (int i = 0; i < kSessions; ++i) expected[i] = run_alone(*reference_model, i);

  BatchedModel batched(Model::load(kModel, 2), {.max_batch_tokens = 4});
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back([&, i] {
      auto session = batched.new_session();
      auto logits = session->eval(prompt_of(i));
      got[i].emplace_back(logits.begin(), logits.end());
      for (int32_t t : decode_of(i)) {
        logits = session->eval(std::vector<int32_t>{t});
        got[i].emplace_back(logits.begin(), logits.end());
      }
    });
  }
  for (auto& t : threads) t.join();

  // Batching changes only how many rows a matmul sees at once; each output is still one dot product
  // of f32 values, so differences come from summation order alone: a few ulps of the logits'
  // magnitude (|logit| < 10 here). 1e-4 is the bound for f32 weights.
  for (int i = 0; i < kSessions; ++i) {
    ASSERT_EQ(got[i].size(), expected[i].size());
    for (size_t s = 0; s < got[i].size(); ++s) {
      ASSERT_EQ(got[i][s].size(), expected[i][s].size());
      for (size_t v = 0; v < got[i][s].size(); ++v)
        ASSERT_NEAR(got[i][s][v], expected[i][s][v], 1e-4) << "session " << i << " step " << s << " logit " << v;
    }
  }
  const BatchStats stats = batched.stats();
  EXPECT_EQ(stats.sessions, 0);  // all sessions ended
  // Chunked prefills (budget 4) need more steps than sequences, and merging needs fewer steps than
  // running every chunk and decode step alone would.
  int64_t alone_steps = 0, tokens = 0;
  for (int i = 0; i < kSessions; ++i) {
    alone_steps += (static_cast<int64_t>(prompt_of(i).size()) + 3) / 4 + 4;
    tokens += static_cast<int64_t>(prompt_of(i).size()) + 4;
  }
  EXPECT_EQ(stats.tokens, tokens);
  EXPECT_LE(stats.steps, alone_steps);
}

// With an f16 KV cache (BatchedModel's sessions take the model's cache type): concurrent sessions
// vs each sequence alone through a plain f32-cache Model, within the f16 bound derived in
// tests/model/kv_f16_tolerance.h (batching itself adds only the f32 summation-order differences of
// the test above, ~1e-6, which can at most move a half rounding by one ulp: inside the same bound).
// The KV bytes in the stats are those of half elements.
TEST(BatchedModel, F16CacheSessionsMatchF32RunsWithinDerivedBound) {
  auto reference_model = Model::load(kModel, 1);
  constexpr int kSessions = 3;
  std::vector<std::vector<std::vector<float>>> expected(kSessions), got(kSessions);
  double max_v = 0;
  for (int i = 0; i < kSessions; ++i) {
    expected[i] = run_alone(*reference_model, i);
    KvCache c = reference_model->new_cache();
    reference_model->forward(c, prompt_of(i));
    for (int32_t t : decode_of(i)) reference_model->forward(c, std::vector<int32_t>{t});
    max_v = std::max(max_v, testing::max_abs_value(c));
  }
  const double tol = testing::f16_cache_logit_tol(reference_model->config().n_layer, max_v);

  BatchedModel batched(Model::load(kModel, 2, DType::F16), {.max_batch_tokens = 4});
  const int64_t E = batched.model().config().n_embd, L = batched.model().config().n_layer;
  std::vector<std::unique_ptr<LanguageModel>> sessions(kSessions);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i) {
    sessions[i] = batched.new_session();
    threads.emplace_back([&, i] {
      auto logits = sessions[i]->eval(prompt_of(i));
      got[i].emplace_back(logits.begin(), logits.end());
      for (int32_t t : decode_of(i)) {
        logits = sessions[i]->eval(std::vector<int32_t>{t});
        got[i].emplace_back(logits.begin(), logits.end());
      }
    });
  }
  for (auto& t : threads) t.join();
  double worst = 0;
  for (int i = 0; i < kSessions; ++i) {
    ASSERT_EQ(got[i].size(), expected[i].size());
    for (size_t s = 0; s < got[i].size(); ++s) {
      ASSERT_EQ(got[i][s].size(), expected[i][s].size());
      for (size_t v = 0; v < got[i][s].size(); ++v) {
        ASSERT_NEAR(got[i][s][v], expected[i][s][v], tol) << "session " << i << " step " << s << " logit " << v;
        worst = std::max(worst, static_cast<double>(std::fabs(got[i][s][v] - expected[i][s][v])));
      }
    }
  }
  EXPECT_GT(worst, 1e-5);  // the half rounding is really there
  const BatchStats stats = batched.stats();
  int64_t used = 0;
  for (int i = 0; i < kSessions; ++i) used += static_cast<int64_t>(prompt_of(i).size() + decode_of(i).size());
  EXPECT_EQ(stats.kv_used, used);
  EXPECT_EQ(stats.kv_bytes_used, used * L * 2 * E * 2);  // K and V, L layers, E halves each
  // Each cache (all of the same capacity) reserves its capacity rounded up to whole blocks.
  const int64_t B = KvCache(batched.model().config(), 0, DType::F16).block_rows(), C = stats.kv_capacity / kSessions;
  ASSERT_EQ(C * kSessions, stats.kv_capacity);
  EXPECT_EQ(stats.kv_bytes_reserved, kSessions * ((C + B - 1) / B * B) * L * 2 * E * 2);
}

TEST(BatchedModel, OneBadRequestDoesNotFailTheOthers) {
  BatchedModel batched(Model::load(kModel, 1), {.max_batch_tokens = 64});
  auto good = batched.new_session();
  auto bad = batched.new_session();
  std::thread t([&] { EXPECT_THROW(bad->eval(std::vector<int32_t>{1, 2, 100000}), Error); });
  EXPECT_NO_THROW(good->eval(std::vector<int32_t>{1, 2, 3}));
  t.join();
  EXPECT_EQ(good->n_past(), 3u);
  EXPECT_EQ(bad->n_past(), 0u);
  EXPECT_NE(good->tokenizer(), nullptr);
}

}  // namespace
}  // namespace moss
