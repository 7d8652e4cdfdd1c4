// Python float semantics for the calculator: repr, floor division, modulo and power, following
// CPython's Objects/floatobject.c and Modules/mathmodule.c.
#include "plugins/python_float.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace moss {

std::string python_float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form "d.ddde+XX"; Python's repr uses the same
  // shortest digits (David Gay's mode 0), only the layout differs.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string out;
  if (sci[0] == '-') {
    out = "-";
    sci.erase(0, 1);
  }
  size_t epos = sci.find('e');
  std::string digits;
  for (size_t i = 0; i < epos; ++i)
    if (sci[i] != '.') digits += sci[i];
  int exp10 = std::atoi(sci.c_str() + epos + 1);
  int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    int e = decpt - 1;
    out += e < 0 ? "e-" : "e+";
    std::string ed = std::to_string(std::abs(e));
    if (ed.size() < 2) ed = "0" + ed;
    return out + ed;
  }
  if (decpt <= 0) return out + "0." + std::string(-decpt, '0') + digits;
  if (decpt >= static_cast<int>(digits.size()))
    return out + digits + std::string(decpt - digits.size(), '0') + ".0";
  return out + digits.substr(0, decpt) + "." + digits.substr(decpt);
}

double python_float_mod(double vx, double wx) {
  double mod = std::fmod(vx, wx);
  if (mod != 0) {
    if ((wx < 0) != (mod < 0)) mod += wx;
  } else {
    mod = std::copysign(0.0, wx);
  }
  return mod;
}

double python_float_floordiv(double vx, double wx) {
  double mod = std::fmod(vx, wx);
  double div = (vx - mod) / wx;
  if (mod != 0 && ((wx < 0) != (mod < 0))) div -= 1.0;
  if (div == 0) return std::copysign(0.0, vx / wx);
  double floordiv = std::floor(div);
  if (div - floordiv > 0.5) floordiv += 1.0;
  return floordiv;
}

static bool is_odd_integer(double y) { return std::isfinite(y) && std::fmod(std::fabs(y), 2.0) == 1.0; }

std::optional<double> python_float_pow(double iv, double iw) {
  if (iw == 0) return 1.0;
  if (std::isnan(iv)) return iv;
  if (std::isnan(iw)) return iv == 1.0 ? 1.0 : iw;
  if (std::isinf(iw)) {
    double a = std::fabs(iv);
    if (a == 1.0) return 1.0;
    if ((iw > 0.0) == (a > 1.0)) return std::fabs(iw);
    return 0.0;
  }
  if (std::isinf(iv)) {
    bool odd = is_odd_integer(iw);
    if (iw > 0.0) return odd ? iv : std::fabs(iv);
    return odd ? std::copysign(0.0, iv) : 0.0;
  }
  if (iv == 0.0) {
    if (iw < 0.0) return std::nullopt;  // ZeroDivisionError
    return is_odd_integer(iw) ? iv : 0.0;
  }
  bool negate = false;
  if (iv < 0.0) {
    if (iw != std::floor(iw)) return std::nullopt;  // Python returns a complex number
    iv = -iv;
    negate = is_odd_integer(iw);
  }
  if (iv == 1.0) return negate ? -1.0 : 1.0;
  double ix = std::pow(iv, iw);
  if (std::isinf(ix)) return std::nullopt;  // OverflowError
  return negate ? -ix : ix;
}

std::optional<double> python_math_pow(double x, double y) {
  if (!std::isfinite(x) || !std::isfinite(y)) return python_float_pow(x, y);  // C99 specials agree
  double r = std::pow(x, y);
  if (!std::isfinite(r)) return std::nullopt;  // domain error or overflow
  return r;
}

}  // namespace moss
