// The Solve plugin's equation solver (spec 7.4): the result lines the SFT data shows for
// Solve("..."), e.g. {"x = 19", "y = 11"}, {"x_0 = -6", "x_1 = 4"}, or {"No result."}.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace moss {

struct SolverLimits {
  size_t max_input_bytes = 1000;
  size_t max_variables = 8;
  size_t max_equations = 8;
  int max_degree = 8;       // univariate polynomials (after clearing denominators)
  int max_power = 16;       // largest integer exponent applied to an expression with unknowns
  int max_depth = 60;       // nesting of parentheses / unary signs
};

// Model of the data's solver (see tools/solver_survey.py, which reproduces 102/111 SFT blocks
// with it): the text is split into parts at ';' and ','; parts with '=' are equations, other parts
// (trailing targets like "x^3") are ignored. A part is read like Python source after two rewrites,
// `^` -> `**` and implicit multiplication (digit before a name: "2.5x"; ')' before a name or '(').
// Numbers are Python numbers (2/5 is the float 0.4; sqrt, sin, cos, tan, exp, log, pi, e are
// Python's math ones and reject unknowns), names are unknowns. A number directly before '(' is a
// call of a number ("0.45(10y+x)"): an error, as in the data. Solutions:
//  * equations linear in all unknowns (after clearing denominators) with exactly one solution:
//    one line per unknown, sorted by name;
//  * one unknown, polynomial after clearing denominators: every distinct root, `x = r` or
//    `x_0 = r0`, `x_1 = r1`, ... in SymPy's order; roots of factors up to degree 2 are exact
//    (`160/3`, `-sqrt(15)`, `-1 - sqrt(3)*I`), higher-degree factors numeric;
//  * when any float took part, values print as SymPy Floats with 15 significant digits
//    (`550.000000000000`, `-2.10858166325437 - 3.65217057266466*I`);
//  * everything else (underdetermined, inconsistent, nonlinear systems, parse errors, limits):
//    {"No result."}.
std::vector<std::string> solve(std::string_view equations, const SolverLimits& limits = {});

// SymPy's str() of a Float of 15 digits holding x (mpmath to_str): 15 significant digits,
// fixed notation for decimal exponents -5 < e < 15; with strip_zeros (how a Float prints inside
// a sum or product) trailing zeros are removed, keeping one after the point.
std::string sympy_float_str(double x, bool strip_zeros = false);

}  // namespace moss
