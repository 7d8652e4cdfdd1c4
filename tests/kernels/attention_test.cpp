// Attention vs the formula in double (causal softmax over the cache), and the threaded kernel vs
// the single-thread reference.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "util/thread_pool.h"

namespace moss {
namespace {

struct Case {
  int64_t P, T;
  std::vector<float> q, k, v, out;  // q [T, E], k/v [P+T, E], out [T, E]
};

Case make_case(std::mt19937& rng, int64_t P, int64_t T, int64_t E) {
  std::normal_distribution<float> nd(0.0f, 1.5f);
  Case c{P, T, {}, {}, {}, {}};
  c.q.resize(T * E);
  c.k.resize((P + T) * E);
  c.v.resize((P + T) * E);
  c.out.assign(T * E, -1.0f);
  for (auto* vec : {&c.q, &c.k, &c.v})
    for (auto& x : *vec) x = nd(rng);
  return c;
}

TEST(Attention, MatchesDoubleFormulaAndReference) {
  const int64_t H = 3, D = 16, E = H * D;
  std::mt19937 rng(11);
  std::vector<Case> cases;
  cases.push_back(make_case(rng, 0, 5, E));  // prefill
  cases.push_back(make_case(rng, 9, 1, E));  // decode
  cases.push_back(make_case(rng, 4, 3, E));  // chunk after a prefix
  std::vector<AttentionSeq> seqs;
  for (auto& c : cases) seqs.push_back({c.q.data(), E, c.k.data(), c.v.data(), E, c.out.data(), E, c.P, c.T});
  ThreadPool pool(4);
  attention(seqs, H, D, pool);

  const double u = std::ldexp(1.0, -24);  // float unit roundoff
  for (const auto& c : cases) {
    for (int64_t t = 0; t < c.T; ++t) {
      for (int64_t h = 0; h < H; ++h) {
        const int64_t n = c.P + t + 1;
        std::vector<double> s(n);
        double mx = -1e300, ds_max = 0;
        for (int64_t j = 0; j < n; ++j) {
          double dot = 0, abs_dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            dot += double(c.q[t * E + h * D + d]) * c.k[j * E + h * D + d];
            abs_dot += std::fabs(double(c.q[t * E + h * D + d]) * c.k[j * E + h * D + d]);
          }
          s[j] = dot / std::sqrt(double(D));
          // float dot product of D terms, then one division: |error| <= (D + 1) u sum|q k| / sqrt(D)
          ds_max = std::max(ds_max, (D + 1) * u * abs_dot / std::sqrt(double(D)));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (auto& x : s) sum += (x = std::exp(x - mx));
        for (int64_t d = 0; d < D; ++d) {
          double want = 0, mag = 0;
          for (int64_t j = 0; j < n; ++j) {
            want += s[j] / sum * c.v[j * E + h * D + d];
            mag += s[j] / sum * std::fabs(c.v[j * E + h * D + d]);
          }
          // Each probability is off by a relative 2 ds_max (score errors; the max shift cancels)
          // plus n + 4 roundings (exp, the n-term sum, the division); the weighted sum of n terms
          // adds n more. All relative to sum_j p_j |v_j|.
          const double tol = (2 * ds_max + (2 * n + 6) * u) * mag;
          EXPECT_NEAR(c.out[t * E + h * D + d], want, tol) << "P " << c.P << " t " << t << " h " << h << " d " << d;
        }
      }
    }
  }

  // The threaded kernel runs the same per-head code: identical bits.
  std::vector<std::vector<float>> again;
  std::vector<AttentionSeq> seqs2 = seqs;
  for (size_t i = 0; i < cases.size(); ++i) {
    again.emplace_back(cases[i].out.size(), 0.0f);
    seqs2[i].out = again.back().data();
  }
  attention_reference(seqs2, H, D);
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(again[i], cases[i].out);
}

// A thread takes a group of contiguous heads (all of them with one thread, 3 + 2 with two for five
// heads): per head the same arithmetic as the one-head-at-a-time reference, so the same bits.
TEST(Attention, HeadGroupsEqualReference) {
  const int64_t H = 5, D = 8, E = H * D;
  std::mt19937 rng(5);
  std::vector<Case> cases;
  cases.push_back(make_case(rng, 6, 1, E));
  cases.push_back(make_case(rng, 0, 4, E));
  std::vector<AttentionSeq> seqs;
  for (auto& c : cases) seqs.push_back({c.q.data(), E, c.k.data(), c.v.data(), E, c.out.data(), E, c.P, c.T});
  attention_reference(seqs, H, D);
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<std::vector<float>> got;
    std::vector<AttentionSeq> seqs2 = seqs;
    for (size_t i = 0; i < cases.size(); ++i) {
      got.emplace_back(cases[i].out.size(), NAN);
      seqs2[i].out = got.back().data();
    }
    attention(seqs2, H, D, pool);
    for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(got[i], cases[i].out) << "threads " << threads;
  }
}

TEST(Attention, FirstPositionReturnsItsValue) {
  // With one visible key the softmax is exactly 1: the output is v[0].
  const int64_t H = 2, D = 4, E = 8;
  std::vector<float> q(E, 0.5f), k(E, 2.0f), v(E), out(E);
  for (int i = 0; i < E; ++i) v[i] = 0.1f * i - 0.3f;
  AttentionSeq s{q.data(), E, k.data(), v.data(), E, out.data(), E, 0, 1};
  attention_reference(std::span<const AttentionSeq>(&s, 1), H, D);
  EXPECT_EQ(out, v);
}

}  // namespace
}  // namespace moss
