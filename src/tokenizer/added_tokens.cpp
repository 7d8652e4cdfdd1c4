// Added-token splitting and neighbour stripping; see added_tokens.h.
#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "util/utf8.h"

namespace moss {

void AddedTokenSplitter::init(const std::vector<std::pair<std::string, int32_t>>& tokens,
                              const std::unordered_set<int32_t>& strip_ids) {
  for (auto& v : by_first_) v.clear();
  ids_.clear();
  strip_ = strip_ids;
  for (const auto& [text, id] : tokens) {
    if (text.empty()) continue;
    by_first_[static_cast<uint8_t>(text[0])].emplace_back(text, id);
    ids_.emplace(text, id);
  }
  for (auto& v : by_first_)
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

std::vector<AddedTokenSplitter::Piece> AddedTokenSplitter::split(std::string_view text) const {
  // 1. Cut at no-split tokens. The reference's Trie.split is leftmost-then-longest for this token
  //    set (the tokens are either runs of one repeated character or distinct <...> markers; a run
  //    of 40 spaces gives 31 + 9). Matching bytes is matching characters: a token begins with an
  //    ASCII or lead byte, which never occurs inside another character's encoding.
  std::vector<std::string> pieces;
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const auto& cands = by_first_[static_cast<uint8_t>(text[i])];
    const std::string* hit = nullptr;
    for (const auto& c : cands) {
      if (text.compare(i, c.first.size(), c.first) == 0) {
        hit = &c.first;
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    if (i > start) pieces.emplace_back(text.substr(start, i - start));
    pieces.push_back(*hit);
    i += hit->size();
    start = i;
  }
  if (start < text.size()) pieces.emplace_back(text.substr(start));

  // 2. PreTrainedTokenizer.tokenize, literally: walk the list; a piece that *currently* equals a
  //    no-split token whose neighbours are stripped right-strips the piece before it and
  //    left-strips the piece after it (str.rstrip / str.lstrip: all Unicode whitespace incl.
  //    "\n"), in place. A neighbour that is itself a whitespace-run token becomes "" and, being
  //    "" when its own turn comes, strips nothing. Tokens not in the strip set (the <eoh>-style
  //    AddedToken objects with lstrip = rstrip = false) strip nothing.
  for (size_t k = 0; k < pieces.size(); ++k) {
    auto it = ids_.find(pieces[k]);
    if (it == ids_.end() || !strip_.count(it->second)) continue;
    if (k + 1 < pieces.size() && !pieces[k + 1].empty()) pieces[k + 1] = std::string(utf8::py_lstrip(pieces[k + 1]));
    if (k > 0 && !pieces[k - 1].empty()) pieces[k - 1] = std::string(utf8::py_rstrip(pieces[k - 1]));
  }

  // 3. Drop empty pieces; classify the rest (again by the current text, as the reference does).
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (auto& p : pieces) {
    if (p.empty()) continue;
    auto it = ids_.find(p);
    out.push_back(Piece{it == ids_.end() ? -1 : it->second, std::move(p)});
  }
  return out;
}

}  // namespace moss
