// The GPT-2 pre-tokenizer (spec 2.3): Python `regex` findall with
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// run through PCRE2 (UTF + UCP, JIT when available).
//
// \s choice (spec 9 item 11): the regex module's \s matches exactly the Unicode White_Space
// property (checked against regex: U+0009-000D, 0020, 0085, 00A0, 1680, 2000-200A, 2028, 2029,
// 202F, 205F, 3000). PCRE2's UCP \s adds U+180E (through \h) and str.isspace() adds U+001C-001F,
// so the pattern spells that White_Space set out as an explicit class instead of using \s.
// \p{L} / \p{N} come from PCRE2's Unicode tables (Unicode 14 for PCRE2 10.42); the regex
// release pinned by MOSS (2022.10.31) uses Unicode 15, so the few letters/digits first assigned in
// Unicode 15 (e.g. CJK Extension H, Kawi, Nag Mundari) may split differently.
#pragma once
#include <string_view>
#include <vector>

namespace moss {

class PreTokenizer {
 public:
  PreTokenizer();
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Splits well-formed UTF-8 `text` into pre-tokens (views into `text`), appended to `out`.
  // Safe to call from several threads at once.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

}  // namespace moss
