// argmax_first and row_max (see argmax.h): 16 independent lanes, each keeping its running maximum
// (and for argmax the index where that lane first reached it), so that the compiler keeps them in
// vector registers (GCC's vector extensions: written as scalar lanes, these loops stayed scalar); the
// lanes are combined at the end. Multi-versioned like the other row loops.
#include "kernels/argmax.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "util/error.h"
#include "util/multiversion.h"

namespace moss {

namespace {
constexpr size_t kLanes = 16;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
typedef float V16f __attribute__((vector_size(64)));
typedef int32_t V16i __attribute__((vector_size(64)));
}  // namespace

MOSS_MULTIVERSION float row_max(std::span<const float> v) {
  V16f vacc;
  for (size_t j = 0; j < kLanes; ++j) vacc[j] = kNegInf;
  const size_t n = v.size(), body = n - n % kLanes;
  for (size_t i = 0; i < body; i += kLanes) {
    V16f x;
    std::memcpy(&x, v.data() + i, sizeof x);
    vacc = x > vacc ? x : vacc;  // NaN never wins
  }
  float acc[kLanes];
  std::memcpy(acc, &vacc, sizeof acc);
  for (size_t i = body; i < n; ++i) acc[0] = v[i] > acc[0] ? v[i] : acc[0];
  return *std::max_element(acc, acc + kLanes);
}

// Lane j sees the elements j mod 16 in order and keeps the first index of its own maximum (a later
// equal value does not replace it); the answer is the smallest such index among the lanes holding the
// overall maximum.
MOSS_MULTIVERSION int32_t argmax_first(std::span<const float> v) {
  if (v.empty()) fail("argmax of an empty row");
  if (v.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) fail("argmax: row too long");
  V16f vacc;
  V16i vat, index;
  for (size_t j = 0; j < kLanes; ++j) vacc[j] = kNegInf, vat[j] = -1, index[j] = static_cast<int32_t>(j);
  const size_t n = v.size(), body = n - n % kLanes;
  for (size_t i = 0; i < body; i += kLanes) {
    V16f x;
    std::memcpy(&x, v.data() + i, sizeof x);
    const V16i larger = x > vacc;  // all ones where larger; NaN never is
    vacc = larger ? x : vacc;
    vat = larger ? index : vat;
    index += static_cast<int32_t>(kLanes);
  }
  float acc[kLanes];
  int32_t at[kLanes];
  std::memcpy(acc, &vacc, sizeof acc);
  std::memcpy(at, &vat, sizeof at);
  for (size_t i = body; i < n; ++i) {
    const size_t j = i - body;
    if (v[i] > acc[j]) acc[j] = v[i], at[j] = static_cast<int32_t>(i);
  }
  float best = kNegInf;
  int32_t best_at = -1;
  for (size_t j = 0; j < kLanes; ++j) {
    if (at[j] < 0) continue;  // nothing above -inf in this lane
    if (acc[j] > best || (acc[j] == best && at[j] < best_at)) best = acc[j], best_at = at[j];
  }
  if (best_at >= 0) return best_at;
  // Every value is -inf or NaN: the first -inf, as torch.argmax on a row of -inf, else 0.
  for (size_t i = 0; i < n; ++i)
    if (v[i] == kNegInf) return static_cast<int32_t>(i);
  return 0;
}

}  // namespace moss
