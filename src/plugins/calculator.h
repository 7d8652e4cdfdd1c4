// The Calculate plugin's evaluator (spec 7.3): the value text that Python 3.11 would print for
// str(eval(expr)) with ^ read as **, and math functions in scope; nullopt where that is not a
// number (syntax errors, unknown names, comparisons, tuples, ZeroDivisionError, math domain
// errors, overflow, ints over 4300 digits), which the plugin prints as 'No result.'.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace moss {

// Bounds that keep hostile input (`9^9^9^9`, a megabyte of parentheses) fast: past any of them
// the answer is nullopt, which is also what Python prints for such results in practice.
struct CalcLimits {
  size_t max_input_bytes = 4096;
  int max_depth = 100;          // nesting of parentheses, unary signs and calls
  size_t max_int_bits = 65536;  // any integer intermediate (Python prints at most 4300 digits)
};

// Names in scope (as after `from math import *` plus Python builtins): sqrt, pow (math.pow, float),
// sin, cos, tan, asin, acos, atan (radians), log(x[, base]), log10, log2, exp, ceil, floor (ints),
// fabs, abs, max, min, round(x[, n]), pi, e.
std::optional<std::string> calculate(std::string_view expr, const CalcLimits& limits = {});

}  // namespace moss
