// Text handling for the search plugin: HTML to text, splitting documents into passages for the
// local index, classifying code points (CJK vs word vs separator) for query parsing, and removing
// MOSS protocol markers from untrusted snippet text.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace moss {

// Strips tags, drops <script>/<style>/<title> content and comments, turns block elements into
// paragraph breaks and decodes the common entities (&amp; &lt; &gt; &quot; &apos; &#39; &nbsp;
// &#N; &#xH;). `title` (optional) receives the <title> text, whitespace-collapsed.
std::string html_to_text(std::string_view html, std::string* title = nullptr);

// Splits text into passages of at most max_chars code points (max_chars >= 16): paragraphs are
// separated by blank lines; whitespace inside a paragraph collapses to one space; consecutive short
// paragraphs are merged (joined by "\n") while they fit; a long paragraph is cut after the last
// sentence end (. ! ? 。 ！ ？ ；) in the window, else at the last space, else hard at max_chars.
// Invalid UTF-8 becomes U+FFFD.
std::vector<std::string> split_passages(std::string_view text, size_t max_chars);

// Removes what the chat loop would read as protocol structure if it appeared in a result: the end
// markers <eoh> <eot> <eoc> <eor> <eom>, <|endoftext|>, and every "<|...|>" tag such as <|MOSS|>,
// <|Human|> or a fake citation anchor <|3|>. Each removed marker becomes one space; repeated
// until none is left (removals cannot assemble a new marker).
std::string neutralize_markers(std::string_view text);

// Code point classes used to split queries: CJK ideographs, kana, hangul (searched as substrings)
// vs other letters/digits (words) vs everything else (separators).
bool is_cjk(char32_t cp);
bool is_word_char(char32_t cp);

}  // namespace moss
