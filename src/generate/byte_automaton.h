// A constraint on generated text expressed as an automaton over bytes. The token-level mask
// (token_constraint.h) asks it, for each candidate token, whether the token's bytes can be
// consumed from the current state; tokens that cannot are removed before sampling, so the model
// never emits (and the KV cache never holds) a rejected continuation.
#pragma once
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace moss {

class ByteAutomaton {
 public:
  // States are small values packed by the automaton itself (cheap to copy and compare).
  using State = uint64_t;

  // A "free run": from this state, any run of 1..max_len bytes that all belong to `bytes` is
  // accepted, and the state after it depends only on the run length (see after_run). Lets the token
  // mask accept most of a vocabulary with one length check instead of walking each token's bytes
  // (inside a quoted argument almost every token is legal).
  struct FreeRun {
    const std::bitset<256>* bytes = nullptr;  // nullptr: no free run from this state
    size_t max_len = 0;
  };

  virtual ~ByteAutomaton() = default;
  virtual State start() const = 0;
  virtual std::optional<State> step(State s, uint8_t byte) const = 0;  // nullopt = rejected
  virtual bool accepting(State s) const = 0;  // may the text end here?
  virtual FreeRun free_run(State) const { return {}; }
  // The one byte class that free_run() ever returns (nullptr if none): the token index sorts the
  // tokens made only of these bytes by length once, up front.
  virtual const std::bitset<256>* free_run_class() const { return nullptr; }

  // Consumes all bytes; nullopt if any is rejected.
  std::optional<State> step_all(State s, const char* data, size_t n) const {
    std::optional<State> cur = s;
    for (size_t i = 0; i < n && cur; ++i) cur = step(*cur, static_cast<uint8_t>(data[i]));
    return cur;
  }
};

}  // namespace moss
