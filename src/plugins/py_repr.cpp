// Python str repr and UTF-8 helpers (see py_repr.h). The printable table is generated from
// CPython by tests/fixtures/plugins/search_repr/gen_printable_table.py.
#include "plugins/py_repr.h"

#include "util/utf8.h"

#include <algorithm>

namespace moss {


bool py_isprintable(char32_t cp) {
  if (cp < 0x80) return cp >= 0x20 && cp != 0x7F;
  const detail::CodeRange* begin = detail::kPyNonPrintable;
  const detail::CodeRange* end = begin + detail::kPyNonPrintableCount;
  // First range whose last >= cp; cp is non-printable iff that range starts at or before it.
  auto it = std::lower_bound(begin, end, cp,
                             [](const detail::CodeRange& r, char32_t c) { return r.last < c; });
  return !(it != end && it->first <= cp);
}

namespace {

// Appends the escaped form of one code point (CPython unicode_repr) and returns how many code
// points (= bytes, all ASCII, or 1 for a printable non-ASCII char) it added to the repr.
size_t append_repr_char(std::string& out, char32_t c, char quote) {
  static const char* hex = "0123456789abcdef";
  if (c == static_cast<char32_t>(quote) || c == '\\') {
    out += '\\';
    out += static_cast<char>(c);
    return 2;
  }
  if (c == '\t') return out += "\\t", 2;
  if (c == '\n') return out += "\\n", 2;
  if (c == '\r') return out += "\\r", 2;
  if (c < 0x20 || c == 0x7F) {
    out += "\\x";
    out += hex[(c >> 4) & 0xF];
    out += hex[c & 0xF];
    return 4;
  }
  if (c < 0x7F || py_isprintable(c)) {
    utf8::append(out, c);
    return 1;
  }
  int digits;
  if (c <= 0xFF) {
    out += "\\x", digits = 2;
  } else if (c <= 0xFFFF) {
    out += "\\u", digits = 4;
  } else {
    out += "\\U", digits = 8;
  }
  for (int k = digits - 1; k >= 0; --k) out += hex[(c >> (4 * k)) & 0xF];
  return 2 + static_cast<size_t>(digits);
}

char choose_quote(std::u32string_view cps) {
  bool single = false, dbl = false;
  for (char32_t c : cps) {
    single |= c == '\'';
    dbl |= c == '"';
  }
  return (single && !dbl) ? '"' : '\'';
}

}  // namespace

std::string py_repr(std::string_view utf8) {
  const std::u32string cps = utf8::to_code_points(utf8);
  const char quote = choose_quote(cps);
  std::string out(1, quote);
  for (char32_t c : cps) append_repr_char(out, c, quote);
  out += quote;
  return out;
}

std::string py_repr_truncated(std::string_view utf8, size_t max_chars, bool* cut) {
  const std::u32string cps = utf8::to_code_points(utf8);
  // Length (in code points, without the closing quote) of the repr of the first k code points.
  // It never decreases as k grows, so binary search finds the longest prefix that fits.
  auto open_len = [&](size_t k) {
    std::u32string_view prefix(cps.data(), k);
    const char quote = choose_quote(prefix);
    std::string scratch;
    size_t len = 1;
    for (char32_t c : prefix) len += append_repr_char(scratch, c, quote);
    return len;
  };
  size_t keep = cps.size();
  if (open_len(keep) > max_chars) {
    size_t lo = 0, hi = cps.size();  // open_len(lo) fits (or lo == 0); open_len(hi) does not
    while (hi - lo > 1) {
      const size_t mid = lo + (hi - lo) / 2;
      if (open_len(mid) <= max_chars) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    keep = lo;
  }
  if (cut) *cut = keep < cps.size();
  return py_repr(utf8::from_code_points(std::u32string_view(cps.data(), keep)));
}

}  // namespace moss
