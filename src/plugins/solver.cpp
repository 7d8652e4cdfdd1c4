// Equation solver for the Solve plugin (spec 7.4): parsing with Python number semantics, linear
// systems by exact Gaussian elimination, univariate polynomials by factoring over Q (GiNaC) with
// exact roots for factors up to degree 2 and numeric roots (Durand-Kerner) beyond, and SymPy-style
// printing and ordering of the values. GiNaC stays inside this file.
#include "plugins/solver.h"

#include <cln/float.h>
#include <cln/integer.h>
#include <cln/integer_io.h>
#include <cln/rational.h>
#include <cln/real.h>
#include <ginac/ginac.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <complex>
#include <map>
#include <mutex>
#include <numbers>
#include <optional>
#include <set>
#include <sstream>

#include "plugins/calc_cln_mutex.h"
#include "plugins/python_float.h"

namespace moss {
namespace {

using GiNaC::ex;
using GiNaC::numeric;

struct SolveFail {};
[[noreturn]] void fail_solve() { throw SolveFail{}; }

// ---------------------------------------------------------------- numbers and printing helpers

// Exact value of a finite double.
cln::cl_RA exact_rational(double d) {
  int e = 0;
  double m = std::frexp(d, &e);
  cln::cl_I n(static_cast<long long>(std::ldexp(m, 53)));
  e -= 53;
  if (e >= 0) return cln::ash(n, e);
  return cln::cl_RA(n) / cln::cl_RA(cln::ash(cln::cl_I(1), -e));
}

// 10^k (CLN's expt_pos does not accept a zero exponent).
cln::cl_I pow10_int(long k) { return k == 0 ? cln::cl_I(1) : cln::expt_pos(cln::cl_I(10), static_cast<unsigned long>(k)); }

// The rational SymPy's solve puts in place of a Float before solving (answers are turned back
// into Floats at the end). SymPy's nsimplify first looks for a simple form (mpmath.identify):
// approximated here as a fraction p/q with |p|, q <= 1000 whose nearest double is d (4/3 gives
// 1.3333333333333333 -> 4/3); otherwise it takes the Float's 15-digit text (314.159265358979 for
// 100*pi), which decides the last printed digit of answers like 4.21716332650874.
cln::cl_RA decimal_rational(double d) {
  for (long q = 1; q <= 1000; ++q) {
    double p = std::nearbyint(d * static_cast<double>(q));
    if (std::fabs(p) <= 1000 && p / static_cast<double>(q) == d)
      return cln::cl_RA(cln::cl_I(static_cast<long>(p))) / cln::cl_RA(cln::cl_I(q));
  }
  std::string r = sympy_float_str(d);
  bool neg = r[0] == '-';
  if (neg) r.erase(0, 1);
  long exp10 = 0;
  size_t e = r.find('e');
  if (e != std::string::npos) {
    exp10 = std::stol(r.substr(e + 1));
    r = r.substr(0, e);
  }
  size_t dot = r.find('.');
  if (dot != std::string::npos) {
    exp10 -= static_cast<long>(r.size() - dot - 1);
    r.erase(dot, 1);
  }
  cln::cl_RA v = cln::cl_I(r.c_str());
  cln::cl_I p = pow10_int(std::labs(exp10));
  v = exp10 >= 0 ? v * p : v / p;
  return neg ? -v : v;
}

std::string rational_str(const cln::cl_RA& r) {
  std::ostringstream os;
  os << cln::numerator(r);
  if (cln::denominator(r) != 1) os << "/" << cln::denominator(r);
  return os.str();
}

}  // namespace

std::string sympy_float_str(double x, bool strip_zeros) {
  if (x == 0 || !std::isfinite(x)) return x == 0 ? "0.0" : python_float_repr(x);
  constexpr int dps = 15;
  std::string sign = x < 0 ? "-" : "";
  cln::cl_RA r = exact_rational(std::fabs(x));
  long e10 = static_cast<long>(std::floor(std::log10(std::fabs(x))));
  auto pow10 = [](long k) -> cln::cl_RA {
    cln::cl_I p = pow10_int(std::labs(k));
    return k >= 0 ? cln::cl_RA(p) : cln::cl_RA(1) / p;
  };
  while (cln::compare(r, pow10(e10)) < 0) --e10;
  while (cln::compare(r, pow10(e10 + 1)) >= 0) ++e10;
  // mpmath: dps+3 digits (truncated), then round half up at digit dps.
  std::ostringstream os;
  os << cln::floor1(r * pow10(dps + 2 - e10));
  std::string digits = os.str();
  if (digits[dps] >= '5') {
    std::string d = digits.substr(0, dps);
    int i = dps - 1;
    while (i >= 0 && d[i] == '9') d[i--] = '0';
    if (i >= 0) {
      d[i]++;
    } else {
      d.assign(dps, '0');
      d[0] = '1';
      ++e10;
    }
    digits = d;
  } else {
    digits = digits.substr(0, dps);
  }
  long exponent = e10;
  size_t split = 1;
  if (-5 < exponent && exponent < dps) {
    if (exponent < 0) {
      digits = std::string(-exponent, '0') + digits;
    } else {
      split = exponent + 1;
    }
    exponent = 0;
  }
  std::string s = digits.substr(0, split) + "." + digits.substr(split);
  if (strip_zeros) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (s.back() == '.') s += "0";
  }
  if (exponent == 0) return sign + s;
  return sign + s + (exponent > 0 ? "e+" : "e") + std::to_string(exponent);
}

namespace {

// ---------------------------------------------------------------- parsing (Python semantics)

struct Value {
  enum Kind { Int, Float, Expr } kind = Int;
  cln::cl_I i;
  double f = 0;
  ex e;
  // For Expr: an upper bound on the degree of numerator plus denominator, and whether there is a
  // denominator. They bound the work of expand()/normal() before GiNaC does it.
  int deg = 0;
  bool frac = false;
};

// `^` -> `**`, then the two implicit-multiplication rewrites of the data's solver.
std::string rewrite(std::string_view part) {
  std::string s;
  for (char c : part) {
    if (c == '^') s += "**";
    else s += c;
  }
  auto is_name = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  std::string a;
  for (size_t i = 0; i < s.size();) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      size_t j = i + 1;
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j < s.size() && is_name(s[j])) {
        a += s[i];
        a += '*';
        a += s[j];
        i = j + 1;
        continue;
      }
    }
    a += s[i++];
  }
  std::string b;
  for (size_t i = 0; i < a.size();) {
    if (a[i] == ')') {
      size_t j = i + 1;
      while (j < a.size() && std::isspace(static_cast<unsigned char>(a[j]))) ++j;
      if (j < a.size() && (is_name(a[j]) || a[j] == '(')) {
        b += ")*";
        b += a[j];
        i = j + 1;
        continue;
      }
    }
    b += a[i++];
  }
  return b;
}

class Parser {
 public:
  Parser(std::string text, std::map<std::string, GiNaC::symbol>& syms, bool& floats, const SolverLimits& lim)
      : s_(std::move(text)), syms_(syms), floats_(floats), lim_(lim) {}

  ex run() {
    Value v = expr();
    skip_ws();
    if (pos_ != s_.size()) fail_solve();
    return to_ex(v);
  }

 private:
  std::string s_;
  std::map<std::string, GiNaC::symbol>& syms_;
  bool& floats_;
  const SolverLimits& lim_;
  size_t pos_ = 0;
  int depth_ = 0;

  struct Guard {
    int& d;
    Guard(int& depth, int max) : d(depth) {
      if (++d > max) fail_solve();
    }
    ~Guard() { --d; }
  };

  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
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

  ex to_ex(const Value& v) {
    if (v.kind == Value::Expr) return v.e;
    if (v.kind == Value::Int) return numeric(cln::cl_N(v.i));
    if (!std::isfinite(v.f)) fail_solve();
    floats_ = true;  // a SymPy Float enters the equations
    return numeric(cln::cl_N(decimal_rational(v.f)));
  }
  static double to_float(const Value& v) {
    if (v.kind == Value::Float) return v.f;
    if (cln::integer_length(v.i) > 1000) fail_solve();
    return cln::double_approx(v.i);
  }

  Value expr() {
    Value v = term();
    for (;;) {
      if (accept("+")) v = arith('+', v, term());
      else if (accept("-")) v = arith('-', v, term());
      else return v;
    }
  }
  Value term() {
    Value v = unary();
    for (;;) {
      if (peek("**")) return v;
      if (accept("*")) v = arith('*', v, unary());
      else if (accept("//")) fail_solve();  // not used by the data; keep the model small
      else if (accept("/")) v = arith('/', v, unary());
      else if (accept("%")) fail_solve();
      else return v;
    }
  }
  Value unary() {
    Guard g(depth_, lim_.max_depth);
    if (accept("-")) {
      Value v = unary();
      if (v.kind == Value::Int) v.i = -v.i;
      else if (v.kind == Value::Float) v.f = -v.f;
      else v.e = -v.e;
      return v;
    }
    if (accept("+")) return unary();
    Value base = primary();
    if (accept("**")) return power(base, unary());
    return base;
  }
  Value primary() {
    Guard g(depth_, lim_.max_depth);
    skip_ws();
    if (pos_ >= s_.size()) fail_solve();
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      Value v = expr();
      if (!accept(")")) fail_solve();
      if (peek("(")) fail_solve();  // calling a number or expression
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      Value v = number();
      if (peek("(")) fail_solve();  // "0.45(10y+x)": Python calls the number
      return v;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      std::string name = s_.substr(start, pos_ - start);
      if (name == "pi" || name == "e") {
        Value v;
        v.kind = Value::Float;
        v.f = name == "pi" ? std::numbers::pi : std::numbers::e;
        if (peek("(")) fail_solve();
        return v;
      }
      static const std::set<std::string> funcs = {"sqrt", "sin", "cos", "tan", "exp", "log"};
      if (funcs.count(name)) {
        if (!accept("(")) fail_solve();
        Value a = expr();
        if (!accept(")")) fail_solve();  // one argument (log with a base is not needed)
        if (a.kind == Value::Expr) fail_solve();  // math functions reject unknowns
        double x = to_float(a), r = 0;
        if (name == "sqrt") r = std::sqrt(x);
        else if (name == "sin") r = std::sin(x);
        else if (name == "cos") r = std::cos(x);
        else if (name == "tan") r = std::tan(x);
        else if (name == "exp") r = std::exp(x);
        else {
          if (!(x > 0)) fail_solve();
          r = std::log(x);
        }
        if (!std::isfinite(r)) fail_solve();  // domain error / overflow
        Value v;
        v.kind = Value::Float;
        v.f = r;
        return v;
      }
      if (peek("(")) fail_solve();  // an unknown is not callable ("ln(x)", "factor(...)")
      auto it = syms_.find(name);
      if (it == syms_.end()) {
        if (syms_.size() >= lim_.max_variables) fail_solve();
        it = syms_.emplace(name, GiNaC::symbol(name)).first;
      }
      Value v;
      v.kind = Value::Expr;
      v.e = it->second;
      v.deg = 1;
      return v;
    }
    fail_solve();
  }
  Value number() {
    size_t start = pos_;
    auto digit = [&](size_t p) { return p < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p])); };
    while (digit(pos_)) ++pos_;
    bool is_float = false;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      is_float = true;
      ++pos_;
      while (digit(pos_)) ++pos_;
    }
    std::string text = s_.substr(start, pos_ - start);
    if (text == "." || text.size() > 300) fail_solve();
    if (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.'))
      fail_solve();
    Value v;
    if (!is_float) {
      if (text.size() > 1 && text[0] == '0' && text.find_first_not_of('0') != std::string::npos) fail_solve();
      v.i = cln::cl_I(text.c_str());
      return v;
    }
    v.kind = Value::Float;
    // from_chars: correctly rounded like Python, and independent of the C locale ("7." works).
    if (std::from_chars(text.data(), text.data() + text.size(), v.f).ec != std::errc()) fail_solve();
    return v;
  }

  // Refuses expressions whose expansion could be large: total degree above 32, or more possible
  // monomials (binomial(deg + unknowns, unknowns)) than 20000, e.g. (a+b+c+d+e+f+g+h)^16.
  void check_size(const Value& v) {
    if (v.deg > 32) fail_solve();
    int k = 0;
    for (auto& [name, sym] : syms_) k += v.e.has(sym) ? 1 : 0;
    double terms = 1;
    for (int i = 1; i <= k; ++i) terms = terms * (v.deg + i) / i;
    if (terms > 20000) fail_solve();
  }

  Value arith(char op, const Value& a, const Value& b) {
    Value r;
    if (a.kind == Value::Int && b.kind == Value::Int) {
      if (op == '/') {
        if (cln::zerop(b.i)) fail_solve();
        r.kind = Value::Float;
        r.f = cln::double_approx(cln::cl_RA(a.i) / cln::cl_RA(b.i));
        return r;
      }
      r.i = op == '+' ? a.i + b.i : op == '-' ? a.i - b.i : a.i * b.i;
      if (cln::integer_length(r.i) > 4000) fail_solve();
      return r;
    }
    if (a.kind != Value::Expr && b.kind != Value::Expr) {
      double x = to_float(a), y = to_float(b);
      if (op == '/' && y == 0) fail_solve();
      r.kind = Value::Float;
      r.f = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
      return r;
    }
    ex x = to_ex(a), y = to_ex(b);
    if (op == '/' && y.is_zero()) fail_solve();
    r.kind = Value::Expr;
    r.e = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    int da = a.kind == Value::Expr ? a.deg : 0, db = b.kind == Value::Expr ? b.deg : 0;
    bool fa = a.kind == Value::Expr && a.frac, fb = b.kind == Value::Expr && b.frac;
    r.frac = fa || fb || op == '/';
    r.deg = (op == '+' || op == '-') && !r.frac ? std::max(da, db) : da + db;
    check_size(r);
    return r;
  }
  Value power(const Value& a, const Value& b) {
    Value r;
    if (a.kind != Value::Expr && b.kind != Value::Expr) {
      if (a.kind == Value::Int && b.kind == Value::Int && !cln::minusp(b.i)) {
        if (cln::integer_length(b.i) > 20) fail_solve();
        unsigned long n = cln::cl_I_to_ulong(b.i);
        if (n == 0) { r.i = 1; return r; }
        if (cln::integer_length(cln::abs(a.i)) * n > 4000) fail_solve();
        r.i = cln::expt_pos(a.i, n);
        return r;
      }
      if (a.kind == Value::Int && b.kind == Value::Int && cln::zerop(a.i)) fail_solve();
      auto p = python_float_pow(to_float(a), to_float(b));
      if (!p) fail_solve();
      r.kind = Value::Float;
      r.f = *p;
      return r;
    }
    // An unknown raised to a Python int; other powers are beyond the polynomial model.
    if (b.kind != Value::Int || cln::compare(cln::abs(b.i), cln::cl_I(lim_.max_power)) > 0) fail_solve();
    ex base = to_ex(a);
    long n = cln::cl_I_to_long(b.i);
    if (n < 0 && base.is_zero()) fail_solve();
    r.kind = Value::Expr;
    r.e = GiNaC::pow(base, n);
    r.deg = a.deg * static_cast<int>(std::labs(n));
    r.frac = a.frac || n < 0;
    check_size(r);
    return r;
  }
};

// ---------------------------------------------------------------- roots and their printing

// One solution value: p + q*sqrt(n) exactly (n squarefree, n != 1; n < 0 is imaginary), or a
// numeric complex value where no exact form is produced.
struct Root {
  bool exact = true;
  cln::cl_RA p = 0, q = 0;
  long long n = 0;
  std::complex<double> num;  // numeric value (also filled for exact roots)
};

std::complex<double> approx(const Root& r) {
  if (!r.exact) return r.num;
  double p = cln::double_approx(r.p);
  if (cln::zerop(r.q)) return {p, 0.0};
  // sqrt to working precision: CLN long floats of 60 digits, then the nearest double.
  cln::float_format_t fmt = cln::float_format(60);
  cln::cl_F s = cln::sqrt(cln::cl_float(cln::cl_I(static_cast<long long>(std::llabs(r.n))), fmt));
  cln::cl_F qs = cln::cl_float(r.q, fmt) * s;
  if (r.n > 0) return {cln::double_approx(cln::cl_float(r.p, fmt) + qs), 0.0};
  return {p, cln::double_approx(qs)};
}

// A monomial's print form: coefficient times one of 1, sqrt(n), I, sqrt(|n|)*I.
std::string monomial(const cln::cl_RA& q, long long n) {
  std::string core = n > 1 ? "sqrt(" + std::to_string(n) + ")"
                   : n == -1 ? "I"
                   : "sqrt(" + std::to_string(-n) + ")*I";
  cln::cl_I a = cln::abs(cln::numerator(q)), b = cln::denominator(q);
  std::ostringstream os;
  if (cln::minusp(q)) os << "-";
  if (a != 1) os << a << "*";
  os << core;
  if (b != 1) os << "/" << b;
  return os.str();
}

// SymPy orders the two terms of a sum p + q*sqrt(n): the rational first, except for a real sqrt
// term of the same sign as the rational, where the smaller value comes first ("-sqrt(5)/2 - 1/2").
bool rational_first(const Root& r) {
  if (r.n < 0 || cln::minusp(r.p) != cln::minusp(r.q)) return true;
  return cln::double_approx(r.p) < approx(r).real() - cln::double_approx(r.p);
}

std::string exact_str(const Root& r) {
  if (cln::zerop(r.q)) return rational_str(r.p);
  std::string t = monomial(r.q, r.n);
  if (cln::zerop(r.p)) return t;
  std::string p = rational_str(r.p);
  bool p_first = rational_first(r);
  auto join = [](const std::string& a, const std::string& b) {
    return b[0] == '-' ? a + " - " + b.substr(1) : a + " + " + b;
  };
  return p_first ? join(p, t) : join(t, p);
}

std::string float_str(const Root& r) {
  std::complex<double> z = approx(r);
  if (z.imag() == 0) return sympy_float_str(z.real());
  std::string im = sympy_float_str(std::fabs(z.imag()), true) + "*I";
  if (z.real() == 0) return (z.imag() < 0 ? "-" : "") + im;
  return sympy_float_str(z.real(), true) + (z.imag() < 0 ? " - " : " + ") + im;
}

// SymPy's default_sort_key order, restricted to the values above: rationals by value; then
// q*sqrt(n) by str(n), q; then q*I by q; then q*sqrt(n)*I by str(n), q; then sums by their first
// printed term, then their second.
struct TermKey {
  int cls;          // 0: rational or q*sqrt(n); 1: q*I; 2: q*sqrt(n)*I
  std::string sub;  // "1" for rationals, str(n) for sqrt(n)
  cln::cl_RA coeff;
};
bool term_less(const TermKey& a, const TermKey& b) {
  if (a.cls != b.cls) return a.cls < b.cls;
  if (a.sub != b.sub) return a.sub < b.sub;
  return cln::compare(a.coeff, b.coeff) < 0;
}
std::vector<TermKey> sort_key(const Root& r) {
  TermKey pk{0, "1", r.p};
  if (cln::zerop(r.q)) return {pk};
  TermKey tk = r.n > 0 ? TermKey{0, std::to_string(r.n), r.q}
             : r.n == -1 ? TermKey{1, "", r.q}
             : TermKey{2, std::to_string(-r.n), r.q};
  if (cln::zerop(r.p)) return {tk};
  return rational_first(r) ? std::vector<TermKey>{pk, tk} : std::vector<TermKey>{tk, pk};
}
bool exact_less(const Root& a, const Root& b) {
  auto ka = sort_key(a), kb = sort_key(b);
  if (ka.size() != kb.size()) return ka.size() < kb.size();
  for (size_t i = 0; i < ka.size(); ++i) {
    if (term_less(ka[i], kb[i])) return true;
    if (term_less(kb[i], ka[i])) return false;
  }
  return false;
}
// Order for numeric values (Floats): reals by value, then imaginary ones, then sums by (re, im).
bool numeric_less(const Root& a, const Root& b) {
  auto za = approx(a), zb = approx(b);
  auto cls = [](std::complex<double> z) { return z.imag() == 0 ? 0 : z.real() == 0 ? 1 : 2; };
  if (cls(za) != cls(zb)) return cls(za) < cls(zb);
  if (za.real() != zb.real()) return za.real() < zb.real();
  return za.imag() < zb.imag();
}

// m = s^2 * k with k squarefree (trial division; a leftover above 10^12 is kept whole).
void split_square(cln::cl_I m, cln::cl_I& s, cln::cl_I& k) {
  s = 1;
  k = cln::minusp(m) ? -1 : 1;
  m = cln::abs(m);
  for (long p = 2; p < 1000000 && cln::compare(cln::cl_I(p) * cln::cl_I(p), m) <= 0; ++p) {
    cln::cl_I pp = cln::cl_I(p) * cln::cl_I(p);
    while (cln::zerop(cln::mod(m, pp))) {
      m = cln::exquo(m, pp);
      s = s * p;
    }
  }
  k = k * m;
}

// Numeric roots of a polynomial with rational coefficients (Durand-Kerner, then Newton).
std::vector<std::complex<long double>> numeric_roots(const std::vector<cln::cl_RA>& c) {
  using C = std::complex<long double>;
  int d = static_cast<int>(c.size()) - 1;
  std::vector<C> a(d + 1);
  long double lead = cln::double_approx(c[d]);
  for (int i = 0; i <= d; ++i) a[i] = C(static_cast<long double>(cln::double_approx(c[i])) / lead, 0);
  auto eval = [&](C x) {
    C v = 0;
    for (int i = d; i >= 0; --i) v = v * x + a[i];
    return v;
  };
  auto deriv = [&](C x) {
    C v = 0;
    for (int i = d; i >= 1; --i) v = v * x + a[i] * static_cast<long double>(i);
    return v;
  };
  long double radius = 1;
  for (int i = 0; i < d; ++i) radius = std::max(radius, std::pow(std::abs(a[i]), 1.0L / (d - i)) * 2);
  std::vector<C> z(d);
  for (int i = 0; i < d; ++i) z[i] = std::polar(radius, 2 * std::numbers::pi_v<long double> * i / d + 0.4L);
  for (int it = 0; it < 2000; ++it) {
    long double change = 0;
    for (int i = 0; i < d; ++i) {
      C den = 1;
      for (int j = 0; j < d; ++j)
        if (j != i) den *= z[i] - z[j];
      if (std::abs(den) == 0) den = 1e-30L;
      C step = eval(z[i]) / den;
      z[i] -= step;
      change = std::max(change, std::abs(step) / std::max(1.0L, std::abs(z[i])));
    }
    if (change < 1e-19L) break;
  }
  for (auto& x : z) {
    for (int k = 0; k < 5; ++k) {
      C dv = deriv(x);
      if (std::abs(dv) == 0) break;
      x -= eval(x) / dv;
    }
    // Irreducible factors have distinct roots; a real root comes out with a tiny imaginary part.
    if (std::fabs(x.imag()) < 1e-15L * std::max(1.0L, std::abs(x))) x = C(x.real(), 0);
  }
  return z;
}

cln::cl_RA coeff_q(const ex& poly, const GiNaC::symbol& x, int k) {
  ex c = poly.coeff(x, k);
  if (!GiNaC::is_a<numeric>(c) || !GiNaC::ex_to<numeric>(c).is_rational()) fail_solve();
  return cln::the<cln::cl_RA>(GiNaC::ex_to<numeric>(c).to_cl_N());
}

// Distinct roots of a univariate polynomial over Q.
std::vector<Root> poly_roots(const ex& poly, const GiNaC::symbol& x, const SolverLimits& lim) {
  std::vector<Root> out;
  ex f = GiNaC::factor(poly);
  std::vector<ex> factors;
  if (GiNaC::is_a<GiNaC::mul>(f)) {
    for (size_t i = 0; i < f.nops(); ++i) factors.push_back(f.op(i));
  } else {
    factors.push_back(f);
  }
  for (ex g : factors) {
    if (GiNaC::is_a<GiNaC::power>(g)) g = g.op(0);
    if (!g.has(x)) continue;
    int d = g.degree(x);
    if (d > lim.max_degree) fail_solve();
    if (d == 1) {
      Root r;
      r.p = -coeff_q(g, x, 0) / coeff_q(g, x, 1);
      out.push_back(r);
    } else if (d == 2) {
      cln::cl_RA a = coeff_q(g, x, 2), b = coeff_q(g, x, 1), c = coeff_q(g, x, 0);
      cln::cl_RA disc = b * b - 4 * a * c;
      // sqrt(disc) = sqrt(num*den)/den = s*sqrt(k)/den
      cln::cl_I s, k;
      split_square(cln::numerator(disc) * cln::denominator(disc), s, k);
      cln::cl_RA p = -b / (2 * a);
      cln::cl_RA q = cln::cl_RA(s) / (cln::denominator(disc) * 2 * a);
      if (k == 1) fail_solve();  // not irreducible: cannot happen after factor()
      for (int sg : {-1, 1}) {
        Root r;
        r.p = p;
        r.q = q * sg;
        r.n = cln::cl_I_to_long(k);
        out.push_back(r);
      }
    } else {
      std::vector<cln::cl_RA> c;
      for (int k = 0; k <= d; ++k) c.push_back(coeff_q(g, x, k));
      for (auto z : numeric_roots(c)) {
        Root r;
        r.exact = false;
        r.num = std::complex<double>(static_cast<double>(z.real()), static_cast<double>(z.imag()));
        out.push_back(r);
      }
    }
  }
  return out;
}

std::vector<std::string> no_result() { return {"No result."}; }

// Splits at ';' and ',' and keeps the parts that are equations (those with '=').
std::vector<std::string> equation_parts(std::string_view text) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : text) {
    if (c == ';' || c == ',') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  std::vector<std::string> eqs;
  for (auto& p : parts)
    if (p.find('=') != std::string::npos) eqs.push_back(p);
  return eqs;
}

std::vector<std::string> solve_impl(std::string_view text, const SolverLimits& lim) {
  std::vector<std::string> parts = equation_parts(text);
  if (parts.empty() || parts.size() > lim.max_equations) return no_result();
  std::map<std::string, GiNaC::symbol> syms;
  bool floats = false;
  std::vector<ex> numers, denoms;
  for (const auto& part : parts) {
    std::string s = rewrite(part);
    size_t eq = s.find('=');
    ex lhs = Parser(s.substr(0, eq), syms, floats, lim).run();
    ex rhs = Parser(s.substr(eq + 1), syms, floats, lim).run();  // a second '=' fails here
    ex d = (lhs - rhs).normal();
    ex nd = d.numer_denom();
    numers.push_back(nd.op(0).expand());
    denoms.push_back(nd.op(1).expand());
  }
  // Unknowns that survive simplification, sorted by name (SymPy's symbol order).
  std::vector<std::pair<std::string, GiNaC::symbol>> vars;
  for (auto& [name, sym] : syms) {
    bool used = false;
    for (auto& n : numers) used = used || n.has(sym);
    if (used) vars.emplace_back(name, sym);
  }
  std::vector<ex> eqs;
  for (auto& n : numers) {
    if (n.is_zero()) continue;  // an identity
    if (GiNaC::is_a<numeric>(n)) return no_result();  // inconsistent: 0 = nonzero
    eqs.push_back(n);
  }
  if (vars.empty() || eqs.empty()) return no_result();

  auto denominators_ok = [&](const GiNaC::exmap& at) {
    for (auto& d : denoms) {
      ex v = d.subs(at).normal();
      if (v.is_zero()) return false;
    }
    return true;
  };
  auto value_of = [&](const Root& r) { return floats ? float_str(r) : exact_str(r); };

  // Linear in all unknowns?
  bool linear = true;
  for (auto& e : eqs) {
    for (auto& [name, sym] : vars) {
      (void)name;
      if (!e.is_polynomial(sym) || e.degree(sym) > 1) linear = false;
    }
    if (linear) {
      ex rest = e;
      for (auto& [name, sym] : vars) rest -= e.coeff(sym, 1) * sym;
      rest = rest.expand();
      for (auto& [name, sym] : vars) linear = linear && !rest.has(sym) && GiNaC::is_a<numeric>(e.coeff(sym, 1));
      linear = linear && GiNaC::is_a<numeric>(rest);
    }
  }
  if (linear) {
    size_t n = vars.size(), m = eqs.size();
    if (m < n) return no_result();  // underdetermined
    std::vector<std::vector<cln::cl_RA>> A(m, std::vector<cln::cl_RA>(n + 1));
    for (size_t i = 0; i < m; ++i) {
      ex rest = eqs[i];
      for (size_t j = 0; j < n; ++j) {
        A[i][j] = cln::the<cln::cl_RA>(GiNaC::ex_to<numeric>(eqs[i].coeff(vars[j].second, 1)).to_cl_N());
        rest -= eqs[i].coeff(vars[j].second, 1) * vars[j].second;
      }
      A[i][n] = -cln::the<cln::cl_RA>(GiNaC::ex_to<numeric>(rest.expand()).to_cl_N());
    }
    size_t row = 0;
    for (size_t col = 0; col < n; ++col) {
      size_t piv = row;
      while (piv < m && cln::zerop(A[piv][col])) ++piv;
      if (piv == m) return no_result();  // a free unknown
      std::swap(A[piv], A[row]);
      for (size_t i = 0; i < m; ++i) {
        if (i == row || cln::zerop(A[i][col])) continue;
        cln::cl_RA f = A[i][col] / A[row][col];
        for (size_t j = col; j <= n; ++j) A[i][j] = A[i][j] - f * A[row][j];
      }
      ++row;
    }
    for (size_t i = n; i < m; ++i)
      if (!cln::zerop(A[i][n])) return no_result();  // inconsistent
    GiNaC::exmap at;
    std::vector<std::string> out;
    for (size_t j = 0; j < n; ++j) {
      Root r;
      r.p = A[j][n] / A[j][j];
      at[vars[j].second] = numeric(cln::cl_N(r.p));
      out.push_back(vars[j].first + " = " + value_of(r));
    }
    if (!denominators_ok(at)) return no_result();
    return out;
  }
  if (vars.size() != 1) return no_result();  // nonlinear systems: the data's solver gave up too
  const GiNaC::symbol& x = vars[0].second;
  ex g = eqs[0];
  for (auto& e : eqs) {
    if (!e.is_polynomial(x) || e.degree(x) > lim.max_degree) return no_result();
    g = GiNaC::gcd(g, e);
  }
  if (!g.has(x)) return no_result();
  std::vector<Root> roots = poly_roots(g, x, lim);
  // Drop roots that make a denominator vanish: for an irreducible factor, that means it divides
  // the denominator; rational and numeric roots are substituted directly.
  std::vector<Root> kept;
  for (auto& r : roots) {
    bool ok = true;
    for (auto& d : denoms) {
      if (!d.has(x)) continue;
      if (r.exact && cln::zerop(r.q)) {
        ok = ok && !d.subs(x == numeric(cln::cl_N(r.p))).normal().is_zero();
      } else {
        ok = ok && GiNaC::gcd(d, g).degree(x) == 0;
      }
    }
    if (ok) kept.push_back(r);
  }
  if (kept.empty()) return no_result();
  bool all_exact = std::all_of(kept.begin(), kept.end(), [](const Root& r) { return r.exact; });
  if (floats || !all_exact) std::stable_sort(kept.begin(), kept.end(), numeric_less);
  else std::stable_sort(kept.begin(), kept.end(), exact_less);
  if (!all_exact) floats = true;  // numeric roots print as Floats
  const std::string& name = vars[0].first;
  if (kept.size() == 1) return {name + " = " + value_of(kept[0])};
  std::vector<std::string> out;
  for (size_t i = 0; i < kept.size(); ++i) out.push_back(name + "_" + std::to_string(i) + " = " + value_of(kept[i]));
  return out;
}

}  // namespace

std::vector<std::string> solve(std::string_view equations, const SolverLimits& limits) {
  if (equations.size() > limits.max_input_bytes) return no_result();
  std::lock_guard<std::mutex> lock(cln_mutex());
  try {
    return solve_impl(equations, limits);
  } catch (const SolveFail&) {
    return no_result();
  } catch (const std::exception&) {
    return no_result();  // GiNaC/CLN errors (e.g. division by zero inside normal())
  }
}

}  // namespace moss
