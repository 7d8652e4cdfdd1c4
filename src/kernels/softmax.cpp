// softmax_inplace (see softmax.h). Multi-versioned (AVX-512 holds 8 doubles in one register, AVX2
// in two); CMake compiles this file with -ffp-contract=off, so every version performs the same IEEE
// operations in the same order and gives the same bits. It replaced a libm expf call per score, ~5%
// of a batched decode step at 400 positions.
#include "kernels/softmax.h"

#include <cstring>
#include <limits>

#include "kernels/exp_double.h"
#include "util/multiversion.h"

// (-Wpsabi for the 512-bit vector helpers is silenced in kernels/exp_double.h.)

namespace moss {

namespace {

typedef float V8f __attribute__((vector_size(32)));

// exp(x) for x <= 0 (or NaN), rounded to float: below -708 the double result would leave the
// normal range, and exp(-708) already rounds to 0 in float.
template <class T, class U>
[[gnu::always_inline]] inline T exp_nonpositive(T x) {
  const T y = x < -708.0 ? -708.0 : x;  // NaN compares false and stays NaN
  return exp_double<T, U>(y);
}

}  // namespace

MOSS_MULTIVERSION void softmax_inplace(float* row, int64_t n) {
  if (n <= 0) return;
  constexpr int kLanes = 8;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  // The lanes are vectors (GCC's vector extensions; written as 8 scalar lanes, the compiler kept
  // them scalar: 8 maxss and 8 addss per 8 values), with the same per-lane operations and order.
  float mx = kNegInf;
  {
    V8f mv = {kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes) {
      V8f x;
      std::memcpy(&x, row + j, sizeof x);
      mv = x > mv ? x : mv;  // NaN never wins
    }
    float m[kLanes];
    std::memcpy(m, &mv, sizeof m);
    for (int l = 0; j < n; ++j, ++l) m[l] = row[j] > m[l] ? row[j] : m[l];
    for (float v : m) mx = v > mx ? v : mx;
  }
  V8f accv = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    V8f x;
    std::memcpy(&x, row + j, sizeof x);
    const V8f e = __builtin_convertvector(
        exp_nonpositive<ExpVec8d, ExpVec8u>(__builtin_convertvector(x - mx, ExpVec8d)), V8f);
    std::memcpy(row + j, &e, sizeof e);
    accv += e;
  }
  float acc[kLanes];
  std::memcpy(acc, &accv, sizeof acc);
  for (int l = 0; j < n; ++j, ++l) {
    row[j] = static_cast<float>(exp_nonpositive<double, uint64_t>(static_cast<double>(row[j] - mx)));
    acc[l] += row[j];
  }
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  const float sum = acc[0];
  for (int64_t i = 0; i < n; ++i) row[i] = row[i] / sum;
}

}  // namespace moss
