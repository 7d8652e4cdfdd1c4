// See sampler.h. The order of the processors is HF's: repetition penalty, temperature, top-k,
// top-p, softmax, multinomial (spec 4.8); greedy takes the argmax right after the penalty.
#include "generate/sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/argmax.h"
#include "util/error.h"
#include "util/multiversion.h"

namespace moss {
namespace {

// The row loops below (MOSS_MULTIVERSION) run over the whole vocabulary for every token of every
// stream; compiled once per instruction set and picked at load time (util/multiversion.h), they use
// 16-float vectors where the CPU has them instead of the baseline's 4.

// Per-thread scratch rows: a 107k-float row is 428 KB, which malloc hands out as fresh mmapped
// pages; reusing them saves the page faults (a fifth of the sampler's time).
struct Scratch {
  std::vector<float> w;
  std::vector<int32_t> bucket;
  std::vector<double> block_sum, mass;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// bucket[i] = the top-p bucket of l[i] (see apply_top_p); -inf -> `sentinel`.
MOSS_MULTIVERSION void bucket_row(std::span<const float> l, float mx, float scale, int32_t sentinel, int32_t* bucket) {
  const float last = float(sentinel - 1);
  for (size_t i = 0; i < l.size(); ++i) {
    // monotone in l[i]; scale 0 (one bucket) must not meet an infinite difference: inf * 0 is NaN
    const float d = scale > 0.0f ? std::min((mx - l[i]) * scale, last) : 0.0f;
    bucket[i] = l[i] == -std::numeric_limits<float>::infinity() ? sentinel : static_cast<int32_t>(d);
  }
}
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// out[i] = exp(v[i] - mx) for v[i] <= mx (-inf -> 0), in float with a branch-free polynomial the
// compiler vectorises: a whole 107k-token row in tens of microseconds instead of a libm call each.
// Range reduction x = n ln2 + r, |r| <= ln2/2, with ln2 split in two parts (Cody-Waite), and a
// degree-6 Taylor polynomial for e^r (truncation < 2e-9); relative error a few float ulps.
// Arguments below -87 (e^-87 ~ 1.6e-38, at the bottom of the normal floats) give 0.
MOSS_MULTIVERSION void exp_shifted(std::span<const float> v, float mx, std::span<float> out) {
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860682030941723e-6f;
  const float* __restrict in = v.data();
  float* __restrict o = out.data();
  const size_t n = v.size();
  for (size_t i = 0; i < n; ++i) {
    const float x = in[i] - mx;                 // -inf stays -inf
    const float xc = std::max(x, -87.0f);       // (x < -87 ? -87 : x): selects, no branch
    // round to nearest by the 1.5 * 2^23 trick (vectorises without SSE4.1's roundps)
    const float k = (xc * kLog2e + 12582912.0f) - 12582912.0f;
    const float r = (xc - k * kLn2Hi) - k * kLn2Lo;
    const float e = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    // 2^k by building the exponent field (k in [-126, 0] here, so it stays a normal float)
    const float two_k = std::bit_cast<float>((static_cast<int32_t>(k) + 127) << 23);
    o[i] = x >= -87.0f ? e * two_k : 0.0f;
  }
}

// out[b] = the sum of w[b * block .. (b + 1) * block) in double, in 8 lanes per block (lane j takes
// the elements j mod 8, then the lanes are added in order), so the compiler vectorises it.
MOSS_MULTIVERSION void block_sums(std::span<const float> w, size_t block, std::span<double> out) {
  constexpr size_t kLanes = 8;
  const size_t n = w.size();
  for (size_t b = 0; b * block < n; ++b) {
    const size_t begin = b * block, end = std::min(n, begin + block);
    double acc[kLanes] = {};
    size_t i = begin;
    for (; i + kLanes <= end; i += kLanes)
      for (size_t j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(w[i + j]);
    for (size_t j = 0; i < end; ++i, ++j) acc[j] += static_cast<double>(w[i]);
    double sum = 0;
    for (double a : acc) sum += a;
    out[b] = sum;
  }
}

// Whether any value is NaN: one pass with no early exit, so it vectorises.
MOSS_MULTIVERSION bool has_nan(std::span<const float> v) {
  int32_t nan = 0;
  for (float x : v) nan |= static_cast<int32_t>(x != x);
  return nan != 0;
}

}  // namespace

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> ids, float penalty) {
  if (penalty == 1.0f) return;
  if (!(penalty > 0.0f)) fail("repetition penalty must be positive, got ", penalty);
  // Each distinct id once: HF gathers the scores first and scatters them back, so duplicates in the
  // sequence do not compound the penalty.
  std::vector<bool> seen(logits.size(), false);
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size() || seen[id]) continue;
    seen[id] = true;
    float& v = logits[id];
    v = v < 0 ? v * penalty : v / penalty;
  }
}

void apply_temperature(std::span<float> logits, float temperature) {
  if (!(temperature > 0.0f) || !std::isfinite(temperature)) fail("temperature must be positive, got ", temperature);
  if (temperature == 1.0f) return;
  for (float& v : logits) v /= temperature;
}

void apply_top_k(std::span<float> logits, int k) {
  if (k <= 0 || static_cast<size_t>(k) >= logits.size()) return;
  std::vector<float> sorted(logits.begin(), logits.end());
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float kth = sorted[k - 1];
  for (float& v : logits)
    if (v < kth) v = kNegInf;
}

std::vector<float> softmax(std::span<const float> logits) {
  std::vector<float> out(logits.size(), 0.0f);
  float mx = kNegInf;
  for (float v : logits) mx = std::max(mx, v);
  if (mx == kNegInf) fail("softmax: every logit is -inf");
  std::vector<double> e(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    e[i] = logits[i] == kNegInf ? 0.0 : std::exp(double(logits[i]) - mx);
    sum += e[i];
  }
  for (size_t i = 0; i < logits.size(); ++i) out[i] = float(e[i] / sum);
  return out;
}

void apply_top_p(std::span<float> logits, float p, TopPVariant variant) {
  if (p >= 1.0f) return;
  if (!(p >= 0.0f)) fail("top-p must be in [0, 1], got ", p);
  const size_t n = logits.size();
  if (n == 0) return;
  // Both variants keep a prefix of the tokens in descending order (spec 4.2, 4.8):
  //  * ascending (HF): sort ascending, remove r if cumsum[r] <= 1 - p. cumsum[r] = 1 - (mass above r),
  //    so r is kept iff the mass strictly above it is < p; the largest is always kept;
  //  * descending (moss_inference): remove r if cumsum[r-1] > p, i.e. kept iff mass above <= p.
  // Ties are ordered as a stable sort of the original order would leave them: by index ascending
  // in the sort direction, so in descending view the ascending variant sees tied indices reversed.
  //
  // Sorting the row is what made this slow (a flat row keeps most of 107k tokens: 11 ms per token).
  // Instead the tokens are bucketed by logit (monotone: a higher logit never lands in a later
  // bucket, ties share one), the bucket masses are summed, and only the bucket where the cumulative
  // mass crosses p is sorted and walked. Every token of an earlier bucket has less than that
  // crossing bucket's starting mass above it, so it is kept; every token of a later bucket has at
  // least the crossing mass above it, so it is removed. Masses are unnormalised exp(l - max)
  // compared with p * sum, in double; the fixtures keep every cumulative value 1e-4 away from the
  // threshold, far beyond these rounding differences.
  const float mx = row_max(logits);
  if (mx == kNegInf) fail("top-p: every logit is -inf");
  // +inf (a tiny temperature overflowing, or a broken model) has no softmax: torch gives NaN.
  if (mx == -kNegInf) fail("top-p: a logit is +inf (temperature too small?)");
  const float* l = logits.data();
  std::vector<float>& w = scratch().w;
  w.resize(n);
  exp_shifted(logits, mx, w);
  float lo = mx;
  for (size_t i = 0; i < n; ++i) lo = std::min(lo, l[i] == kNegInf ? mx : l[i]);
  constexpr int kBuckets = 4096;  // bucket kBuckets holds the -inf logits (already removed)
  float scale = mx > lo ? float(kBuckets) / (mx - lo) : 0.0f;
  // A range too wide for float (mx - lo overflows) or too narrow (scale overflows): one bucket.
  if (!std::isfinite(mx - lo) || !std::isfinite(scale)) scale = 0.0f;
  std::vector<int32_t>& bucket = scratch().bucket;
  bucket.resize(n);
  bucket_row(logits, mx, scale, kBuckets, bucket.data());
  // Four interleaved histograms, combined after, and the total from the buckets: one running sum
  // over the row (each add waiting on the last) was a third of the sampler's time. Only the order
  // of the double additions changes, far below the margins above.
  // The histograms live in the thread's scratch (4 x 4097 doubles: a fresh 128 KiB allocation per
  // token would be mmapped and faulted in each time); histogram 0 ends up holding the sums.
  constexpr int kWays = 4;
  constexpr size_t kStride = kBuckets + 1;
  std::vector<double>& ways = scratch().mass;
  ways.assign(kWays * kStride, 0.0);
  size_t i = 0;
  for (; i + kWays <= n; i += kWays)
    for (size_t k = 0; k < kWays; ++k) ways[k * kStride + bucket[i + k]] += w[i + k];
  for (; i < n; ++i) ways[bucket[i]] += w[i];
  const double* mass = ways.data();
  double z = 0;
  for (size_t b = 0; b < kStride; ++b) {
    for (size_t k = 1; k < kWays; ++k) ways[b] += ways[k * kStride + b];
    z += ways[b];
  }
  const double target = double(p) * z;
  const bool asc = variant == TopPVariant::Ascending;
  int32_t crossing = -1;
  double above = 0;  // mass of the buckets before `crossing`
  for (int32_t b = 0; b < kBuckets; ++b) {
    const double after = above + mass[b];
    if (asc ? after >= target : after > target) {
      crossing = b;
      break;
    }
    above = after;
  }
  if (crossing < 0) return;  // rounding left the whole mass short of p: everything is kept
  std::vector<int32_t> order;
  for (size_t i = 0; i < n; ++i)
    if (bucket[i] == crossing) order.push_back(static_cast<int32_t>(i));
  auto before = [&](int32_t a, int32_t b) {
    if (l[a] != l[b]) return l[a] > l[b];
    return asc ? a > b : a < b;
  };
  std::sort(order.begin(), order.end(), before);
  size_t kept = order.size();
  for (size_t r = 0; r < order.size(); ++r) {
    const bool first_overall = crossing == 0 && r == 0;  // the largest token is always kept
    if (!(first_overall || (asc ? above < target : above <= target))) {
      kept = r;
      break;
    }
    above += w[order[r]];
  }
  for (size_t r = kept; r < order.size(); ++r) logits[order[r]] = kNegInf;
  float* out = logits.data();
  for (size_t i = 0; i < n; ++i) out[i] = bucket[i] > crossing ? kNegInf : out[i];
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  if (!params.greedy) {
    if (!(params.temperature > 0.0f)) fail("temperature must be positive, got ", params.temperature);
    if (!(params.top_p >= 0.0f)) fail("top-p must be in [0, 1], got ", params.top_p);
  }
  if (!(params.repetition_penalty > 0.0f)) fail("repetition penalty must be positive, got ", params.repetition_penalty);
  if (params.top_k < 0) fail("top-k must be >= 0, got ", params.top_k);
}

void Sampler::process(std::span<float> logits, std::span<const int32_t> sequence, int32_t n_valid) const {
  if (has_nan(logits)) fail("sampler: the logits contain NaN");
  if (n_valid > 0 && static_cast<size_t>(n_valid) < logits.size())
    std::fill(logits.begin() + n_valid, logits.end(), kNegInf);
  apply_repetition_penalty(logits, sequence, params_.repetition_penalty);
  if (params_.greedy) return;
  apply_temperature(logits, params_.temperature);
  apply_top_k(logits, params_.top_k);
  apply_top_p(logits, params_.top_p, params_.top_p_variant);
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> sequence, int32_t n_valid) {
  process(logits, sequence, n_valid);
  if (params_.greedy) return argmax_first(logits);
  // Multinomial over exp(l - max) (unnormalised, float: 1e-7 relative, far below what a choice
  // could notice), walked in index order as torch.multinomial's inverse CDF would be.
  const float mx = row_max(logits);
  if (mx == -std::numeric_limits<float>::infinity()) fail("sampler: every logit is -inf");
  if (mx == std::numeric_limits<float>::infinity()) fail("sampler: a logit is +inf (temperature too small?)");
  std::vector<float>& w = scratch().w;
  w.resize(logits.size());
  exp_shifted(logits, mx, w);
  // The inverse CDF in two levels: sums of blocks of kBlock weights (each in independent lanes, so
  // no add waits on the previous one: a single running sum over 107k weights cost ~0.1 ms, twice),
  // then the block where the cumulative sum passes u, walked weight by weight.
  constexpr size_t kBlock = 256;
  const size_t n = w.size(), n_blocks = (n + kBlock - 1) / kBlock;
  std::vector<double>& block_sum = scratch().block_sum;
  block_sum.resize(n_blocks);
  block_sums(w, kBlock, block_sum);
  double total = 0;
  for (double b : block_sum) total += b;
  std::uniform_real_distribution<double> uni(0.0, total);
  const double u = uni(rng_);
  double c = 0;
  size_t start = n_blocks;  // the first block whose end passes u
  for (size_t b = 0; b < n_blocks; ++b) {
    if (u < c + block_sum[b]) {
      start = b;
      break;
    }
    c += block_sum[b];
  }
  for (size_t i = start * kBlock; i < n; ++i) {  // weights are >= 0: only a positive one can pass u
    c += w[i];
    if (u < c) return static_cast<int32_t>(i);
  }
  // Rounding at the very top end (the walk's sums fell just short of u): the last positive weight
  // (one exists: the maximum's weight is exp(0) = 1).
  size_t last = n;
  while (last > 0 && !(w[last - 1] > 0)) --last;
  return static_cast<int32_t>(last) - 1;
}

}  // namespace moss
