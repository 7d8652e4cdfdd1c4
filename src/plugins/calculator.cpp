// Calculator: a recursive-descent evaluator of Python expression syntax (the subset in spec 7.3)
// with Python's number semantics: exact big integers (CLN), IEEE doubles, int/float promotion,
// true division, floor division/modulo, power, and the math functions listed in calculator.h.
// Any Python exception, and anything that is not an int or float, ends in nullopt.
#include "plugins/calculator.h"

#include <cln/integer.h>
#include <cln/integer_io.h>
#include <cln/rational.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numbers>
#include <sstream>
#include <vector>

#include "plugins/calc_cln_mutex.h"
#include "plugins/python_float.h"

namespace moss {
namespace {

struct CalcFail {};  // a Python exception or a limit: the answer is nullopt
[[noreturn]] void fail_calc() { throw CalcFail{}; }

struct Num {
  bool is_int = true;
  cln::cl_I i;
  double f = 0;
  static Num of_int(cln::cl_I v) { Num n; n.i = std::move(v); return n; }
  static Num of_float(double v) { Num n; n.is_int = false; n.f = v; return n; }
};

// Exact value of a finite double (m * 2^e with integer m), without CLN floats (which have no
// subnormals and signal underflow).
cln::cl_RA exact_rational(double d) {
  int e = 0;
  double m = std::frexp(d, &e);  // d = m * 2^e, 0.5 <= |m| < 1
  long long mi = static_cast<long long>(std::ldexp(m, 53));
  cln::cl_I n(mi);
  e -= 53;
  if (e >= 0) return cln::ash(n, e);
  return cln::cl_RA(n) / cln::cl_RA(cln::ash(cln::cl_I(1), -e));
}

// Correctly rounded (half to even) conversion of p/q (q > 0) to double, as Python does for int/int
// and float(int). Returns inf on overflow (the caller turns it into OverflowError).
double rational_to_double(const cln::cl_I& p0, const cln::cl_I& q) {
  if (cln::zerop(p0)) return 0.0;
  bool neg = cln::minusp(p0);
  cln::cl_I p = cln::abs(p0);
  // Choose the binary exponent s so that p / (q 2^s) lies in [2^52, 2^54).
  long s = static_cast<long>(cln::integer_length(p)) - static_cast<long>(cln::integer_length(q)) - 53;
  if (s + 53 > 1100) return neg ? -INFINITY : INFINITY;
  if (s < -1074) s = -1074;  // subnormal range: fixed quantum 2^-1074
  cln::cl_I num = s >= 0 ? p : cln::ash(p, -s);
  cln::cl_I den = s >= 0 ? cln::ash(q, s) : q;
  cln::cl_I n = cln::round1(num, den);  // half to even
  // Keep 53 significant bits: if n has 54, round once more at the next bit (exact since the
  // dropped bit comes from an exact quotient: redo the division at s+1).
  if (cln::integer_length(n) > 53) {
    ++s;
    num = s >= 0 ? p : cln::ash(p, -s);
    den = s >= 0 ? cln::ash(q, s) : q;
    n = cln::round1(num, den);
  }
  double r = std::ldexp(cln::double_approx(n), static_cast<int>(s));  // n < 2^54: exact
  return neg ? -r : r;
}

class Evaluator {
 public:
  Evaluator(std::string text, const CalcLimits& limits) : s_(std::move(text)), lim_(limits) {}

  Num run() {
    Num v = expr();
    skip_ws();
    if (pos_ != s_.size()) fail_calc();
    return v;
  }

 private:
  std::string s_;
  const CalcLimits& lim_;
  size_t pos_ = 0;
  int depth_ = 0;

  struct DepthGuard {
    int& d;
    DepthGuard(int& depth, int max) : d(depth) {
      if (++d > max) fail_calc();
    }
    ~DepthGuard() { --d; }
  };

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool peek(std::string_view op) {
    skip_ws();
    return s_.compare(pos_, op.size(), op) == 0;
  }
  bool accept(std::string_view op) {
    if (!peek(op)) return false;
    pos_ += op.size();
    return true;
  }

  // ---- conversions and checks ----
  void check_bits(const cln::cl_I& v) {
    if (cln::integer_length(v) > lim_.max_int_bits) fail_calc();
  }
  static double to_float(const Num& n) {
    if (!n.is_int) return n.f;
    double d = rational_to_double(n.i, 1);
    if (std::isinf(d)) fail_calc();  // OverflowError: int too large to convert to float
    return d;
  }
  static cln::cl_I float_to_int(double d) {
    if (!std::isfinite(d)) fail_calc();  // OverflowError / ValueError
    return cln::numerator(exact_rational(d));  // d is integral here
  }

  // ---- grammar (Python precedence) ----
  Num expr() {
    Num v = term();
    for (;;) {
      if (accept("+")) v = add(v, term(), false);
      else if (accept("-")) v = add(v, term(), true);
      else return v;
    }
  }
  Num term() {
    Num v = unary();
    for (;;) {
      if (peek("**")) return v;
      if (accept("*")) v = mul(v, unary());
      else if (accept("//")) v = floordiv(v, unary());
      else if (accept("/")) v = truediv(v, unary());
      else if (accept("%")) v = mod(v, unary());
      else return v;
    }
  }
  Num unary() {
    DepthGuard g(depth_, lim_.max_depth);
    if (accept("-")) {
      Num v = unary();
      if (v.is_int) v.i = -v.i;
      else v.f = -v.f;
      return v;
    }
    if (accept("+")) return unary();
    return power();
  }
  Num power() {
    Num base = primary();
    if (accept("**")) return pow(base, unary());
    return base;
  }
  Num primary() {
    DepthGuard g(depth_, lim_.max_depth);
    skip_ws();
    if (pos_ >= s_.size()) fail_calc();
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      Num v = expr();
      if (!accept(")")) fail_calc();  // also a tuple "(1, 2)"
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      std::string name = s_.substr(start, pos_ - start);
      if (accept("(")) return call(name);
      if (name == "pi") return Num::of_float(std::numbers::pi);
      if (name == "e") return Num::of_float(std::numbers::e);
      fail_calc();  // NameError, or a function object that is not a number
    }
    fail_calc();
  }

  // One run of digits with Python's single underscores between digits ("1_000"); returns the
  // digits without underscores (empty when there is none).
  std::string digit_run(int base) {
    auto is_digit = [&](size_t p) {
      if (p >= s_.size()) return false;
      char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[p])));
      if (base == 16) return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      return c >= '0' && c < '0' + base;
    };
    std::string out;
    while (is_digit(pos_)) {
      out += s_[pos_++];
      if (pos_ + 1 < s_.size() && s_[pos_] == '_' && is_digit(pos_ + 1)) ++pos_;
    }
    return out;
  }

  Num number() {
    // 0b / 0o / 0x integer literals ("0b01101000" occurs in the SFT data); "0b_1" is allowed.
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() && std::strchr("bBoOxX", s_[pos_ + 1]) && s_[pos_ + 1]) {
      char k = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_ + 1])));
      int base = k == 'b' ? 2 : k == 'o' ? 8 : 16;
      pos_ += 2;
      if (pos_ + 1 < s_.size() && s_[pos_] == '_') ++pos_;
      std::string digits = digit_run(base);
      if (digits.empty()) fail_calc();
      if (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.'))
        fail_calc();
      if (digits.size() * (base == 2 ? 1 : base == 8 ? 3 : 4) > lim_.max_int_bits) fail_calc();
      cln::cl_I v = 0;
      for (char c : digits) {
        int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
        v = v * base + d;
      }
      return Num::of_int(v);
    }
    std::string text = digit_run(10);
    bool is_float = false;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      is_float = true;
      ++pos_;
      text += '.';
      text += digit_run(10);
    }
    if (text == ".") fail_calc();
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t save = pos_;
      ++pos_;
      std::string sign;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) sign = s_[pos_++];
      std::string ed = digit_run(10);
      if (ed.empty()) {
        pos_ = save;
        fail_calc();  // "1e": invalid decimal literal
      }
      text += 'e';
      text += sign;
      text += ed;
      is_float = true;
    }
    // "2x", "5j", "1.5.2", "1__0": Python rejects (or reads as something that is not a number).
    if (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.'))
      fail_calc();
    if (!is_float) {
      if (text.size() > 1 && text[0] == '0' && text.find_first_not_of('0') != std::string::npos)
        fail_calc();  // "012": leading zeros are a SyntaxError in Python 3
      if (text.size() > 4300) fail_calc();  // Python 3.11 refuses to parse such int literals
      cln::cl_I v(text.c_str());
      check_bits(v);
      return Num::of_int(v);
    }
    double d = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), d);
    if (r.ec == std::errc::result_out_of_range) {
      // Overflow gives inf, underflow 0.0, as Python's float literal does. Decide which by the
      // decimal exponent of the first significant digit.
      size_t e = text.find_first_of("eE");
      std::string mant = text.substr(0, e);
      // strtol saturates at LONG_MAX/LONG_MIN for absurd exponents ("13e888...8"); clamp far
      // beyond any double's range so that lead + exp10 below cannot overflow.
      long exp10 = e == std::string::npos ? 0 : std::strtol(text.c_str() + e + 1, nullptr, 10);
      exp10 = std::clamp(exp10, -1000000000L, 1000000000L);
      size_t dot = mant.find('.');
      if (dot == std::string::npos) dot = mant.size();
      size_t first = mant.find_first_of("123456789");
      long lead = first == std::string::npos ? -100000 : (first < dot ? long(dot - first - 1) : -long(first - dot));
      d = lead + exp10 > 0 ? INFINITY : 0.0;
    } else if (r.ec != std::errc()) {
      fail_calc();
    }
    return Num::of_float(d);
  }

  std::vector<Num> args() {
    std::vector<Num> out;
    if (accept(")")) return out;
    for (;;) {
      out.push_back(expr());
      if (accept(")")) return out;
      if (!accept(",")) fail_calc();
    }
  }

  // math_1 of CPython: a NaN from a non-NaN argument is a domain error, an infinity from a finite
  // argument an overflow/domain error.
  static Num math1(double (*f)(double), const Num& a) {
    double x = to_float(a);
    double r = f(x);
    if (std::isnan(r) && !std::isnan(x)) fail_calc();
    if (std::isinf(r) && std::isfinite(x)) fail_calc();
    return Num::of_float(r);
  }
  // loghelper of CPython: ints too large for a double are reduced to mantissa * 2^e.
  static double logx(double (*f)(double), const Num& a) {
    if (a.is_int) {
      if (!cln::plusp(a.i)) fail_calc();
      if (std::isinf(rational_to_double(a.i, 1))) {  // beyond double range
        long e = static_cast<long>(cln::integer_length(a.i));
        double m = rational_to_double(a.i, cln::ash(cln::cl_I(1), e));
        return f(m) + f(2.0) * static_cast<double>(e);
      }
    }
    double x = to_float(a);
    if (std::isnan(x) || (std::isinf(x) && x > 0)) return x;
    if (!(x > 0)) fail_calc();  // math domain error
    return f(x);
  }

  static bool greater(const Num& a, const Num& b) {  // a > b, exact across int/float
    if (a.is_int && b.is_int) return cln::compare(a.i, b.i) > 0;
    if (!a.is_int && std::isnan(a.f)) return false;
    if (!b.is_int && std::isnan(b.f)) return false;
    if (!a.is_int && std::isinf(a.f)) return a.f > 0 && !(!b.is_int && b.f == a.f);
    if (!b.is_int && std::isinf(b.f)) return b.f < 0;
    cln::cl_RA x = a.is_int ? cln::cl_RA(a.i) : exact_rational(a.f);
    cln::cl_RA y = b.is_int ? cln::cl_RA(b.i) : exact_rational(b.f);
    return cln::compare(x, y) > 0;
  }

  Num call(const std::string& name) {
    DepthGuard g(depth_, lim_.max_depth);
    std::vector<Num> a = args();
    auto want = [&](size_t n) {
      if (a.size() != n) fail_calc();  // TypeError
    };
    if (name == "sqrt") { want(1); return math1(std::sqrt, a[0]); }
    if (name == "sin") { want(1); return math1(std::sin, a[0]); }
    if (name == "cos") { want(1); return math1(std::cos, a[0]); }
    if (name == "tan") { want(1); return math1(std::tan, a[0]); }
    if (name == "asin") { want(1); return math1(std::asin, a[0]); }
    if (name == "acos") { want(1); return math1(std::acos, a[0]); }
    if (name == "atan") { want(1); return math1(std::atan, a[0]); }
    if (name == "exp") { want(1); return math1(std::exp, a[0]); }
    if (name == "fabs") { want(1); return math1(std::fabs, a[0]); }
    if (name == "log10") { want(1); return Num::of_float(logx(std::log10, a[0])); }
    if (name == "log2") { want(1); return Num::of_float(logx(std::log2, a[0])); }
    if (name == "log") {
      if (a.size() == 1) return Num::of_float(logx(std::log, a[0]));
      want(2);
      double num = logx(std::log, a[0]);
      double den = logx(std::log, a[1]);
      if (den == 0) fail_calc();  // ZeroDivisionError
      return Num::of_float(num / den);
    }
    if (name == "pow") {
      want(2);
      auto r = python_math_pow(to_float(a[0]), to_float(a[1]));
      if (!r) fail_calc();
      return Num::of_float(*r);
    }
    if (name == "ceil" || name == "floor") {
      want(1);
      if (a[0].is_int) return a[0];
      double d = name == "ceil" ? std::ceil(a[0].f) : std::floor(a[0].f);
      return Num::of_int(float_to_int(d));
    }
    if (name == "abs") {
      want(1);
      if (a[0].is_int) return Num::of_int(cln::abs(a[0].i));
      return Num::of_float(std::fabs(a[0].f));
    }
    if (name == "max" || name == "min") {
      if (a.size() < 2) fail_calc();  // one number is not an iterable
      Num best = a[0];
      for (size_t k = 1; k < a.size(); ++k)
        if (name == "max" ? greater(a[k], best) : greater(best, a[k])) best = a[k];
      return best;
    }
    if (name == "round") return round(a);
    fail_calc();  // unknown function (NameError)
  }

  Num round(const std::vector<Num>& a) {
    if (a.empty() || a.size() > 2) fail_calc();
    const Num& x = a[0];
    if (a.size() == 1) {
      if (x.is_int) return x;
      if (!std::isfinite(x.f)) fail_calc();
      return Num::of_int(cln::round1(exact_rational(x.f)));  // half to even
    }
    if (!a[1].is_int) fail_calc();  // TypeError: ndigits must be an integer
    const cln::cl_I& nd = a[1].i;
    if (x.is_int) {
      if (!cln::minusp(nd)) return x;
      if (cln::compare(-nd, cln::cl_I(static_cast<long>(cln::integer_length(x.i)) + 2)) > 0)
        return Num::of_int(0);  // 10^-nd is far larger than |x|
      cln::cl_I p = cln::expt_pos(cln::cl_I(10), cln::cl_I(-nd));
      return Num::of_int(cln::round1(x.i, p) * p);
    }
    double f = x.f;
    if (!std::isfinite(f) || f == 0) return x;
    if (cln::compare(nd, cln::cl_I(323)) > 0) return x;                 // NDIGITS_MAX
    if (cln::compare(nd, cln::cl_I(-308)) < 0) return Num::of_float(0.0 * f);  // NDIGITS_MIN
    long n = cln::cl_I_to_long(nd);
    cln::cl_RA r = exact_rational(f);
    // expt_pos needs a positive exponent (it does not return for 0).
    cln::cl_I p = n == 0 ? cln::cl_I(1) : cln::expt_pos(cln::cl_I(10), static_cast<unsigned long>(std::labs(n)));
    cln::cl_RA scaled = n >= 0 ? r * p : r / p;
    cln::cl_I q = cln::round1(scaled);
    double out = n >= 0 ? rational_to_double(q, p) : rational_to_double(q * p, 1);
    if (std::isinf(out)) fail_calc();  // OverflowError: rounded value too large
    if (out == 0) out = std::copysign(0.0, f);
    return Num::of_float(out);
  }

  // ---- arithmetic ----
  Num add(const Num& a, const Num& b, bool sub) {
    if (a.is_int && b.is_int) {
      Num r = Num::of_int(sub ? a.i - b.i : a.i + b.i);
      check_bits(r.i);
      return r;
    }
    double x = to_float(a), y = to_float(b);
    return Num::of_float(sub ? x - y : x + y);
  }
  Num mul(const Num& a, const Num& b) {
    if (a.is_int && b.is_int) {
      if (cln::integer_length(a.i) + cln::integer_length(b.i) > lim_.max_int_bits + 1) fail_calc();
      Num r = Num::of_int(a.i * b.i);
      check_bits(r.i);
      return r;
    }
    return Num::of_float(to_float(a) * to_float(b));
  }
  static bool is_zero(const Num& n) { return n.is_int ? cln::zerop(n.i) : n.f == 0; }
  Num truediv(const Num& a, const Num& b) {
    if (is_zero(b)) fail_calc();  // ZeroDivisionError
    if (a.is_int && b.is_int) {
      cln::cl_I p = a.i, q = b.i;
      if (cln::minusp(q)) { p = -p; q = -q; }
      double r = rational_to_double(p, q);
      if (std::isinf(r)) fail_calc();  // OverflowError: integer division result too large
      return Num::of_float(r);
    }
    return Num::of_float(to_float(a) / to_float(b));
  }
  Num floordiv(const Num& a, const Num& b) {
    if (is_zero(b)) fail_calc();
    if (a.is_int && b.is_int) return Num::of_int(cln::floor1(a.i, b.i));
    return Num::of_float(python_float_floordiv(to_float(a), to_float(b)));
  }
  Num mod(const Num& a, const Num& b) {
    if (is_zero(b)) fail_calc();
    if (a.is_int && b.is_int) return Num::of_int(cln::mod(a.i, b.i));
    return Num::of_float(python_float_mod(to_float(a), to_float(b)));
  }
  Num pow(const Num& a, const Num& b) {
    if (a.is_int && b.is_int && !cln::minusp(b.i)) {
      const cln::cl_I& base = a.i;
      if (cln::zerop(b.i)) return Num::of_int(1);
      if (cln::zerop(base) || cln::compare(cln::abs(base), cln::cl_I(1)) == 0) {
        if (cln::zerop(base)) return Num::of_int(0);
        if (cln::minusp(base) && cln::oddp(b.i)) return Num::of_int(-1);
        return Num::of_int(1);
      }
      // Result bits are at least (bits(|base|) - 1) * exponent: refuse before computing.
      uintptr_t lim = lim_.max_int_bits;
      if (cln::compare(b.i, cln::cl_I(static_cast<long>(lim))) > 0) fail_calc();
      unsigned long e = cln::cl_I_to_ulong(b.i);
      if ((cln::integer_length(cln::abs(base)) - 1) * e > lim) fail_calc();
      Num r = Num::of_int(cln::expt_pos(base, e));
      check_bits(r.i);
      return r;
    }
    if (a.is_int && b.is_int && cln::zerop(a.i)) fail_calc();  // 0 ** -n: ZeroDivisionError
    auto r = python_float_pow(to_float(a), to_float(b));
    if (!r) fail_calc();
    return Num::of_float(*r);
  }
};

}  // namespace

std::mutex& cln_mutex() {
  static std::mutex m;
  return m;
}

std::optional<std::string> calculate(std::string_view expr, const CalcLimits& limits) {
  if (expr.size() > limits.max_input_bytes) return std::nullopt;
  std::string text;
  text.reserve(expr.size() + 8);
  for (char c : expr) {
    if (c == '^') text += "**";  // the plugin reads ^ as power (spec 7.3)
    else text += c;
  }
  std::lock_guard<std::mutex> lock(cln_mutex());
  try {
    Evaluator ev(std::move(text), limits);
    Num v = ev.run();
    if (!v.is_int) return python_float_repr(v.f);
    std::ostringstream os;
    os << v.i;
    std::string out = os.str();
    if (out.size() - (out[0] == '-') > 4300) return std::nullopt;  // Python 3.11 str() limit
    return out;
  } catch (const CalcFail&) {
    return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;  // CLN signals its own errors as exceptions
  }
}

}  // namespace moss
