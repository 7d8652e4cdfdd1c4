// The largest logit and its index, for picking a token: one pass in vector registers over a row of
// the vocabulary's size (107k for MOSS), where std::max_element's single compare chain took ~67 us
// per decoded token (~0.8% of a 1.24B q4_0 token at the host's peak).
#pragma once
#include <cstdint>
#include <span>

namespace moss {

// The first index of the largest value (torch.argmax's choice on ties). NaN never counts as larger;
// a row with nothing but NaN gives 0. Throws moss::Error for an empty row.
int32_t argmax_first(std::span<const float> v);

// The largest value, NaN ignored (-inf when there is nothing else).
float row_max(std::span<const float> v);

}  // namespace moss
