// See command_parser.h. A small hand-written scanner: top level skips separators, list numbers and
// comments and looks for `Identifier(`; inside a call it tracks double-quoted strings and paren
// depth to find the closing ")". Only '"' delimits strings: arguments are always double-quoted in
// the data, and apostrophes inside them (What's) must not open a string.
#include "chat/command_parser.h"

#include <cctype>

namespace moss {
namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// "None", "None.", "Non", "None (…)", "None. …": the model decided not to call anything.
bool is_none_line(std::string_view t) {
  if (t == "Non" || t == "None") return true;
  if (!t.starts_with("None")) return false;
  const char c = t[4];
  return c == '.' || c == ' ' || c == '(' || c == '\n' || c == ',' || c == ':';
}

// Splits the inside of a call's parentheses into top-level comma-separated items and checks that
// each one is exactly one double-quoted string. Returns false otherwise.
bool quoted_items(std::string_view inner, std::vector<std::string>& out) {
  out.clear();
  size_t i = 0;
  for (;;) {
    while (i < inner.size() && space(inner[i])) ++i;
    if (i >= inner.size() || inner[i] != '"') return false;
    const size_t close = inner.find('"', i + 1);
    if (close == std::string_view::npos) return false;
    out.emplace_back(inner.substr(i + 1, close - i - 1));
    i = close + 1;
    while (i < inner.size() && space(inner[i])) ++i;
    if (i == inner.size()) return true;
    if (inner[i] != ',') return false;
    ++i;
  }
}

}  // namespace

std::string ParsedCall::echo() const {
  if (malformed) return raw;
  std::string s = name + "(\"" + argument + "\")";
  for (const std::string& a : extra_args) s += ", \"" + a + "\"";
  return s;
}

ParsedCommands parse_commands(std::string_view text) {
  ParsedCommands out;
  const std::string_view t = trim(text);
  if (t.empty() || is_none_line(t)) {
    out.none = true;
    return out;
  }
  size_t i = 0;
  const size_t n = t.size();
  while (i < n) {
    const char c = t[i];
    if (space(c) || c == ',' || c == ';') {
      ++i;
      continue;
    }
    if (c == '#') {  // comment to end of line
      while (i < n && t[i] != '\n') ++i;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {  // "1." list numbers
      while (i < n && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
      if (i < n && (t[i] == '.' || t[i] == ')')) ++i;
      continue;
    }
    if (ident_start(c)) {
      size_t j = i;
      while (j < n && ident_char(t[j])) ++j;
      std::string_view name = t.substr(i, j - i);
      size_t k = j;
      while (k < n && (t[k] == ' ' || t[k] == '\t')) ++k;
      if (k >= n || t[k] != '(') {
        if (name == "None" || name == "Non") {
          out.none_in_list = true;
        } else {
          out.stray_text = true;
        }
        i = j;
        continue;
      }
      // A call: find the matching ")" outside strings.
      ParsedCall call;
      call.name = std::string(name);
      size_t p = k + 1;
      int depth = 1;
      bool in_str = false;
      for (; p < n; ++p) {
        const char d = t[p];
        if (in_str) {
          if (d == '"') in_str = false;
          continue;
        }
        if (d == '"') {
          in_str = true;
        } else if (d == '(') {
          ++depth;
        } else if (d == ')' && --depth == 0) {
          break;
        }
      }
      std::string_view inner;
      size_t end;
      if (p < n) {
        inner = t.substr(k + 1, p - k - 1);
        end = p + 1;
      } else {
        // Unbalanced quotes or parentheses: fall back to the first `")` (the usual end of a call).
        const size_t q = t.find("\")", k + 1);
        if (q != std::string_view::npos) {
          inner = t.substr(k + 1, q + 1 - (k + 1));
          end = q + 2;
        } else {
          inner = t.substr(k + 1);
          end = n;
          call.malformed = true;
        }
      }
      call.raw = std::string(t.substr(i, end - i));
      std::vector<std::string> items;
      if (!call.malformed && quoted_items(inner, items)) {
        call.argument = items[0];
        call.extra_args.assign(items.begin() + 1, items.end());
      } else {
        call.malformed = true;
        // Best effort: the text after the opening quote up to the last quote.
        std::string_view a = trim(inner);
        if (!a.empty() && a.front() == '"') a.remove_prefix(1);
        if (!a.empty() && a.back() == '"') a.remove_suffix(1);
        call.argument = std::string(a);
      }
      out.calls.push_back(std::move(call));
      i = end;
      continue;
    }
    out.stray_text = true;  // "=", "0", CJK text, ...: skip one byte at a time
    ++i;
  }
  if (out.calls.empty()) out.none = true;
  return out;
}

}  // namespace moss
