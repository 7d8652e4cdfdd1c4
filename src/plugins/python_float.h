// Python's float semantics that the Calculate plugin reproduces (spec 7.3): repr(float) as printed
// by str(), and the float operators whose Python definition differs from C (//, %, **).
#pragma once
#include <optional>
#include <string>

namespace moss {

// repr(x) of CPython 3: shortest round-trip digits; exponent form when the decimal exponent is
// < -4 or >= 16 ('1e+16', '1.5e-05'), else fixed with at least one fractional digit ('75.0');
// 'inf', '-inf', 'nan'.
std::string python_float_repr(double x);

// a // b and a % b for floats as Python computes them (floor semantics, result of % has the sign
// of b). The caller rejects b == 0 (ZeroDivisionError).
double python_float_floordiv(double a, double b);
double python_float_mod(double a, double b);

// a ** b for floats (float.__pow__). nullopt where Python raises (0.0 ** negative, overflow) or
// returns a complex number (negative ** non-integer), none of which prints as a number.
std::optional<double> python_float_pow(double a, double b);

// math.pow(a, b): like ** but also a domain error in the complex case; same nullopt cases.
std::optional<double> python_math_pow(double a, double b);

}  // namespace moss
