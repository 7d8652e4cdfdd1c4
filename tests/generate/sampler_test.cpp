// Sampling pipeline against the torch reference (tools/sampling_reference.py), plus the
// properties the spec names: ties kept by top-k, repetition penalty once per distinct id, greedy =
// argmax after the penalty, seeded sampling reproducible, padding ids never sampled.
#include "generate/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace moss {
namespace {

nlohmann::json load_fixture() {
  std::ifstream f(std::string(MOSS_FIXTURE_DIR) + "/generate/sampling.json");
  EXPECT_TRUE(f.good());
  return nlohmann::json::parse(f);
}

TEST(Sampler, MatchesTorchReference) {
  const auto cases = load_fixture();
  ASSERT_EQ(cases.size(), 10u);
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const auto& c = cases[ci];
    SamplingParams p;
    p.temperature = c["params"]["temperature"].get<float>();
    p.top_k = c["params"]["top_k"].get<int>();
    p.top_p = c["params"]["top_p"].get<float>();
    p.repetition_penalty = c["params"]["repetition_penalty"].get<float>();
    p.greedy = c["params"]["greedy"].get<bool>();
    p.top_p_variant = c["params"]["variant"] == "ascending" ? TopPVariant::Ascending : TopPVariant::Descending;
    std::vector<float> logits = c["logits"].get<std::vector<float>>();
    const std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> kept = c["kept"].get<std::vector<int32_t>>();
    const std::vector<double> probs = c["probs"].get<std::vector<double>>();
    Sampler s(p);
    if (p.greedy) {
      std::vector<float> row = logits;
      EXPECT_EQ(s.sample(row, ids), kept[0]) << "case " << ci;
      continue;
    }
    s.process(logits, ids);
    std::vector<int32_t> got;
    for (size_t i = 0; i < logits.size(); ++i)
      if (logits[i] != -INFINITY) got.push_back(static_cast<int32_t>(i));
    ASSERT_EQ(got, kept) << "case " << ci;
    const std::vector<float> q = softmax(logits);
    // torch's float32 softmax over <= 64 terms: exp within 1 ulp, the sum within 64 * 2^-24 ~ 4e-6
    // relative; our double softmax is exact to float rounding. So 1e-5 relative bounds the gap.
    for (size_t j = 0; j < kept.size(); ++j) EXPECT_NEAR(q[kept[j]], probs[j], 1e-5 * probs[j]) << "case " << ci;
  }
}

// The spec's top-p, literally: stable sort of the whole row, cumulative sums in sort order.
void top_p_literal(std::vector<float>& l, float p, TopPVariant v) {
  const size_t n = l.size();
  const std::vector<float> probs = softmax(l);
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<bool> remove(n, false);
  if (v == TopPVariant::Ascending) {
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] < l[b]; });
    double c = 0;
    for (size_t r = 0; r + 1 < n; ++r) {
      c += probs[order[r]];
      remove[order[r]] = c <= 1.0 - double(p);
    }
  } else {
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
    double c = 0;
    for (size_t r = 0; r < n; ++r) {
      remove[order[r]] = r > 0 && c > double(p);
      c += probs[order[r]];
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (remove[i]) l[i] = -INFINITY;
}

TEST(Sampler, TopPMatchesLiteralDefinitionWithTies) {
  // Logits drawn from a few values, so most cut points fall inside a run of ties: the kept tokens
  // of a tie run must be the ones a stable sort puts first. p values are chosen away from the
  // cumulative sums (multiples of 1/n for equal logits) to stay clear of rounding.
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng() % 300;
    std::vector<float> l(n);
    for (float& x : l) x = float(rng() % 4) * 0.5f;
    if (trial % 3 == 0) l[rng() % n] = -INFINITY;
    if (std::all_of(l.begin(), l.end(), [](float x) { return x == -INFINITY; })) l[0] = 0;
    const float p = 0.05f + 0.9f * float(rng() % 1000) / 1000.0f + 0.000123f;
    for (TopPVariant v : {TopPVariant::Ascending, TopPVariant::Descending}) {
      std::vector<float> a = l, b = l;
      apply_top_p(a, p, v);
      top_p_literal(b, p, v);
      ASSERT_EQ(a, b) << "trial " << trial << " n " << n << " p " << p;
    }
  }
}

// At the size of the MOSS vocabulary, with continuous logits (no ties), flat (random weights) and
// peaked (a trained model), the bucketed top-p must keep exactly the literal definition's prefix.
// The two compute the masses differently (float exp vs double softmax; bucket sums vs a running
// sum): a float exp is within ~4 ulp (5e-7 relative) and double sums add nothing visible, so the
// cumulative masses agree to 1e-6. Only a token whose cumulative mass lies within 1e-6 of the
// threshold may therefore be decided differently; the test checks that any difference is one.
TEST(Sampler, TopPMatchesLiteralDefinitionAtVocabularySize) {
  std::mt19937 rng(11);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  const size_t n = 107008;
  int exact = 0, cases = 0;
  for (float sd : {0.3f, 3.0f}) {
    for (float p : {0.1f, 0.5f, 0.8f, 0.95f}) {
      for (TopPVariant v : {TopPVariant::Ascending, TopPVariant::Descending}) {
        std::vector<float> l(n);
        for (float& x : l) x = n01(rng) * sd;
        for (int k = 0; k < 100; ++k) l[rng() % n] = -INFINITY;  // already removed ids
        std::vector<float> a = l, b = l;
        apply_top_p(a, p, v);
        top_p_literal(b, p, v);
        ++cases;
        if (a == b) {
          ++exact;
          continue;
        }
        // Which tokens differ, and the literal cumulative mass above each of them.
        const std::vector<float> probs = softmax(l);
        for (size_t i = 0; i < n; ++i) {
          if ((a[i] == -INFINITY) == (b[i] == -INFINITY)) continue;
          double above = 0;
          for (size_t j = 0; j < n; ++j)
            if (l[j] > l[i]) above += probs[j];
          EXPECT_NEAR(above, double(p), 1e-6) << "token " << i << " decided differently far from the threshold, sd "
                                              << sd << " p " << p;
        }
      }
    }
  }
  EXPECT_GE(exact, cases - 1) << "more than one borderline case: the masses disagree more than derived";
}

// Logits spanning the whole float range (their difference overflows) and a row of identical
// values: one bucket, sorted exactly, still the literal cut.
TEST(Sampler, TopPHandlesExtremeRanges) {
  for (TopPVariant v : {TopPVariant::Ascending, TopPVariant::Descending}) {
    std::vector<float> l = {3e38f, -3e38f, 3e38f, 0.0f, -INFINITY, 2.9e38f};
    std::vector<float> a = l, b = l;
    apply_top_p(a, 0.7f, v);
    top_p_literal(b, 0.7f, v);
    EXPECT_EQ(a, b);
    std::vector<float> flat(1000, 0.25f);
    a = flat, b = flat;
    apply_top_p(a, 0.3337f, v);
    top_p_literal(b, 0.3337f, v);
    EXPECT_EQ(a, b);
  }
}

TEST(Sampler, TopKKeepsTies) {
  std::vector<float> l = {1, 3, 2, 3, 0, 2, 2};
  apply_top_k(l, 3);  // third largest is 2: everything >= 2 survives (5 entries)
  int kept = 0;
  for (float v : l) kept += v != -INFINITY;
  EXPECT_EQ(kept, 5);
  EXPECT_EQ(l[0], -INFINITY);
  EXPECT_EQ(l[4], -INFINITY);
}

TEST(Sampler, RepetitionPenaltyOncePerDistinctId) {
  std::vector<float> l = {2.0f, -2.0f, 1.0f};
  const std::vector<int32_t> ids = {0, 0, 0, 1, 1, 7 /* outside the row: ignored */};
  apply_repetition_penalty(l, ids, 2.0f);
  EXPECT_FLOAT_EQ(l[0], 1.0f);
  EXPECT_FLOAT_EQ(l[1], -4.0f);
  EXPECT_FLOAT_EQ(l[2], 1.0f);
}

TEST(Sampler, GreedyIsArgmaxAfterPenalty) {
  SamplingParams p;
  p.greedy = true;
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> l = {3.0f, 2.0f, 1.0f};
  const std::vector<int32_t> ids = {0};  // 3 / 2 = 1.5 < 2
  EXPECT_EQ(s.sample(l, ids), 1);
}

// Multinomial sampling from the softmax of the logits as given: no temperature, top-p or penalty.
SamplingParams plain_sampling(uint64_t seed) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 1.0f;
  p.repetition_penalty = 1.0f;
  p.seed = seed;
  return p;
}

TEST(Sampler, SeededSamplingIsReproducibleAndFollowsProbabilities) {
  const SamplingParams p = plain_sampling(42);
  const std::vector<float> base = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  Sampler a(p), b(p);
  std::vector<int> counts(3, 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> la = base, lb = base;
    const int32_t x = a.sample(la, {});
    EXPECT_EQ(x, b.sample(lb, {}));
    counts[x]++;
  }
  // Binomial standard deviation sqrt(n p (1-p)) <= 71 for n = 20000; 5 sigma = 355 counts.
  EXPECT_NEAR(counts[0], 0.5 * n, 355);
  EXPECT_NEAR(counts[1], 0.3 * n, 355);
  EXPECT_NEAR(counts[2], 0.2 * n, 355);
}

// A row of 1003 tokens spans several of the walk's 256-weight blocks: tokens on both sides of block
// boundaries (255/256, 511/512, with different weights so a mix-up shows) and in the last, partial
// block (235 weights: not a whole number of the block sums' 8-wide steps) are drawn at their
// probabilities.
TEST(Sampler, FollowsProbabilitiesAcrossWalkBlocks) {
  const SamplingParams p = plain_sampling(7);
  std::vector<float> base(1003, std::log(1e-6f));  // the rest: 997 x 1e-6, ~0.1% in all
  const std::vector<std::pair<int, float>> heavy = {{3, 0.2f}, {255, 0.25f}, {256, 0.05f},
                                                    {511, 0.2f}, {512, 0.1f}, {1002, 0.2f}};
  for (auto [id, q] : heavy) base[static_cast<size_t>(id)] = std::log(q);
  double z = 0;
  for (float l : base) z += std::exp(double(l));
  Sampler s(p);
  std::vector<int> counts(base.size(), 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> row = base;
    counts[static_cast<size_t>(s.sample(row, {}))]++;
  }
  // Binomial standard deviation sqrt(n p (1-p)) <= 71 for n = 20000; 5 sigma = 355 counts.
  for (auto [id, q] : heavy) EXPECT_NEAR(counts[static_cast<size_t>(id)], n * q / z, 355) << "token " << id;
}

TEST(Sampler, NeverSamplesPaddingIds) {
  SamplingParams p;
  p.greedy = true;
  Sampler s(p);
  std::vector<float> l = {0.0f, 1.0f, 9.0f, 9.5f};
  EXPECT_EQ(s.sample(l, {}, 2), 1);
}

TEST(Sampler, RejectsBadParameters) {
  SamplingParams p;
  p.temperature = 0.0f;
  EXPECT_THROW(Sampler{p}, Error);
  p = SamplingParams{};
  p.repetition_penalty = -1.0f;
  EXPECT_THROW(Sampler{p}, Error);
  std::vector<float> nan_row = {NAN, 1.0f};
  Sampler ok{SamplingParams{}};
  EXPECT_THROW(ok.sample(nan_row, {}), Error);
  // +inf after the temperature (1e30 / 1e-30 overflows): a clear error, not NaN probabilities.
  p = SamplingParams{};
  p.temperature = 1e-30f;
  Sampler cold{p};
  std::vector<float> big = {1e30f, 1.0f, 2.0f};
  EXPECT_THROW(cold.sample(big, {}), Error);
  std::vector<float> inf_row = {INFINITY, 1.0f};
  EXPECT_THROW(ok.sample(inf_row, {}), Error);
  p.top_p = 1.0f;  // top-p off: the multinomial step must refuse it too
  Sampler cold_no_top_p{p};
  big = {1e30f, 1.0f, 2.0f};
  EXPECT_THROW(cold_no_top_p.sample(big, {}), Error);
}

}  // namespace
}  // namespace moss
