// Rotary position embedding of MOSS / GPT-J (spec 1.5): "rotate_every_two" on the first R dims of
// each head, pairs (2i, 2i+1) interleaved, pair i rotated by the angle p * inv_freq[i] for position p.
//   out[2i]   = x[2i]   * cos - x[2i+1] * sin
//   out[2i+1] = x[2i+1] * cos + x[2i]   * sin
// evaluated like the reference as (x * cos) + (rot(x) * sin), each product and sum rounded to fp32.
#pragma once
#include <cstdint>
#include <vector>

namespace moss {

// Spec 1.5: the two ways the reference code paths round inv_freq.
enum class RopeVariant {
  kFp32,  // variant A: float32(1 / float32(base ^ float32(2i / R)))
  kFp16,  // variant B: 2i/R, base^x and 1/that each rounded to fp16
};

// inv_freq[i], i = 0..R/2-1, computed exactly as the variant describes.
std::vector<float> rope_inv_freq(int64_t rotary_dim, float base, RopeVariant variant);

// sin and cos of theta[p, i] = float32(p) * inv_freq[i] (an fp32 multiply) for p = 0..n_pos-1,
// stored [n_pos][R/2] each, built once per model.
class RopeTable {
 public:
  RopeTable() = default;
  RopeTable(int64_t n_pos, int64_t rotary_dim, float base, RopeVariant variant);
  int64_t n_pos() const { return n_pos_; }
  int64_t rotary_dim() const { return 2 * half_; }
  const float* sin(int64_t p) const { return sin_.data() + p * half_; }
  const float* cos(int64_t p) const { return cos_.data() + p * half_; }
  const std::vector<float>& inv_freq() const { return inv_freq_; }

 private:
  int64_t n_pos_ = 0, half_ = 0;
  std::vector<float> inv_freq_, sin_, cos_;
};

// Rotates x[0..R) of one head in place with the R/2 sines and cosines of one position.
void apply_rotary(float* x, int64_t rotary_dim, const float* sin, const float* cos);

}  // namespace moss
