// gelu_new kernel (see gelu.h).
#include "kernels/gelu.h"

#include <cmath>

#include "util/thread_pool.h"

namespace moss {

float gelu_new(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

void gelu_new(float* x, int64_t n, ThreadPool& pool) {
  pool.parallel_for(n, [x](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) x[i] = gelu_new(x[i]);
  });
}

}  // namespace moss
