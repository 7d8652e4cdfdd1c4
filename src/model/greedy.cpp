// Greedy decoding (see greedy.h).
#include "model/greedy.h"

#include "kernels/argmax.h"
#include "model/model.h"
#include "util/error.h"

namespace moss {

std::vector<int32_t> generate_greedy(Model& model, KvCache& cache, std::span<const int32_t> prompt, int64_t n_new,
                                     int32_t stop_id) {
  std::vector<int32_t> out;
  if (n_new <= 0) return out;
  std::vector<float> logits = model.forward(cache, prompt, false);
  for (;;) {
    const int32_t next = argmax_first(logits);
    out.push_back(next);
    if (next == stop_id || static_cast<int64_t>(out.size()) >= n_new || cache.size() >= cache.capacity()) break;
    logits = model.forward(cache, std::span<const int32_t>(&out.back(), 1), false);
  }
  return out;
}

}  // namespace moss
