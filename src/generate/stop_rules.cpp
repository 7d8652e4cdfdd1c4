// See stop_rules.h.
#include "generate/stop_rules.h"

#include <algorithm>

namespace moss {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::None: return "none";
    case StopReason::StopToken: return "stop_token";
    case StopReason::StopString: return "stop_string";
    case StopReason::MaxNewTokens: return "max_new_tokens";
    case StopReason::MaxLength: return "max_length";
  }
  return "?";
}

StopReason StopRules::check(int32_t token, size_t n_new, size_t total, std::string_view text) const {
  if (std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) return StopReason::StopToken;
  for (const std::string& s : stop_strings)
    if (!s.empty() && text.find(s) != std::string_view::npos) return StopReason::StopString;
  if (max_new_tokens > 0 && n_new >= max_new_tokens) return StopReason::MaxNewTokens;
  if (max_length > 0 && total >= max_length) return StopReason::MaxLength;
  return StopReason::None;
}

}  // namespace moss
