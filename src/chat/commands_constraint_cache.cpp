// See commands_constraint_cache.h.
#include "chat/commands_constraint_cache.h"

#include "chat/codec.h"
#include "util/error.h"

namespace moss {

namespace {
TokenConstraint make_mask(const ChatCodec& codec, const ByteAutomaton& grammar) {
  const int32_t n = codec.n_tokens();
  std::vector<std::string> bytes(static_cast<size_t>(n));
  std::vector<bool> special(static_cast<size_t>(n));
  for (int32_t id = 0; id < n; ++id) {
    special[static_cast<size_t>(id)] = codec.is_special(id);
    if (!special[static_cast<size_t>(id)]) bytes[static_cast<size_t>(id)] = codec.token_bytes(id);
  }
  return TokenConstraint(grammar, std::move(bytes), std::move(special), codec.marker(Marker::Eoc));
}
}  // namespace

CommandsConstraint::CommandsConstraint(const ChatCodec& codec, std::vector<std::string> api_names,
                                       CommandsLimits limits)
    : grammar(std::move(api_names), limits), mask(make_mask(codec, grammar)) {}

CommandsConstraintCache::CommandsConstraintCache(const ChatCodec& codec, size_t capacity)
    : codec_(codec), capacity_(capacity == 0 ? 1 : capacity) {}

std::shared_ptr<const CommandsConstraint> CommandsConstraintCache::get(const std::vector<std::string>& api_names,
                                                                       CommandsLimits limits) {
  std::string key = std::to_string(limits.max_calls) + "/" + std::to_string(limits.max_arg_bytes);
  for (const auto& n : api_names) key += "/" + n;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->key == key) {
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().value;
    }
  // Built under the lock: two conversations asking for the same new set build it once.
  auto value = std::make_shared<const CommandsConstraint>(codec_, api_names, limits);
  ++builds_;
  entries_.push_front({std::move(key), value});
  if (entries_.size() > capacity_) entries_.pop_back();  // users of it keep their shared_ptr
  return value;
}

size_t CommandsConstraintCache::builds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return builds_;
}

}  // namespace moss
