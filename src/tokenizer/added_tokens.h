// The added-token split of the transformers 4.25.1 slow tokenizer (spec 2.5): cut the text at
// every no-split token (leftmost, then longest), then strip the neighbours of the plain-string
// ones. Pieces come back either as a token id or as text for the pre-tokenizer and BPE.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace moss {

class AddedTokenSplitter {
 public:
  struct Piece {
    int32_t id;        // >= 0: a no-split token; -1: text in `text`
    std::string text;  // the text (for id >= 0, the token's text)
  };

  // tokens: (raw text, id) of the no-split tokens; strip_ids: those whose neighbours are stripped.
  void init(const std::vector<std::pair<std::string, int32_t>>& tokens, const std::unordered_set<int32_t>& strip_ids);

  // Non-empty pieces in order. `text` must be well-formed UTF-8.
  std::vector<Piece> split(std::string_view text) const;

 private:
  // Candidates per first byte, longest first, so the first hit at a position is the longest.
  std::vector<std::pair<std::string, int32_t>> by_first_[256];
  std::unordered_map<std::string, int32_t> ids_;
  std::unordered_set<int32_t> strip_;
};

}  // namespace moss
