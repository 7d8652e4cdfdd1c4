// Python's repr() of a str, for search snippets: the SFT data renders each hit as the repr of the
// snippet text (spec 7.5), e.g. 'line one\nline two' or "it's". UTF-8 decoding is util/utf8.h's
// (CPython's errors="replace").
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace moss {

// str.isprintable() of one code point, per the Unicode tables of the Python that generated
// py_repr_table.cpp (space is printable; categories Cc Cf Cs Co Cn Zl Zp Zs otherwise are not).
bool py_isprintable(char32_t cp);

// repr(s) for s = the UTF-8 text decoded with errors="replace": quotes with ' unless the text contains ' and no
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
