// CPython-compatible UTF-8 decoding (errors="replace"), whitespace and stripping; see utf8.h.
#include "util/utf8.h"

namespace moss::utf8 {
namespace {

// For a lead byte: the number of bytes of the character (0 = invalid lead byte) and the allowed
// range of the second byte (the other continuation bytes are always 0x80..0xBF). These are the
// checks CPython's decoder makes (Objects/stringlib/codecs.h), i.e. Unicode's Table 3-7.
struct Lead {
  int len;
  uint8_t lo, hi;
};

Lead lead_info(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};  // continuation byte or overlong 2-byte lead
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // no overlongs
  if (b == 0xED) return {3, 0x80, 0x9F};  // no surrogates
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // no overlongs
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // <= U+10FFFF
  return {0, 0, 0};
}

// Number of bytes starting at s[i] that form a valid (possibly incomplete) prefix of one
// character; `complete` tells whether the whole character is there.
size_t valid_prefix(std::string_view s, size_t i, bool& complete) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  const Lead L = lead_info(b0);
  complete = false;
  if (L.len == 0) return 0;
  if (L.len == 1) {
    complete = true;
    return 1;
  }
  size_t n = 1;
  while (n < static_cast<size_t>(L.len) && i + n < s.size()) {
    const auto b = static_cast<uint8_t>(s[i + n]);
    const uint8_t lo = n == 1 ? L.lo : 0x80, hi = n == 1 ? L.hi : 0xBF;
    if (b < lo || b > hi) return n;
    ++n;
  }
  complete = n == static_cast<size_t>(L.len);
  return n;
}

}  // namespace

std::string decode_replace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    bool complete = false;
    const size_t n = valid_prefix(s, i, complete);
    if (complete) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";  // one U+FFFD per maximal invalid subpart
      i += n ? n : 1;
    }
  }
  return out;
}

bool is_valid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    bool complete = false;
    const size_t n = valid_prefix(s, i, complete);
    if (!complete) return false;
    i += n;
  }
  return true;
}

size_t incomplete_tail(std::string_view s) {
  for (size_t k = 1; k <= 3 && k <= s.size(); ++k) {
    const size_t p = s.size() - k;
    const Lead L = lead_info(static_cast<uint8_t>(s[p]));
    if (L.len == 0 || L.len == 1) {
      if (L.len == 1) return 0;
      continue;  // a continuation byte: the lead may be further left
    }
    bool complete = false;
    const size_t n = valid_prefix(s, p, complete);
    return (!complete && n == k) ? k : 0;
  }
  return 0;
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint32_t next(std::string_view s, size_t& i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const int len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  uint32_t cp = b0 & (0x7F >> len);
  for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

bool py_isspace(uint32_t c) {
  // CPython's _PyUnicode_IsWhitespace (bidirectional types WS, B, S or category Zs).
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string_view py_lstrip(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!py_isspace(next(s, j))) break;
    i = j;
  }
  return s.substr(i);
}

std::string_view py_rstrip(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
    size_t j = start;
    if (!py_isspace(next(s, j))) break;
    end = start;
  }
  return s.substr(0, end);
}

std::u32string to_code_points(std::string_view bytes) {
  const std::string valid = is_valid(bytes) ? std::string(bytes) : decode_replace(bytes);
  std::u32string out;
  out.reserve(valid.size());
  for (size_t i = 0; i < valid.size();) out.push_back(next(valid, i));
  return out;
}

std::string from_code_points(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append(out, c);
  return out;
}

}  // namespace moss::utf8
