// Tests of the Solve plugin's solver: value printing (expected strings are SymPy 1.11 output),
// parsing rules, limits, and the Solve blocks recorded in the SFT data (spec 7.4).
#include "plugins/solver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace moss {
namespace {

using Lines = std::vector<std::string>;
const Lines kNone = {"No result."};

TEST(SympyFloat, FifteenDigits) {
  EXPECT_EQ(sympy_float_str(550.0), "550.000000000000");
  EXPECT_EQ(sympy_float_str(1980.0 / 23), "86.0869565217391");
  EXPECT_EQ(sympy_float_str(-3.8), "-3.80000000000000");
  EXPECT_EQ(sympy_float_str(100000.0 / 3), "33333.3333333333");
  EXPECT_EQ(sympy_float_str(200000.0 / 3), "66666.6666666667");
  EXPECT_EQ(sympy_float_str(1e10), "10000000000.0000");
  EXPECT_EQ(sympy_float_str(1e-10), "1.00000000000000e-10");
  EXPECT_EQ(sympy_float_str(0.0), "0.0");
  EXPECT_EQ(sympy_float_str(1.4142135623730951, true), "1.4142135623731");
  EXPECT_EQ(sympy_float_str(1.0, true), "1.0");
  EXPECT_EQ(sympy_float_str(-0.25, true), "-0.25");
}

TEST(Solver, SpecExamples) {
  EXPECT_EQ(solve("x+y=30;x-y=8"), (Lines{"x = 19", "y = 11"}));
  EXPECT_EQ(solve("(x+1)^2=25"), (Lines{"x_0 = -6", "x_1 = 4"}));
  EXPECT_EQ(solve("100*pi=4/3*pi*r^3"),
            (Lines{"r_0 = 4.21716332650874", "r_1 = -2.10858166325437 - 3.65217057266466*I",
                   "r_2 = -2.10858166325437 + 3.65217057266466*I"}));
}

// Expected values printed by SymPy 1.11 for solve(a*x**2 + b*x + c, x) (run in tools/ notes).
TEST(Solver, QuadraticRootsPrintAndSortLikeSympy) {
  EXPECT_EQ(solve("x^2+x-1=0"), (Lines{"x_0 = -1/2 + sqrt(5)/2", "x_1 = -sqrt(5)/2 - 1/2"}));
  EXPECT_EQ(solve("x^2-2x-1=0"), (Lines{"x_0 = 1 - sqrt(2)", "x_1 = 1 + sqrt(2)"}));
  EXPECT_EQ(solve("x^2+2x-1=0"), (Lines{"x_0 = -1 + sqrt(2)", "x_1 = -sqrt(2) - 1"}));
  EXPECT_EQ(solve("2x^2+x-1=0"), (Lines{"x_0 = -1", "x_1 = 1/2"}));
  EXPECT_EQ(solve("2x^2-3=0"), (Lines{"x_0 = -sqrt(6)/2", "x_1 = sqrt(6)/2"}));
  EXPECT_EQ(solve("x^2+2x+5=0"), (Lines{"x_0 = -1 - 2*I", "x_1 = -1 + 2*I"}));
  EXPECT_EQ(solve("x^2+x+1=0"), (Lines{"x_0 = -1/2 - sqrt(3)*I/2", "x_1 = -1/2 + sqrt(3)*I/2"}));
  EXPECT_EQ(solve("2x^2+2x+1=0"), (Lines{"x_0 = -1/2 - I/2", "x_1 = -1/2 + I/2"}));
  EXPECT_EQ(solve("x^2-4x+1=0"), (Lines{"x_0 = 2 - sqrt(3)", "x_1 = sqrt(3) + 2"}));
  EXPECT_EQ(solve("3x^2-5x+1=0"), (Lines{"x_0 = 5/6 - sqrt(13)/6", "x_1 = sqrt(13)/6 + 5/6"}));
  EXPECT_EQ(solve("x^2+30=0"), (Lines{"x_0 = -sqrt(30)*I", "x_1 = sqrt(30)*I"}));
  EXPECT_EQ(solve("4x^2+1=0"), (Lines{"x_0 = -I/2", "x_1 = I/2"}));
  EXPECT_EQ(solve("(x^2+1)*(x^2+2x+5)*(x-3)*(x+2)*(x^2-2)=0"),
            (Lines{"x_0 = -2", "x_1 = 3", "x_2 = -sqrt(2)", "x_3 = sqrt(2)", "x_4 = -I", "x_5 = I",
                   "x_6 = -1 - 2*I", "x_7 = -1 + 2*I"}));
  EXPECT_EQ(solve("(x^2+4x+5)*(x^2-2x+5)*(x^2+1)=0"),
            (Lines{"x_0 = -I", "x_1 = I", "x_2 = -2 - I", "x_3 = -2 + I", "x_4 = 1 - 2*I", "x_5 = 1 + 2*I"}));
  // With floats: SymPy prints Floats (zeros stripped inside sums and products).
  EXPECT_EQ(solve("x^2+0.5x+3=0"), (Lines{"x_0 = -0.25 - 1.71391365010026*I", "x_1 = -0.25 + 1.71391365010026*I"}));
  EXPECT_EQ(solve("x^2+2.0=0"), (Lines{"x_0 = -1.4142135623731*I", "x_1 = 1.4142135623731*I"}));
  EXPECT_EQ(solve("x^2-2.0x+2=0"), (Lines{"x_0 = 1.0 - 1.0*I", "x_1 = 1.0 + 1.0*I"}));
  EXPECT_EQ(solve("x^2=1e20"), kNone);  // "1e20" reads as 1*e20: two unknowns
  EXPECT_EQ(solve("x/10-2.5=0"), (Lines{"x = 25.0000000000000"}));
  // More SymPy 1.11 outputs: zero is '0.0', the mpmath fixed/exponent switch, complex cube roots.
  EXPECT_EQ(solve("x+0.5y=1;y=2"), (Lines{"x = 0.0", "y = 2.00000000000000"}));
  EXPECT_EQ(solve("x^2=2.25x"), (Lines{"x_0 = 0.0", "x_1 = 2.25000000000000"}));
  EXPECT_EQ(solve("x^3=8.0"), (Lines{"x_0 = 2.00000000000000", "x_1 = -1.0 - 1.73205080756888*I",
                                     "x_2 = -1.0 + 1.73205080756888*I"}));
  EXPECT_EQ(solve("x*0.00000000000000000001=1"), (Lines{"x = 1.00000000000000e+20"}));
  EXPECT_EQ(solve("x=123456789012345.0"), (Lines{"x = 123456789012345."}));
  EXPECT_EQ(solve("x=12345678901234.5"), (Lines{"x = 12345678901234.5"}));
}

// Generated equations with SymPy 1.11's answers (tools/solver_survey.py --fixture).
TEST(Solver, MatchesSympyOracle) {
  std::ifstream in(std::string(MOSS_FIXTURE_DIR) + "/plugins/solver_cases.json");
  ASSERT_TRUE(in);
  nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_GE(cases.size(), 100u);
  int bad = 0;
  for (const auto& c : cases) {
    std::string eqs = c[0].get<std::string>();
    Lines want = c[1].get<Lines>();
    Lines got = solve(eqs);
    if (got != want) {
      ++bad;
      std::string g, w;
      for (auto& l : got) g += l + " | ";
      for (auto& l : want) w += l + " | ";
      ADD_FAILURE() << "Solve(\"" << eqs << "\") gave " << g << " SymPy: " << w;
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(Solver, ParsingRules) {
  EXPECT_EQ(solve("2.5x+1.5y=50;x+y=24"), (Lines{"x = 14.0000000000000", "y = 10.0000000000000"}));
  EXPECT_EQ(solve("(4/3)x - x = 64"), (Lines{"x = 192.000000000000"}));  // 4/3 is a Python float
  EXPECT_EQ(solve("x/4=(120-x)/5"), (Lines{"x = 160/3"}));               // x/4 stays exact
  EXPECT_EQ(solve("y=2x-3;10x+y=0.45(10y+x)"), kNone);                   // calls the number 0.45
  EXPECT_EQ(solve("4x=72;x"), (Lines{"x = 18"}));                        // target part ignored
  EXPECT_EQ(solve("3x+280"), kNone);                                     // no equation
  EXPECT_EQ(solve("total_cost = 3*a1; a1 = 4"), (Lines{"a1 = 4", "total_cost = 12"}));
  EXPECT_EQ(solve("5^2+5^2-2*5*5*cos(x)=8^2"), kNone);  // math.cos rejects an unknown
  EXPECT_EQ(solve("x+y=25"), kNone);                    // underdetermined
  EXPECT_EQ(solve("y=2x+1;3y-6x=0"), kNone);            // inconsistent
  EXPECT_EQ(solve("x*y=72;x+y=18"), kNone);             // nonlinear system
  EXPECT_EQ(solve("1/x=0"), kNone);
  EXPECT_EQ(solve("(x-1)/(x-1)=1"), kNone);
  EXPECT_EQ(solve("x/(x-2)=1/(x-2)+1"), kNone);  // x = 2 zeroes a denominator
  EXPECT_EQ(solve("x=1=2"), kNone);
  EXPECT_EQ(solve("{x=1}"), kNone);
  EXPECT_EQ(solve("x^3-2x+7=0").size(), 3u);  // numeric roots for an irreducible cubic
}

TEST(Solver, HostileInputIsRefusedQuickly) {
  EXPECT_EQ(solve(std::string(1 << 20, 'x') + "=1"), kNone);
  EXPECT_EQ(solve(std::string(500, '(') + "x" + std::string(500, ')') + "=1"), kNone);
  EXPECT_EQ(solve("x^1000=2"), kNone);
  EXPECT_EQ(solve("(x+1)^16*(x+2)^16=0"), kNone);  // degree 32 > limit
  EXPECT_EQ(solve("9^9^9^9*x=1"), kNone);
  EXPECT_EQ(solve("(a+b+c+d+e+f+g+h)^16=1"), kNone);  // expansion size bound
  EXPECT_EQ(solve("((a+b+c)^16)^16=1"), kNone);       // degree bound
  EXPECT_EQ(solve("a+b+c+d+e1+f+g+h+i+j=1;a=1;b=1;c=1;d=1;e1=1;f=1;g=1;h=1;i=1"), kNone);
}

// Blocks of the SFT data whose recorded "No result." we do not reproduce, because the data's
// solver failed on solvable input (spec 7.4: "sometimes even for solvable inputs like x^2=24").
const std::set<std::string> kDataGaveUp = {
    "x+y=112;2x+4y=336", "x+y=25;x/y=2/3", "x^2=24",  "12*20*x=960", "6*pi=2*pi*r",
    "4*pi*r^2=128",      "9/10*x=90",
    "2x+3x+4x=30",  // called as Solve("2x+3x+4x=30", "x"): the second argument broke the call
};

TEST(Solver, ReproducesSftBlocks) {
  namespace fs = std::filesystem;
  fs::path base = fs::path(MOSS_SHARED_DIR) / "data/moss-003-sft/conversations/conversation_with_plugins";
  if (!fs::exists(base)) FAIL() << "the SFT data (../shared beside the checkout) is missing: " << base;
  const std::regex header(R"re(^Solve\("(.*)"\)(.*) =>$)re");
  int total = 0, same = 0, solved = 0, solved_same = 0;
  for (const char* sub : {"equation_solver", "mix"}) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(base / sub)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f);
      nlohmann::json conv = nlohmann::json::parse(in);
      for (const auto& [turn, t] : conv["chat"].items()) {
        std::istringstream lines(t["Tool Responses"].get<std::string>());
        std::string line, arg;
        std::vector<std::pair<std::string, Lines>> blocks;
        while (std::getline(lines, line)) {
          std::smatch m;
          if (std::regex_match(line, m, header)) {
            blocks.push_back({m[1], {}});
          } else if (line.rfind("Search(", 0) == 0 || line.rfind("Calculate(", 0) == 0 || line.rfind("<", 0) == 0) {
            blocks.push_back({"", {}});  // not a Solve block: stop collecting
          } else if (!blocks.empty() && !blocks.back().first.empty()) {
            blocks.back().second.push_back(line);
          }
        }
        for (const auto& [eqs, want] : blocks) {
          if (eqs.empty()) continue;
          ++total;
          Lines got = solve(eqs);
          bool ok = got == want;
          same += ok;
          if (want != kNone) {
            ++solved;
            solved_same += ok;
          }
          if (!ok) {
            std::string g;
            for (auto& l : got) g += l + " | ";
            if (want == kNone && kDataGaveUp.count(eqs)) {
              std::printf("  known: Solve(\"%s\"): data 'No result.', ours %s\n", eqs.c_str(), g.c_str());
            } else {
              std::string w;
              for (auto& l : want) w += l + " | ";
              ADD_FAILURE() << f.filename() << " " << turn << ": Solve(\"" << eqs << "\") gave " << g << " data: " << w;
            }
          }
        }
      }
    }
  }
  std::printf("SFT Solve blocks reproduced: %d / %d (blocks with solutions: %d / %d)\n", same, total,
              solved_same, solved);
  EXPECT_EQ(total, 111);
}

}  // namespace
}  // namespace moss

namespace moss {
namespace {

// Random short strings over the equation alphabet: always some lines, never an exception.
TEST(Solver, RandomInputNeverThrows) {
  const std::string alphabet = "0123456789+-*/^().=;, xyzabsqrtpi";
  uint64_t state = 777;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  for (int i = 0; i < 1500; ++i) {
    std::string s;
    int len = 1 + next() % 20;
    for (int k = 0; k < len; ++k) s += alphabet[next() % alphabet.size()];
    s.insert(next() % (s.size() + 1), 1, '=');  // mostly equations, so the solver gets past parsing
    std::vector<std::string> out;
    EXPECT_NO_THROW(out = solve(s)) << s;
    EXPECT_FALSE(out.empty()) << s;
  }
}

}  // namespace
}  // namespace moss
