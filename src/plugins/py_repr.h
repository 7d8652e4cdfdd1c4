// Python's repr() of a str, for search snippets: the SFT data renders each hit as the repr of the
// snippet text (spec 7.5), e.g. 'line one\nline two' or "it's". Also the small UTF-8 helpers the
// search code needs (decode with replacement, encode, cut by code points).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace moss {

// Decodes UTF-8 into code points. Each byte that does not start a valid, shortest-form sequence
// (stray continuation bytes, overlongs, surrogates, > U+10FFFF, truncated sequences) becomes one
// U+FFFD. (Python's errors="replace" may merge a truncated sequence into a single U+FFFD; we keep
// one per byte: simpler and never loses the count of bad bytes.)
std::u32string utf8_decode_lossy(std::string_view utf8);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(std::u32string_view cps);

// str.isprintable() of one code point, per the Unicode tables of the Python that generated
// py_repr_table.cpp (space is printable; categories Cc Cf Cs Co Cn Zl Zp Zs otherwise are not).
bool py_isprintable(char32_t cp);

// repr(s) for s = the UTF-8 text decoded as above: quotes with ' unless the text contains ' and no
// ", escapes the quote in use and backslash, \t \n \r, other controls and DEL as \xhh, and
// non-printable non-ASCII as \xhh / \uhhhh / \Uhhhhhhhh (lowercase hex), exactly like CPython.
std::string py_repr(std::string_view utf8);

// The repr of the longest prefix of the text whose repr, without its closing quote, has at most
// max_chars code points (so the opening quote counts, as in the data's ~300-character cuts). The
// result is always well formed (closing quote present); the cut never splits an escape or a code
// point. `cut` (optional) reports whether text was dropped. max_chars < 2 still yields "''".
std::string py_repr_truncated(std::string_view utf8, size_t max_chars, bool* cut = nullptr);

namespace detail {
struct CodeRange {
  char32_t first, last;
};
extern const CodeRange kPyNonPrintable[];
extern const size_t kPyNonPrintableCount;
}  // namespace detail

}  // namespace moss
