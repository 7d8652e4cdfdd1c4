// UTF-8 helpers with CPython's exact semantics, for code that must match Python string handling
// byte for byte (the tokenizer, Python repr of search snippets, streamed text): decoding with
// errors="replace", str.isspace(), code points, and the detection of an incomplete trailing
// character (for streaming).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace moss::utf8 {

// bytes.decode("utf-8", errors="replace") re-encoded as UTF-8: every maximal invalid subpart
// (an invalid byte, or the longest valid prefix of a character that is cut short or broken)
// becomes one U+FFFD, exactly as CPython's decoder reports its error ranges. Surrogates
// (ED A0..BF xx) and overlongs are invalid, as in CPython.
std::string decode_replace(std::string_view bytes);

// True when `bytes` is well-formed UTF-8 (decode_replace would return it unchanged).
bool is_valid(std::string_view bytes);

// Length of the suffix of `bytes` that is a valid but incomplete character (0..3): the bytes a
// streaming decoder must hold back until the next token arrives.
size_t incomplete_tail(std::string_view bytes);

// Appends the UTF-8 encoding of code point cp (< 0x110000) to out.
void append(std::string& out, uint32_t cp);

// Decodes the code point starting at s[i] of well-formed UTF-8 and advances i.
uint32_t next(std::string_view s, size_t& i);

// The code points of bytes.decode("utf-8", errors="replace"), and back.
std::u32string to_code_points(std::string_view bytes);
std::string from_code_points(std::u32string_view cps);

// Python's str.isspace() for one code point (Py_UNICODE_ISSPACE): the characters str.strip()
// removes. Note this includes U+001C..U+001F, unlike the regex module's \s.
bool py_isspace(uint32_t cp);

// Python str.lstrip() / str.rstrip() with no argument, on well-formed UTF-8.
std::string_view py_lstrip(std::string_view s);
std::string_view py_rstrip(std::string_view s);

}  // namespace moss::utf8
