// The Commands-stage constraint (automaton + vocabulary index) shared by every conversation that
// uses the same vocabulary, plugin set and limits. Building it walks the whole vocabulary (~22 ms
// and tens of MB of tries for MOSS's 107k tokens), so a server that built one per conversation paid
// that time at each conversation's first Commands stage and that memory per cached conversation.
// Entries are immutable once built and safe to use from many threads at once (TokenConstraint's
// queries are const); the cache keeps at most a few plugin sets, least recently used first out.
#pragma once
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "generate/commands_automaton.h"
#include "generate/token_constraint.h"

namespace moss {

class ChatCodec;

// The automaton and the index over it, kept alive together (the index refers to the automaton).
struct CommandsConstraint {
  CommandsConstraint(const ChatCodec& codec, std::vector<std::string> api_names, CommandsLimits limits);
  CommandsAutomaton grammar;
  TokenConstraint mask;
};

class CommandsConstraintCache {
 public:
  // codec: the vocabulary every get() is for; it must outlive the cache.
  explicit CommandsConstraintCache(const ChatCodec& codec, size_t capacity = 8);
  // The constraint for these enabled API names (in the order given) and limits, built on first use.
  std::shared_ptr<const CommandsConstraint> get(const std::vector<std::string>& api_names, CommandsLimits limits);
  const ChatCodec& codec() const { return codec_; }
  size_t builds() const;  // how many entries were built (for tests)

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const CommandsConstraint> value;
  };
  const ChatCodec& codec_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> entries_;  // most recently used first
  size_t builds_ = 0;
};

}  // namespace moss
