// gelu_new kernel (see gelu.h).
//
// tanh is not taken from libm: tanhf was ~5% of a decode step (8192 values per layer, one call each).
// Instead tanh(u) = 1 - 2 / (exp(2|u|) + 1) (sign restored) is evaluated in double with the exp of
// kernels/exp_double.h (Cody-Waite reduction by ln 2, degree-11 Taylor polynomial on |r| <= ln2/2,
// 2^n built from the exponent bits), for scalars and for 8-lane vectors. Its absolute error is a few 1e-16, so after the
// rounding to float the result is within half a float ulp of tanh(u) (libm's tanhf: about one ulp),
// and the rest of the formula is the same float arithmetic as before.
#include "kernels/gelu.h"

#include <cstdint>
#include <cstring>

#include "kernels/exp_double.h"
#include "util/multiversion.h"

// (-Wpsabi for the 512-bit vector helpers is silenced in kernels/exp_double.h.)

namespace moss {

namespace {

using V8d = ExpVec8d;
using V8u = ExpVec8u;
typedef float V8f __attribute__((vector_size(32)));

// tanh(u) for u of either sign, from a = min(|u|, 20) (tanh(20) rounds to 1 in double).
template <class T, class U>
[[gnu::always_inline]] inline T tanh_abs(T a) {
  return 1.0 - 2.0 / (exp_double<T, U>(2.0 * a) + 1.0);
}

constexpr float kSqrt2OverPi = 0.7978845608028654f;

inline float u_of(float x) { return kSqrt2OverPi * (x + 0.044715f * x * x * x); }

// 8 values at once: the scalar gelu_new below, lane by lane. Always inlined (with its helpers), so
// that each version of gelu_new_range compiles it for its own instruction set.
[[gnu::always_inline]] inline void gelu8(float* x) {
  V8f xv;
  std::memcpy(&xv, x, sizeof xv);
  const V8f u = kSqrt2OverPi * (xv + 0.044715f * xv * xv * xv);
  const V8d ud = __builtin_convertvector(u, V8d);
  V8d a = ud < 0 ? -ud : ud;
  a = a < 20.0 ? a : 20.0;  // also catches inf and NaN
  const V8d t = tanh_abs<V8d, V8u>(a);
  const V8f tf = __builtin_convertvector(ud < 0 ? -t : t, V8f);
  const V8f g = 0.5f * xv * (1.0f + tf);
  std::memcpy(x, &g, sizeof g);
}

}  // namespace

float gelu_new(float x) {
  const float u = u_of(x);
  double a = u < 0 ? -static_cast<double>(u) : static_cast<double>(u);
  a = a < 20.0 ? a : 20.0;  // also catches inf and NaN
  const double t = tanh_abs<double, uint64_t>(a);
  return 0.5f * x * (1.0f + static_cast<float>(u < 0 ? -t : t));
}

// Multi-versioned: with AVX-512 a V8d is one register instead of four SSE2 pairs (gelu was ~5% of a
// batched decode step at the baseline ISA). CMake compiles this file with -ffp-contract=off, so no
// version fuses a multiply with an add: every version performs the same IEEE operations and equals
// the scalar gelu_new bit for bit.
MOSS_MULTIVERSION void gelu_new_range(float* x, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 8 <= e; i += 8) gelu8(x + i);
  for (; i < e; ++i) x[i] = gelu_new(x[i]);
}

}  // namespace moss
