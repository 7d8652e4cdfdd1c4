// GELU, tanh approximation ("gelu_new", transformers NewGELUActivation, spec 1.6):
//   g(x) = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
// computed in float32.
#pragma once
#include <cstdint>

namespace moss {

class ThreadPool;

// The formula for one value: the scalar reference.
float gelu_new(float x);

// In place over n values, split across the pool's threads.
void gelu_new(float* x, int64_t n, ThreadPool& pool);

}  // namespace moss
