// The bound on how far logits computed with an f16 KV cache may be from those with an f32 cache, for
// the small fixture models (shared by tests/model and tests/generate).
//
// Derivation. An f16 cache gives exactly the f32 computation with every cached key and value
// element multiplied by (1 + d), |d| <= u_h = 2^-11 (round to nearest; tests/kernels checks the
// exactness), so the question is how far that perturbation of K and V moves the logits. Per layer,
// for one query row and head (p = softmax probabilities, S positions):
//  * values: a = sum_j p_j v_j moves by sum_j p_j v_j d_j, at most u_h max|v|;
//  * keys: score s_j = q.k_j / sqrt(D) moves by ds_j = sum_d q_d k_jd d_jd / sqrt(D). The rounding
//    errors are independent with RMS u_h / sqrt(3) (uniform within the half-ulp), and q, k elements
//    have RMS ~1 (LayerNorm output through variance-preserving weights, std E^-1/2), so
//    RMS(ds) = u_h / sqrt(3) RMS(q k) ~= u_h / sqrt(3); over the ~10^3 scores of a fixture run the
//    largest is within 4 RMS. The probabilities then move by at most expm1(2 max|ds|) p_j (the max
//    shift of the softmax cancels), so a moves by at most expm1(2 max|ds|) max|v|.
//  So each layer's attention output moves by eps_a <= (u_h + expm1(8 u_h / sqrt(3))) max|v|
//  elementwise. That perturbation goes through out_proj and, for the earlier layer, through the
//  later blocks, then ln_f and the LM head: all weights are variance-preserving (gain ~1 per
//  Linear), LayerNorm divides by the row's std (>= ~1 here), so a hidden perturbation reaches the
//  logits with gain <= ~1 (the same gain the float32 fixture bound kLogitTol assumes), and the L
//  layers' contributions add: |d logit| <= L eps_a.
// max|v| is measured from the f32 cache of the same run (3.0-3.5 on the fixtures): with L = 2 the
// bound is ~0.02; the measured differences are 0.6e-3-1.2e-3 (errors do not all align), and a wrong
// row, position or element type moves logits by O(0.1..1).
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "model/kv_cache.h"

namespace moss::testing {

// max |v| over every layer and filled position of an f32 (or f16) cache.
inline double max_abs_value(const KvCache& cache) {
  std::vector<float> row(static_cast<size_t>(cache.n_embd()));
  double m = 0;
  for (int64_t l = 0; l < cache.n_layer(); ++l)
    for (int64_t p = 0; p < cache.size(); ++p) {
      cache.load_v(l, p, row.data());
      for (float x : row) m = std::max(m, static_cast<double>(std::fabs(x)));
    }
  return m;
}

// The bound derived above, for a model of n_layer layers whose values reach max_abs_v.
inline double f16_cache_logit_tol(int64_t n_layer, double max_abs_v) {
  const double uh = std::ldexp(1.0, -11);
  return static_cast<double>(n_layer) * (uh + std::expm1(8.0 * uh / std::sqrt(3.0))) * max_abs_v;
}

}  // namespace moss::testing
