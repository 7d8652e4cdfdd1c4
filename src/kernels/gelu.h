// GELU, tanh approximation ("gelu_new", transformers NewGELUActivation, spec 1.6):
//   g(x) = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
// computed in float32.
#pragma once
#include <cstdint>

namespace moss {

// The formula for one value: the scalar reference.
float gelu_new(float x);

// In place over x[begin, end), on the calling thread. Every value gets the scalar formula's bits
// however the range is cut (the 8-wide path computes it lane by lane), so pieces may be done apart.
void gelu_new_range(float* x, int64_t begin, int64_t end);

}  // namespace moss
