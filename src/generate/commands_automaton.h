// The grammar of a MOSS Commands stage, as a byte automaton (issue: plugin control). It accepts
// exactly the text between "<|Commands|>:" and "<eoc>":
//
//   " None"  |  " " call (", " call)*        call = Name "(\"" arg "\")"
//
// where Name is one of the ENABLED plugins' API names (Search, Calculate, Solve, Text2Image), arg is
// 1..max_arg_bytes bytes none of which is '"', '\\' or a control character (no escaping occurs in
// the SFT data), and there are at most max_calls calls. Bytes >= 0x80 are allowed in arguments
// (queries are often Chinese); UTF-8 validity across tokens is not enforced.
#pragma once
#include <bitset>
#include <string>
#include <vector>

#include "generate/byte_automaton.h"

namespace moss {

struct CommandsLimits {
  int max_calls = 8;
  int max_arg_bytes = 256;
};

class CommandsAutomaton final : public ByteAutomaton {
 public:
  // api_names: the enabled plugins' API names (at most 8, each at most 31 bytes).
  CommandsAutomaton(std::vector<std::string> api_names, CommandsLimits limits = {});

  State start() const override;
  std::optional<State> step(State s, uint8_t byte) const override;
  bool accepting(State s) const override;
  FreeRun free_run(State s) const override;
  const std::bitset<256>* free_run_class() const override { return &arg_bytes_; }

  // Whether the whole text (e.g. " Search(\"x\")") is accepted.
  bool accepts(const std::string& text) const;

 private:
  std::vector<std::string> names_;
  CommandsLimits limits_;
  std::bitset<256> arg_bytes_;
};

}  // namespace moss
