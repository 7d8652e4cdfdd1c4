// TokenConstraint: vocabulary pre-indexing and the per-step mask.
#include "generate/token_constraint.h"

#include <algorithm>
#include <limits>

#include "util/error.h"

namespace moss {

TokenConstraint::TokenConstraint(const ByteAutomaton& automaton, std::vector<std::string> token_bytes,
                                 std::vector<bool> special, int32_t end_token)
    : automaton_(automaton), token_bytes_(std::move(token_bytes)), special_(std::move(special)), end_token_(end_token) {
  if (special_.size() != token_bytes_.size()) fail("token constraint: special flags do not match the vocabulary");
  if (end_token_ < 0 || static_cast<size_t>(end_token_) >= token_bytes_.size())
    fail("token constraint: end token ", end_token_, " is outside the vocabulary");
  nodes_.resize(2);
  free_run_bytes_ = automaton_.free_run_class();
  for (size_t id = 0; id < token_bytes_.size(); ++id) {
    const std::string& b = token_bytes_[id];
    if (special_[id] || b.empty()) continue;
    insert(0, b, static_cast<int32_t>(id));
    const bool all_free = free_run_bytes_ && std::all_of(b.begin(), b.end(), [&](char c) {
                            return free_run_bytes_->test(static_cast<uint8_t>(c));
                          });
    if (all_free)
      free_run_tokens_.emplace_back(static_cast<uint32_t>(b.size()), static_cast<int32_t>(id));
    else
      insert(1, b, static_cast<int32_t>(id));
  }
  std::sort(free_run_tokens_.begin(), free_run_tokens_.end());
}

void TokenConstraint::insert(uint32_t root, const std::string& bytes, int32_t id) {
  uint32_t node = root;
  for (char ch : bytes) {
    const uint8_t c = static_cast<uint8_t>(ch);
    auto& kids = nodes_[node].children;
    auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(c, uint32_t{0}));
    if (it != kids.end() && it->first == c) {
      node = it->second;
    } else {
      const uint32_t fresh = static_cast<uint32_t>(nodes_.size());
      kids.insert(it, {c, fresh});
      nodes_.emplace_back();  // invalidates `kids`; not used afterwards
      node = fresh;
    }
  }
  nodes_[node].tokens.push_back(id);
}

void TokenConstraint::walk(uint32_t node, ByteAutomaton::State s, std::vector<uint8_t>& allowed) const {
  for (int32_t id : nodes_[node].tokens) allowed[static_cast<size_t>(id)] = 1;
  for (const auto& [byte, child] : nodes_[node].children) {
    auto next = automaton_.step(s, byte);
    if (next) walk(child, *next, allowed);
  }
}

void TokenConstraint::allowed(ByteAutomaton::State state, std::vector<uint8_t>& allowed) const {
  allowed.assign(token_bytes_.size(), 0);
  const auto run = automaton_.free_run(state);
  if (run.bytes && run.bytes == free_run_bytes_) {
    for (const auto& [len, id] : free_run_tokens_) {
      if (len > run.max_len) break;
      allowed[static_cast<size_t>(id)] = 1;
    }
    walk(1, state, allowed);
  } else {
    walk(0, state, allowed);
  }
  if (automaton_.accepting(state)) allowed[static_cast<size_t>(end_token_)] = 1;
}

size_t TokenConstraint::apply(ByteAutomaton::State state, std::span<float> logits) const {
  thread_local std::vector<uint8_t> ok;
  allowed(state, ok);
  size_t n = 0;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < logits.size(); ++i) {
    if (i < ok.size() && ok[i]) {
      ++n;
    } else {
      logits[i] = neg_inf;
    }
  }
  return n;
}

ByteAutomaton::State TokenConstraint::advance(ByteAutomaton::State state, int32_t token) const {
  if (token < 0 || static_cast<size_t>(token) >= token_bytes_.size()) fail("token ", token, " is outside the vocabulary");
  if (token == end_token_) {
    if (!automaton_.accepting(state)) fail("end token in a non-accepting state");
    return state;
  }
  if (special_[static_cast<size_t>(token)]) fail("special token ", token, " is not allowed in a constrained span");
  const std::string& b = token_bytes_[static_cast<size_t>(token)];
  auto next = automaton_.step_all(state, b.data(), b.size());
  if (!next) fail("token ", token, " is not allowed here");
  return *next;
}

}  // namespace moss
