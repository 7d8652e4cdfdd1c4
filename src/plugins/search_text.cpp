// Text handling for the search plugin (see search_text.h).
#include "plugins/search_text.h"
#include "util/utf8.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "plugins/py_repr.h"

namespace moss {
namespace {

bool ieq_prefix(std::string_view s, size_t pos, std::string_view word) {
  if (pos + word.size() > s.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[pos + i])) != word[i]) return false;
  }
  return true;
}

// Position just after the closing tag </name ...> at or after pos (case-insensitive), or npos.
size_t skip_past_close(std::string_view s, size_t pos, std::string_view name) {
  while (true) {
    pos = s.find("</", pos);
    if (pos == std::string_view::npos) return pos;
    if (ieq_prefix(s, pos + 2, name)) {
      const size_t gt = s.find('>', pos);
      return gt == std::string_view::npos ? gt : gt + 1;
    }
    pos += 2;
  }
}

void decode_entity(std::string_view s, size_t& i, std::string& out) {
  // s[i] == '&'; entities longer than 10 characters are not recognised (taken literally).
  const size_t semi = s.find(';', i);
  if (semi == std::string_view::npos || semi - i > 10) {
    out += '&';
    ++i;
    return;
  }
  const std::string_view name = s.substr(i + 1, semi - i - 1);
  char32_t cp = 0;
  if (name == "amp") cp = '&';
  else if (name == "lt") cp = '<';
  else if (name == "gt") cp = '>';
  else if (name == "quot") cp = '"';
  else if (name == "apos") cp = '\'';
  else if (name == "nbsp") cp = ' ';
  else if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string digits(name.substr(hex ? 2 : 1));
    char* end = nullptr;
    const unsigned long v = digits.empty() ? 0 : std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
    if (!digits.empty() && end && *end == 0) {
      cp = (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) ? 0xFFFD : char32_t(v);
    }
  }
  if (cp == 0) {
    out += '&';
    ++i;
    return;
  }
  utf8::append(out, cp);
  i = semi + 1;
}

bool is_space(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0xA0 ||
         c == 0x3000 || (c >= 0x2000 && c <= 0x200B);
}

bool is_sentence_end(char32_t c) {
  return c == '.' || c == '!' || c == '?' || c == 0x3002 || c == 0xFF01 || c == 0xFF1F ||
         c == 0xFF1B || c == ';';
}

}  // namespace

std::string html_to_text(std::string_view s, std::string* title) {
  static const std::string_view kBlock[] = {"p", "div", "br", "li", "ul", "ol", "tr", "table",
                                            "h1", "h2", "h3", "h4", "h5", "h6", "section",
                                            "article", "blockquote", "pre", "hr", "dt", "dd"};
  std::string out;
  std::string title_text;
  for (size_t t = s.find('<'); t != std::string_view::npos; t = s.find('<', t + 1)) {
    if (ieq_prefix(s, t + 1, "title") && t + 6 < s.size() && (s[t + 6] == '>' || s[t + 6] == ' ')) {
      const size_t open_end = s.find('>', t);
      const size_t close = open_end == std::string_view::npos ? open_end
                                                               : skip_past_close(s, open_end, "title");
      if (close != std::string_view::npos) {
        const size_t lt = s.rfind("</", close);
        title_text = html_to_text(s.substr(open_end + 1, lt - open_end - 1));
      }
      break;
    }
  }
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '&') {
      decode_entity(s, i, out);
      continue;
    }
    if (c != '<') {
      out += c;
      ++i;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t end = s.find("-->", i + 4);
      i = end == std::string_view::npos ? s.size() : end + 3;
      continue;
    }
    const size_t gt = s.find('>', i);
    if (gt == std::string_view::npos) break;  // an unterminated tag ends the text
    size_t n = i + 1;
    const bool closing = n < s.size() && s[n] == '/';
    if (closing) ++n;
    size_t e = n;
    while (e < gt && std::isalnum(static_cast<unsigned char>(s[e]))) ++e;
    std::string name(s.substr(n, e - n));
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    i = gt + 1;
    if (!closing && (name == "script" || name == "style" || name == "title")) {
      const size_t after = skip_past_close(s, i, name);
      i = after == std::string_view::npos ? s.size() : after;
      continue;
    }
    if (std::find(std::begin(kBlock), std::end(kBlock), name) != std::end(kBlock)) out += "\n\n";
  }
  if (title) {
    std::string t;
    for (char32_t cp : utf8::to_code_points(title_text)) {
      if (is_space(cp)) {
        if (!t.empty() && t.back() != ' ') t += ' ';
      } else {
        utf8::append(t, cp);
      }
    }
    while (!t.empty() && t.back() == ' ') t.pop_back();
    *title = t;
  }
  return out;
}

std::vector<std::string> split_passages(std::string_view text, size_t max_chars) {
  max_chars = std::max<size_t>(max_chars, 16);
  const std::u32string cps = utf8::to_code_points(text);
  // 1. Paragraphs: blank-line separated, inner whitespace collapsed.
  std::vector<std::u32string> paras;
  std::u32string cur;
  int newlines = 0;
  for (char32_t c : cps) {
    if (is_space(c) || c == 0xFEFF) {
      if (c == '\n') ++newlines;
      if (!cur.empty() && cur.back() != ' ') cur += U' ';
      if (newlines >= 2 && !cur.empty()) {
        while (!cur.empty() && cur.back() == ' ') cur.pop_back();
        if (!cur.empty()) paras.push_back(std::move(cur));
        cur.clear();
      }
      continue;
    }
    newlines = 0;
    if (c < 0x20 || c == 0x7F) continue;  // stray controls carry no meaning in a passage
    cur += c;
  }
  while (!cur.empty() && cur.back() == ' ') cur.pop_back();
  if (!cur.empty()) paras.push_back(std::move(cur));

  // 2. Pieces of at most max_chars: long paragraphs cut at sentence ends or spaces.
  std::vector<std::u32string> pieces;
  for (std::u32string& p : paras) {
    size_t start = 0;
    while (p.size() - start > max_chars) {
      size_t cut = 0;
      for (size_t k = start + max_chars; k > start + max_chars / 3; --k) {
        if (is_sentence_end(p[k - 1]) && (k == p.size() || p[k] == ' ' || p[k - 1] >= 0x3000)) {
          cut = k;
          break;
        }
      }
      if (cut == 0) {
        for (size_t k = start + max_chars; k > start + max_chars / 3; --k) {
          if (p[k] == ' ') {
            cut = k;
            break;
          }
        }
      }
      if (cut == 0) cut = start + max_chars;
      std::u32string piece = p.substr(start, cut - start);
      while (!piece.empty() && piece.back() == ' ') piece.pop_back();
      if (!piece.empty()) pieces.push_back(std::move(piece));
      start = cut;
      while (start < p.size() && p[start] == ' ') ++start;
    }
    if (start < p.size()) pieces.push_back(p.substr(start));
  }

  // 3. Merge consecutive short pieces.
  std::vector<std::string> out;
  std::u32string acc;
  for (std::u32string& piece : pieces) {
    if (!acc.empty() && acc.size() + 1 + piece.size() <= max_chars) {
      acc += U'\n';
      acc += piece;
    } else {
      if (!acc.empty()) out.push_back(utf8::from_code_points(acc));
      acc = std::move(piece);
    }
  }
  if (!acc.empty()) out.push_back(utf8::from_code_points(acc));
  return out;
}

namespace {
std::string neutralize_once(std::string_view s) {
  static const std::string_view kMarkers[] = {"<eoh>", "<eot>", "<eoc>", "<eor>", "<eom>"};
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '<') {
      bool hit = false;
      for (std::string_view m : kMarkers) {
        if (s.compare(i, m.size(), m) == 0) {
          out += ' ';
          i += m.size();
          hit = true;
          break;
        }
      }
      if (hit) continue;
      if (i + 1 < s.size() && s[i + 1] == '|') {
        // "<|...|>" with at most 40 bytes inside and no '<' or '>' or newline in between.
        size_t k = i + 2;
        while (k + 1 < s.size() && k - i < 44 && s[k] != '<' && s[k] != '>' && s[k] != '\n' &&
               !(s[k] == '|' && s[k + 1] == '>')) {
          ++k;
        }
        if (k + 1 < s.size() && s[k] == '|' && s[k + 1] == '>') {
          out += ' ';
          i = k + 2;
          continue;
        }
      }
    }
    out += s[i++];
  }
  return out;
}
}  // namespace

std::string neutralize_markers(std::string_view s) {
  // Repeat until nothing changes: removing "<|x|>" from "<|<|x|>|>" leaves a new "<| |>". Each
  // pass that changes something makes the text shorter, so this ends.
  std::string cur = neutralize_once(s);
  while (true) {
    std::string next = neutralize_once(cur);
    if (next == cur) return cur;
    cur = std::move(next);
  }
}

bool is_cjk(char32_t c) {
  return (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3040 && c <= 0x30FF) ||
         (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x3134F);
}

bool is_word_char(char32_t c) {
  if (c < 0x80) return std::isalnum(static_cast<int>(c)) != 0;
  if (c < 0xC0 || c == 0xD7 || c == 0xF7) return false;         // Latin-1 punctuation, × ÷
  if (c >= 0x2000 && c <= 0x2BFF) return false;                  // punctuation, symbols, arrows
  if (c >= 0x3000 && c <= 0x303F) return false;                  // CJK punctuation
  if (c >= 0xFE30 && c <= 0xFE4F) return false;                  // CJK compatibility forms
  if (c >= 0xFF00 && c <= 0xFF0F) return false;                  // fullwidth punctuation
  if ((c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65)) {
    return false;
  }
  return py_isprintable(c);
}

}  // namespace moss
