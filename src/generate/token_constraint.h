// Applies a ByteAutomaton to a vocabulary: given the automaton state, which tokens may come next.
// Built once per (vocabulary, automaton) and reused for every step:
//   * special tokens (<eoh>, <eom>, ...) are never text: only the designated end token is allowed,
//     and only in an accepting state;
//   * tokens made only of one "free run" byte class are kept sorted by length, so inside a quoted
//     argument the allowed ones are a prefix of that list (one comparison per token);
//   * every other token sits in a byte trie walked depth-first with the automaton, pruning a subtree
//     at the first rejected byte.
// This pre-indexing keeps the per-token cost far below a decode step (measured by `moss commands`).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "generate/byte_automaton.h"

namespace moss {

class TokenConstraint {
 public:
  // token_bytes[id] = the bytes token `id` stands for; special[id] = true for special tokens (never
  // matched as text). end_token is the token that closes the constrained span (e.g. <eoc>).
  TokenConstraint(const ByteAutomaton& automaton, std::vector<std::string> token_bytes, std::vector<bool> special,
                  int32_t end_token);

  // Sets logits of every disallowed token to -inf. logits.size() may exceed the vocabulary (LM-head
  // padding rows): those are disallowed too. Returns the number of allowed tokens.
  size_t apply(ByteAutomaton::State state, std::span<float> logits) const;
  // allowed[id] = 1 if token id may come next. Exposed for tests.
  void allowed(ByteAutomaton::State state, std::vector<uint8_t>& allowed) const;
  // The state after emitting `token`; throws moss::Error if the token is not allowed.
  ByteAutomaton::State advance(ByteAutomaton::State state, int32_t token) const;
  bool is_end(int32_t token) const { return token == end_token_; }

 private:
  struct TrieNode {
    std::vector<std::pair<uint8_t, uint32_t>> children;  // byte -> node index, sorted by byte
    std::vector<int32_t> tokens;                          // tokens ending at this node
  };
  void insert(uint32_t trie_root, const std::string& bytes, int32_t id);
  void walk(uint32_t node, ByteAutomaton::State s, std::vector<uint8_t>& allowed) const;

  const ByteAutomaton& automaton_;
  std::vector<std::string> token_bytes_;
  std::vector<bool> special_;
  int32_t end_token_;
  std::vector<TrieNode> nodes_;   // node 0: trie of all text tokens; node 1: trie of non-free-run tokens
  std::vector<std::pair<uint32_t, int32_t>> free_run_tokens_;  // (length, id) sorted by length
  const std::bitset<256>* free_run_bytes_ = nullptr;
};

}  // namespace moss
