// LayerNorm over the last dimension (spec 1.6): y = (x - mean) / sqrt(var + eps) * w + b with the
// biased variance. Scalar code; mean and variance are accumulated in double (two passes, 8 partial
// sums each, in a fixed order), so the only float32 roundings are those of the final
// normalise-scale-shift per element.
#pragma once
#include <cstdint>

namespace moss {

// x, y: [n_rows, n] row-major (y may equal x); w, b: [n].
void layer_norm(const float* x, int64_t n_rows, int64_t n, const float* w, const float* b, float eps, float* y);

}  // namespace moss
