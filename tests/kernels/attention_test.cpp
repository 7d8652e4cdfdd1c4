// Attention vs the formula in double (causal softmax over the cache), and the threaded kernel vs
// the single-thread reference; with float32 and with IEEE half (f16) keys and values, and the half
// conversions of every instruction set vs the portable ones.
#include "kernels/attention.h"
#include "tensor/dtype.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/attention_kernels.h"
#include "kernels/cpu_features.h"
#include "util/error.h"
#include "util/half.h"
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

// The f32 sequences over `cases` (rows of E elements), writing to each case's out.
std::vector<AttentionSeq> f32_seqs_of(std::vector<Case>& cases, int64_t E) {
  std::vector<AttentionSeq> seqs;
  for (auto& c : cases) seqs.push_back({c.q.data(), E, c.k.data(), c.v.data(), E, c.out.data(), E, c.P, c.T});
  return seqs;
}

// attention_reference's outputs for `seqs` (written to fresh buffers, one per sequence).
std::vector<std::vector<float>> reference_outputs(const std::vector<AttentionSeq>& seqs, int64_t H, int64_t D) {
  std::vector<std::vector<float>> out;
  std::vector<AttentionSeq> run = seqs;
  for (auto& s : run) {
    out.emplace_back(static_cast<size_t>(s.n_new * s.out_stride), NAN);
    s.out = out.back().data();
  }
  attention_reference(run, H, D);
  return out;
}

// `seqs` run (into fresh NaN buffers) on every instruction set this CPU has and at 1, 2 and 3
// threads give exactly `want`: through attention(), or (as_job) through an AttentionJob made for one
// more thread than the pool has (so a thread may take two head groups, as when the model runs it
// beside MatmulJob), with thread 0 taking an item before the others start.
void expect_on_every_isa_and_thread_count(const std::vector<AttentionSeq>& seqs, int64_t H, int64_t D,
                                          const std::vector<std::vector<float>>& want, bool as_job = false) {
  const Isa saved = active_isa();
  for (Isa isa : kAllIsas) {
    if (!isa_supported(isa)) continue;
    force_isa(isa);
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      std::vector<std::vector<float>> got;
      std::vector<AttentionSeq> run = seqs;
      for (size_t i = 0; i < run.size(); ++i) {
        got.emplace_back(want[i].size(), NAN);
        run[i].out = got.back().data();
      }
      if (as_job) {
        AttentionJob job(run, H, D, threads + 1);
        pool.run([&](int index, int) {
          if (index == 0) job.run_next_item();
          while (job.run_next_item()) {
          }
        });
      } else {
        attention(run, H, D, pool);
      }
      EXPECT_EQ(got, want) << isa_name(isa) << " threads " << threads << (as_job ? " (job)" : "");
    }
  }
  force_isa(saved);
}

// Random f32 cases of the given (P, T) shapes, E = H * D: expect_on_every_isa_and_thread_count
// against the reference.
void expect_random_cases_equal_reference(int64_t H, int64_t D, uint32_t seed,
                                         std::initializer_list<std::pair<int64_t, int64_t>> shapes, bool as_job) {
  const int64_t E = H * D;
  std::mt19937 rng(seed);
  std::vector<Case> cases;
  for (auto [P, T] : shapes) cases.push_back(make_case(rng, P, T, E));
  const std::vector<AttentionSeq> seqs = f32_seqs_of(cases, E);
  expect_on_every_isa_and_thread_count(seqs, H, D, reference_outputs(seqs, H, D), as_job);
}

TEST(Attention, MatchesDoubleFormulaAndReference) {
  const int64_t H = 3, D = 16, E = H * D;
  std::mt19937 rng(11);
  std::vector<Case> cases;
  cases.push_back(make_case(rng, 0, 5, E));  // prefill
  cases.push_back(make_case(rng, 9, 1, E));  // decode
  cases.push_back(make_case(rng, 4, 3, E));  // chunk after a prefix
  const std::vector<AttentionSeq> seqs = f32_seqs_of(cases, E);
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

  // The threaded kernels run the same per-head code as the reference: identical bits.
  const auto want = reference_outputs(seqs, H, D);
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(want[i], cases[i].out);
  expect_on_every_isa_and_thread_count(seqs, H, D, want);
}

// A thread takes a group of contiguous heads (all of them with one thread, 3 + 2 with two for five
// heads): per head the same arithmetic as the one-head-at-a-time reference, so the same bits.
TEST(Attention, HeadGroupsEqualReference) { expect_random_cases_equal_reference(5, 8, 5, {{6, 1}, {0, 4}}, false); }

TEST(Attention, FirstPositionReturnsItsValue) {
  // With one visible key the softmax is exactly 1: the output is v[0].
  const int64_t H = 2, D = 4, E = 8;
  std::vector<float> q(E, 0.5f), k(E, 2.0f), v(E), out(E);
  for (int i = 0; i < E; ++i) v[i] = 0.1f * i - 0.3f;
  AttentionSeq s{q.data(), E, k.data(), v.data(), E, out.data(), E, 0, 1};
  attention_reference(std::span<const AttentionSeq>(&s, 1), H, D);
  EXPECT_EQ(out, v);
}

// ---- f16 KV cache ----

// Every instruction set's conversions give util/half.h's bits: half -> float for every non-NaN half
// (exact), float -> half (round to nearest even) at ties, subnormals, the overflow threshold and
// random values; lengths 1..40 cover the vector tails.
TEST(AttentionF16, ConversionsMatchPortableOnEveryIsa) {
  std::vector<uint16_t> all_h;
  for (uint32_t h = 0; h < 65536; ++h)
    if (((h >> 10) & 0x1f) != 0x1f || (h & 0x3ff) == 0) all_h.push_back(static_cast<uint16_t>(h));  // no NaN
  std::vector<float> f = {0.0f,      -0.0f,      1.0f,        65504.0f,    65519.99f, 65520.0f,  -65520.0f, 1e30f,
                          INFINITY,  -INFINITY,  5.96e-8f,    2.98e-8f,    2.99e-8f,  6.1e-5f,   6.09e-5f,  1e-9f,
                          1.00048828125f, 1.000732421875f, 1.0009765625f, 1.001220703125f};  // ties around 1
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> ex(-30.0f, 17.0f);
  for (int i = 0; i < 4000; ++i) f.push_back((rng() & 1 ? -1.0f : 1.0f) * std::exp2(ex(rng)));
  for (Isa isa : kAllIsas) {
    if (!isa_supported(isa)) continue;
    const AttentionKernels& hk = attention_kernels(isa);
    std::vector<float> got(all_h.size());
    hk.to_f32(all_h.data(), got.data(), static_cast<int64_t>(all_h.size()));
    for (size_t i = 0; i < all_h.size(); ++i)
      ASSERT_EQ(f32_to_bits(got[i]), f32_to_bits(fp16_to_f32(all_h[i]))) << isa_name(isa) << " h " << all_h[i];
    std::vector<uint16_t> h(f.size());
    hk.to_f16(f.data(), h.data(), static_cast<int64_t>(f.size()));
    for (size_t i = 0; i < f.size(); ++i) ASSERT_EQ(h[i], f32_to_fp16(f[i])) << isa_name(isa) << " f " << f[i];
    for (int64_t n = 1; n <= 40; ++n) {  // tails: only n elements written
      std::vector<uint16_t> hn(48, 0xabcd);
      std::vector<float> fn(48, -7.0f);
      hk.to_f16(f.data() + 100, hn.data(), n);
      hk.to_f32(all_h.data() + 15000, fn.data(), n);
      for (int64_t i = 0; i < 48; ++i) {
        EXPECT_EQ(hn[i], i < n ? f32_to_fp16(f[100 + i]) : 0xabcd) << isa_name(isa) << " n " << n;
        EXPECT_EQ(fn[i], i < n ? fp16_to_f32(all_h[15000 + i]) : -7.0f) << isa_name(isa) << " n " << n;
      }
    }
  }
}

TEST(AttentionF16, KvConversionEntryPoints) {
  const std::vector<float> x = {1.0f, 1.0f / 3.0f, -2.5e-6f, 70000.0f};
  std::vector<uint16_t> h(4);
  kv_from_f32(DType::F16, x.data(), h.data(), 4);
  std::vector<float> back(4);
  kv_to_f32(DType::F16, h.data(), back.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(back[i], round_fp16(x[i]));
  EXPECT_EQ(back[3], INFINITY);  // beyond the half range
  std::vector<float> same(4);
  kv_from_f32(DType::F32, x.data(), same.data(), 4);
  EXPECT_EQ(same, x);
  EXPECT_TRUE(kv_type_supported(DType::F32));
  EXPECT_TRUE(kv_type_supported(DType::F16));
  EXPECT_TRUE(kv_type_supported(DType::Q8_0));
  EXPECT_FALSE(kv_type_supported(DType::Q4_0));
  EXPECT_THROW(kv_from_f32(DType::BF16, x.data(), h.data(), 4), Error);
}

struct HalfCase {
  Case c;                        // q, the original float k/v, out
  std::vector<uint16_t> kh, vh;  // k, v as half
  std::vector<float> kr, vr;     // k, v rounded to half, as float
};

HalfCase make_half_case(std::mt19937& rng, int64_t P, int64_t T, int64_t E) {
  HalfCase h{make_case(rng, P, T, E), {}, {}, {}, {}};
  for (auto [src, hh, rr] : {std::tuple{&h.c.k, &h.kh, &h.kr}, std::tuple{&h.c.v, &h.vh, &h.vr}}) {
    for (float x : *src) {
      hh->push_back(f32_to_fp16(x));
      rr->push_back(round_fp16(x));
    }
  }
  return h;
}

// An f16 cache gives exactly what an f32 cache holding the half-rounded values gives (the rows are
// converted exactly, then the f32 arithmetic runs unchanged): same bits, on every instruction set,
// threaded or not, and against the scalar reference.
void expect_f16_equals_f32_of_rounded(int64_t H, int64_t D, uint32_t seed, int64_t long_prefix) {
  const int64_t E = H * D;
  std::mt19937 rng(seed);
  std::vector<HalfCase> cases;
  cases.push_back(make_half_case(rng, 0, 6, E));
  cases.push_back(make_half_case(rng, 11, 1, E));
  cases.push_back(make_half_case(rng, 5, 3, E));
  cases.push_back(make_half_case(rng, long_prefix, 2, E));
  std::vector<AttentionSeq> f32_seqs, f16_seqs;
  std::vector<std::vector<float>> want, ref;
  for (auto& h : cases) {
    want.emplace_back(h.c.out.size(), NAN);
    ref.emplace_back(h.c.out.size(), NAN);
    f32_seqs.push_back({h.c.q.data(), E, h.kr.data(), h.vr.data(), E, want.back().data(), E, h.c.P, h.c.T});
    f16_seqs.push_back({h.c.q.data(), E, h.kh.data(), h.vh.data(), E, ref.back().data(), E, h.c.P, h.c.T,
                        DType::F16});
  }
  attention_reference(f32_seqs, H, D);
  attention_reference(f16_seqs, H, D);
  EXPECT_EQ(ref, want);
  expect_on_every_isa_and_thread_count(f16_seqs, H, D, want);
  expect_on_every_isa_and_thread_count(f32_seqs, H, D, want);
}

// AttentionJob, with the pool's threads taking items in any order and a thread taking more than one
// head group, gives the reference's bits.
TEST(Attention, JobEqualsReference) { expect_random_cases_equal_reference(6, 48, 31, {{0, 4}, {30, 1}, {7, 2}}, true); }

// D = 24: the 16-wide conversions have a tail per head group (the per-row kernels).
TEST(AttentionF16, EqualsF32CacheOfRoundedValuesOnEveryIsa) { expect_f16_equals_f32_of_rounded(5, 24, 13, 9); }

// D = 48, 6 heads: the whole-range kernels where the ISA has them (4 heads side by side plus 2, a
// 16-vector output chunk plus 2 vectors at one thread), over a prefix long enough to prefetch.
TEST(AttentionF16, RangeKernelsEqualF32CacheOfRoundedValuesOnEveryIsa) {
  expect_f16_equals_f32_of_rounded(6, 48, 29, 40);
}

// A q8_0 cache (GGUF q8_0 blocks of 32 per row) gives exactly the f32 computation on its dequantized
// rows, on every instruction set and thread count; heads must be whole blocks. 4 heads of 128, so
// the whole-range kernels' 4-heads-at-once step and full 16-vector output chunks read q8_0 rows too.
TEST(AttentionQ8, EqualsF32CacheOfDequantizedValuesOnEveryIsa) {
  const int64_t H = 4, D = 128, E = H * D;
  std::mt19937 rng(17);
  struct Q8Case {
    Case c;
    std::vector<uint8_t> kq, vq;  // rows of E / 32 blocks
    std::vector<float> kr, vr;    // the dequantized rows
  };
  std::vector<Q8Case> cases;
  for (auto [P, T] : {std::pair<int64_t, int64_t>{0, 4}, {9, 1}, {3, 3}}) {
    Q8Case q{make_case(rng, P, T, E), {}, {}, {}, {}};
    const size_t rb = row_bytes(DType::Q8_0, E), rows = static_cast<size_t>(P + T);
    q.kq.resize(rb * rows);
    q.vq.resize(rb * rows);
    q.kr.resize(rows * E);
    q.vr.resize(rows * E);
    for (size_t r = 0; r < rows; ++r) {
      kv_from_f32(DType::Q8_0, q.c.k.data() + r * E, q.kq.data() + r * rb, E);
      kv_from_f32(DType::Q8_0, q.c.v.data() + r * E, q.vq.data() + r * rb, E);
      kv_to_f32(DType::Q8_0, q.kq.data() + r * rb, q.kr.data() + r * E, E);
      kv_to_f32(DType::Q8_0, q.vq.data() + r * rb, q.vr.data() + r * E, E);
    }
    cases.push_back(std::move(q));
  }
  // The rows really are quantized: within half a step (amax / 254) of the originals, not equal.
  double worst = 0;
  for (const auto& q : cases)
    for (size_t i = 0; i < q.c.k.size(); ++i) worst = std::max(worst, std::fabs(double(q.kr[i]) - q.c.k[i]));
  EXPECT_GT(worst, 0.0);
  EXPECT_LT(worst, 6.0 * 1.5 / 254 * 1.01);  // |k| < 6 sigma (sigma 1.5) in every block here
  std::vector<AttentionSeq> f32_seqs, q8_seqs;
  std::vector<std::vector<float>> want, ref;
  for (auto& q : cases) {
    want.emplace_back(q.c.out.size(), NAN);
    ref.emplace_back(q.c.out.size(), NAN);
    f32_seqs.push_back({q.c.q.data(), E, q.kr.data(), q.vr.data(), E, want.back().data(), E, q.c.P, q.c.T});
    q8_seqs.push_back(
        {q.c.q.data(), E, q.kq.data(), q.vq.data(), E, ref.back().data(), E, q.c.P, q.c.T, DType::Q8_0});
  }
  attention_reference(f32_seqs, H, D);
  attention_reference(q8_seqs, H, D);
  EXPECT_EQ(ref, want);
  expect_on_every_isa_and_thread_count(q8_seqs, H, D, want);
  // Heads of 16 elements are not whole blocks: refused before any work.
  ThreadPool pool(1);
  EXPECT_THROW(attention(q8_seqs, 32, 16, pool), Error);
}

// The f16 result vs the double formula on the ORIGINAL (unrounded) keys and values.
// Derivation: storing k and v in half multiplies each element by (1 + d), |d| <= u_h = 2^-11 (round
// to nearest in the normal range; a subnormal half adds an absolute error <= 2^-25 instead). So
//  * each score s_j = q.k_j / sqrt(D) moves by |ds_j| <= (u_h sum_d |q_d k_jd| + 2^-25 sum_d |q_d|) / sqrt(D),
//    on top of the float32 error of the f32 test above;
//  * softmax: p~_j / p_j = exp(ds_j) / sum_i p_i exp(ds_i) lies in [exp(-2 m), exp(2 m)] with m = max_j
//    |ds_j|, so |p~_j - p_j| <= expm1(2 m) p_j (the max shift cancels);
//  * out = sum_j p~_j v~_j: |out~ - out| <= expm1(2 m) sum_j p_j |v_j| + sum_j p_j (u_h |v_j| + 2^-25),
//    plus the float32 roundings of the f32 test ((2n + 6) u relative to sum_j p_j |v_j|).
// A wrong row, head or element type would be off by O(|v|).
TEST(AttentionF16, WithinDerivedBoundOfExactFormula) {
  const int64_t H = 3, D = 16, E = H * D;
  std::mt19937 rng(17);
  std::vector<HalfCase> cases;
  cases.push_back(make_half_case(rng, 0, 5, E));
  cases.push_back(make_half_case(rng, 20, 1, E));
  cases.push_back(make_half_case(rng, 4, 3, E));
  std::vector<AttentionSeq> seqs;
  for (auto& h : cases)
    seqs.push_back({h.c.q.data(), E, h.kh.data(), h.vh.data(), E, h.c.out.data(), E, h.c.P, h.c.T, DType::F16});
  ThreadPool pool(2);
  attention(seqs, H, D, pool);
  const double u = std::ldexp(1.0, -24), uh = std::ldexp(1.0, -11), sub = std::ldexp(1.0, -25);
  for (const auto& h : cases) {
    const Case& c = h.c;
    for (int64_t t = 0; t < c.T; ++t) {
      for (int64_t hd = 0; hd < H; ++hd) {
        const int64_t n = c.P + t + 1;
        std::vector<double> s(n);
        double mx = -1e300, ds32 = 0, ds16 = 0;
        for (int64_t j = 0; j < n; ++j) {
          double dot = 0, abs_dot = 0, abs_q = 0;
          for (int64_t d = 0; d < D; ++d) {
            const double qd = c.q[t * E + hd * D + d], kd = c.k[j * E + hd * D + d];
            dot += qd * kd;
            abs_dot += std::fabs(qd * kd);
            abs_q += std::fabs(qd);
          }
          s[j] = dot / std::sqrt(double(D));
          // float32 score error as in the f32 test, here on the rounded k (|k~| <= (1 + u_h)|k| + 2^-25)
          ds32 = std::max(ds32, (D + 1) * u * ((1 + uh) * abs_dot + sub * abs_q) / std::sqrt(double(D)));
          ds16 = std::max(ds16, (uh * abs_dot + sub * abs_q) / std::sqrt(double(D)));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (auto& x : s) sum += (x = std::exp(x - mx));
        const double m = ds32 + ds16;
        for (int64_t d = 0; d < D; ++d) {
          double want = 0, mag = 0;
          for (int64_t j = 0; j < n; ++j) {
            want += s[j] / sum * c.v[j * E + hd * D + d];
            mag += s[j] / sum * std::fabs(c.v[j * E + hd * D + d]);
          }
          const double tol = (std::expm1(2 * m) + uh + (2 * n + 6) * u * (1 + uh)) * mag + sub;
          EXPECT_NEAR(c.out[t * E + hd * D + d], want, tol) << "P " << c.P << " t " << t << " h " << hd << " d " << d;
        }
      }
    }
  }
}

// The instruction-set row operations (AVX-512 reads f32 or f16 rows directly: whole-range kernels at
// the real head size D = 128, per-row ones with a vector tail at D = 40): the reference's bits for
// both element types.
TEST(AttentionF16, RowOperationsEqualReferenceAtModelHeadSizes) {
  for (int64_t D : {40, 128}) {
    const int64_t H = 4, E = H * D;
    std::mt19937 rng(static_cast<unsigned>(D));
    std::vector<HalfCase> cases;
    cases.push_back(make_half_case(rng, 0, 4, E));
    cases.push_back(make_half_case(rng, 37, 1, E));
    for (DType t : {DType::F32, DType::F16}) {
      std::vector<AttentionSeq> seqs;
      std::vector<std::vector<float>> want;
      for (auto& h : cases) {
        want.emplace_back(h.c.out.size(), NAN);
        const void* k = t == DType::F16 ? static_cast<const void*>(h.kh.data()) : h.c.k.data();
        const void* v = t == DType::F16 ? static_cast<const void*>(h.vh.data()) : h.c.v.data();
        seqs.push_back({h.c.q.data(), E, k, v, E, want.back().data(), E, h.c.P, h.c.T, t});
      }
      attention_reference(seqs, H, D);
      SCOPED_TRACE(testing::Message() << "D " << D << " " << dtype_name(t));
      expect_on_every_isa_and_thread_count(seqs, H, D, want);
    }
  }
}

// 20 heads, as one head group in a decode step (AttentionJob's grouping): at head sizes 128 and 256
// the AVX-512 scores take 16 heads at once (sums reduced side by side, a scatter) and the last 4 the
// usual way; at 32 all go 4 at a time. The same bits as the reference for f32, f16 and q8_0 rows,
// decode alone and beside a prefill chunk.
TEST(Attention, TwentyHeadsInOneGroupEqualReference) {
  for (int64_t D : {32, 128, 256}) {
    const int64_t H = 20, E = H * D;
    std::mt19937 rng(static_cast<unsigned>(37 + D));
    for (DType t : {DType::F32, DType::F16, DType::Q8_0}) {
      SCOPED_TRACE(testing::Message() << "D " << D << " " << dtype_name(t));
      const size_t rb = row_bytes(t, E);
      std::vector<Case> cases;
      for (auto [P, T] : {std::pair<int64_t, int64_t>{45, 1}, {6, 3}}) cases.push_back(make_case(rng, P, T, E));
      std::vector<std::vector<uint8_t>> rows;
      std::vector<AttentionSeq> seqs;
      for (Case& c : cases) {
        for (const std::vector<float>* src : {&c.k, &c.v}) {
          const size_t n = src->size() / E;
          rows.emplace_back(n * rb);
          for (size_t r = 0; r < n; ++r) kv_from_f32(t, src->data() + r * E, rows.back().data() + r * rb, E);
        }
        seqs.push_back({c.q.data(), E, rows[rows.size() - 2].data(), rows.back().data(), E, nullptr, E, c.P, c.T, t});
      }
      const auto want = reference_outputs(seqs, H, D);
      expect_on_every_isa_and_thread_count(seqs, H, D, want, true);
      const std::vector<AttentionSeq> decode = {seqs[0]};
      expect_on_every_isa_and_thread_count(decode, H, D, {want[0]});
      expect_on_every_isa_and_thread_count(decode, H, D, {want[0]}, true);
    }
  }
}

// Rows in blocks (the KV cache's layout): B rows together, then a gap up to the next block. The
// result is the contiguous layout's, bit for bit, on every instruction set and thread count, for
// each element type; the gaps hold NaN (f32, f16) or NaN scales (q8_0), so a row read from a gap
// shows. 40 positions in blocks of 4 also make the kernels' prefetching and tiles cross blocks.
std::vector<uint8_t> in_blocks(const std::vector<uint8_t>& rows, size_t row_bytes, int64_t B, int64_t stride_rows) {
  const size_t n = rows.size() / row_bytes, blocks = (n + B - 1) / B;
  std::vector<uint8_t> out(blocks * stride_rows * row_bytes, 0xff);  // 0xffff: a NaN half; 0xffffffff: a NaN float
  for (size_t r = 0; r < n; ++r)
    std::memcpy(out.data() + ((r / B) * stride_rows + r % B) * row_bytes, rows.data() + r * row_bytes, row_bytes);
  return out;
}

TEST(Attention, RowsInBlocksEqualContiguousRows) {
  const int64_t H = 4, D = 32, E = H * D, B = 4, stride_rows = 3 * B;
  std::mt19937 rng(23);
  for (DType t : {DType::F32, DType::F16, DType::Q8_0}) {
    SCOPED_TRACE(dtype_name(t));
    const size_t rb = row_bytes(t, E);
    std::vector<Case> cases;
    for (auto [P, T] : {std::pair<int64_t, int64_t>{39, 1}, {0, 6}, {13, 3}}) cases.push_back(make_case(rng, P, T, E));
    std::vector<std::vector<uint8_t>> flat, blocked;  // k, v of each case
    std::vector<AttentionSeq> contiguous, in_block;
    for (Case& c : cases) {
      for (const std::vector<float>* src : {&c.k, &c.v}) {
        const size_t n = src->size() / E;
        flat.emplace_back(n * rb);
        for (size_t r = 0; r < n; ++r) kv_from_f32(t, src->data() + r * E, flat.back().data() + r * rb, E);
        blocked.push_back(in_blocks(flat.back(), rb, B, stride_rows));
      }
      const size_t i = flat.size() - 2;
      contiguous.push_back({c.q.data(), E, flat[i].data(), flat[i + 1].data(), E, nullptr, E, c.P, c.T, t});
      AttentionSeq s = contiguous.back();
      s.k = blocked[i].data(), s.v = blocked[i + 1].data(), s.kv_block_rows = B, s.kv_block_stride = stride_rows * E;
      in_block.push_back(s);
    }
    const auto want = reference_outputs(contiguous, H, D);
    for (const auto& w : want)
      for (float x : w) ASSERT_FALSE(std::isnan(x));
    EXPECT_EQ(reference_outputs(in_block, H, D), want);
    expect_on_every_isa_and_thread_count(in_block, H, D, want);
    expect_on_every_isa_and_thread_count(in_block, H, D, want, true);
    // Decode steps only: one item per sequence, all heads (AttentionJob's decode grouping).
    const std::vector<AttentionSeq> decode = {in_block[0]};
    expect_on_every_isa_and_thread_count(decode, H, D, {want[0]}, true);
  }
  std::vector<float> q(8), k(8), v(8), out(8);
  AttentionSeq s{q.data(), 8, k.data(), v.data(), 8, out.data(), 8, 0, 1, DType::F32, 3, 24};
  ThreadPool pool(1);
  EXPECT_THROW(attention(std::span<const AttentionSeq>(&s, 1), 2, 4, pool), Error);  // 3 rows: not a power of two
  s.kv_block_rows = -4;
  EXPECT_THROW(attention_reference(std::span<const AttentionSeq>(&s, 1), 2, 4), Error);
}

TEST(AttentionF16, RejectsOtherElementTypes) {
  std::vector<float> q(8), k(8), v(8), out(8);
  AttentionSeq s{q.data(), 8, k.data(), v.data(), 8, out.data(), 8, 0, 1, DType::Q8_0};
  ThreadPool pool(2);
  EXPECT_THROW(attention(std::span<const AttentionSeq>(&s, 1), 2, 4, pool), Error);
  EXPECT_THROW(attention_reference(std::span<const AttentionSeq>(&s, 1), 2, 4), Error);
}

}  // namespace
}  // namespace moss
