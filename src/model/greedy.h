// Greedy decoding through the KV cache: the minimal generation loop used by `moss generate
// --temp 0` and the model tests (samplers live in src/generate/).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace moss {

class Model;
class KvCache;

// Feeds `prompt` after what `cache` already holds, then picks argmax tokens one at a time, feeding
// each back through the cache. The argmax takes the first index on ties, like torch.argmax. Returns up to n_new ids: it
// stops after emitting stop_id (when stop_id >= 0, the id is included, as HF generate does) or when the cache is full.
std::vector<int32_t> generate_greedy(Model& model, KvCache& cache, std::span<const int32_t> prompt, int64_t n_new,
                                     int32_t stop_id = -1);

}  // namespace moss
