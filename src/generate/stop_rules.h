// When generation ends (spec 4.2, 4.8): a stop token (kept in the output, like HF's eos), a stop
// string appearing in the generated text (like utils.StopWordsCriteria but on text), a number of
// new tokens, or a total sequence length (HF max_length counts prompt + generated).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moss {

enum class StopReason { None, StopToken, StopString, MaxNewTokens, MaxLength };
const char* stop_reason_name(StopReason r);

struct StopRules {
  std::vector<int32_t> stop_ids;
  std::vector<std::string> stop_strings;
  size_t max_new_tokens = 0;  // 0 = no limit
  size_t max_length = 0;      // total (prompt + generated); 0 = no limit

  // Called after each generated token: `token` the one just produced, `n_new` tokens generated so
  // far (including it), `total` the whole sequence length, `text` the generated text so far.
  StopReason check(int32_t token, size_t n_new, size_t total, std::string_view text) const;
};

}  // namespace moss
