// Tests of the Calculate evaluator against real Python (fixtures from tools/calc_oracle.py) and
// against the Calculate results recorded in the SFT data (spec 7.3).
#include "plugins/calculator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "plugins/python_float.h"

namespace moss {
namespace {

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  return nlohmann::json::parse(in);
}

std::string show(const std::optional<std::string>& v) { return v ? "'" + *v + "'" : "None"; }

TEST(PythonFloat, ReprFollowsPythonLayout) {
  EXPECT_EQ(python_float_repr(75.0), "75.0");
  EXPECT_EQ(python_float_repr(565.4866776461628), "565.4866776461628");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(1.5e-05), "1.5e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(python_float_repr(5e-324), "5e-324");
  EXPECT_EQ(python_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(python_float_repr(HUGE_VAL), "inf");
  EXPECT_EQ(python_float_repr(-HUGE_VAL), "-inf");
}

TEST(Calculator, SpecExamples) {
  EXPECT_EQ(calculate("pi*3^2*20"), "565.4866776461628");
  EXPECT_EQ(calculate("8*4+3"), "35");
  EXPECT_EQ(calculate("-7-35*4"), "-147");
  EXPECT_EQ(calculate("3*(7-3*y)-2*y"), std::nullopt);
  EXPECT_EQ(calculate("300/4"), "75.0");
  EXPECT_EQ(calculate("-2**2"), "-4");
  EXPECT_EQ(calculate("2^3^2"), "512");
  EXPECT_EQ(calculate("5!"), std::nullopt);
  EXPECT_EQ(calculate("1 < 2"), std::nullopt);
}

TEST(Calculator, HostileInputIsRefusedQuickly) {
  EXPECT_EQ(calculate("9^9^9^9"), std::nullopt);
  EXPECT_EQ(calculate("2**100000000"), std::nullopt);
  EXPECT_EQ(calculate(std::string(100000, '(') + "1" + std::string(100000, ')')), std::nullopt);
  EXPECT_EQ(calculate(std::string(1 << 20, '1')), std::nullopt);
  EXPECT_EQ(calculate(std::string(3000, '-') + "1"), std::nullopt);  // nesting limit
  EXPECT_EQ(calculate("10**4300"), std::nullopt);                    // 4301 digits: Python refuses
  EXPECT_EQ(calculate("10**4299")->size(), 4300u);
  std::string big = "1";
  for (int i = 0; i < 150; ++i) big += "*99999999999999999999";  // 3000 digits
  EXPECT_TRUE(calculate(big).has_value());
}

// Every generated and hand-picked expression must print exactly what Python printed.
TEST(Calculator, MatchesPythonOracle) {
  nlohmann::json cases = load_json(std::string(MOSS_FIXTURE_DIR) + "/plugins/calc_cases.json");
  ASSERT_GT(cases.size(), 500u);
  int bad = 0;
  for (const auto& c : cases) {
    std::string expr = c[0].get<std::string>();
    std::optional<std::string> want;
    if (!c[1].is_null()) want = c[1].get<std::string>();
    auto got = calculate(expr);
    if (got != want) {
      ++bad;
      ADD_FAILURE() << "calculate(\"" << expr << "\") = " << show(got) << ", Python: " << show(want);
    }
  }
  EXPECT_EQ(bad, 0);
}

// Every Calculate call of the SFT data (calculator + mix): wherever Python's eval agrees with the
// recorded value, we must too; the test prints how many recorded values we reproduce overall.
TEST(Calculator, ReproducesSftResults) {
  namespace fs = std::filesystem;
  fs::path base = fs::path(MOSS_SHARED_DIR) / "data/moss-003-sft/conversations/conversation_with_plugins";
  if (!fs::exists(base)) FAIL() << "the SFT data (../shared beside the checkout) is missing: " << base;
  nlohmann::json python = load_json(std::string(MOSS_FIXTURE_DIR) + "/plugins/calc_sft.json");
  const std::regex call(R"re(^Calculate\("(.*)"\) => (.*)$)re");
  int total = 0, reproduced = 0, python_agrees = 0, values = 0, values_reproduced = 0;
  for (const char* sub : {"calculator", "mix"}) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(base / sub)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      nlohmann::json conv = load_json(f.string());
      for (const auto& [turn, t] : conv["chat"].items()) {
        std::string results = t["Tool Responses"].get<std::string>();
        std::istringstream lines(results);
        std::string line;
        while (std::getline(lines, line)) {
          std::smatch m;
          if (!std::regex_match(line, m, call)) continue;
          std::string expr = m[1], value = m[2];
          if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'')
            value = value.substr(1, value.size() - 2);
          ++total;
          auto got = calculate(expr);
          std::string ours = got ? *got : "No result.";
          bool is_value = value != "No result." && value != "No calculation results.";
          values += is_value;
          if (ours == value) {
            ++reproduced;
            values_reproduced += is_value;
          }
          ASSERT_TRUE(python.contains(expr)) << "calc_sft.json lacks " << expr << ": rerun tools/calc_oracle.py";
          std::string py = python[expr].is_null() ? "No result." : python[expr].get<std::string>();
          if (py == value) {
            ++python_agrees;
            EXPECT_EQ(ours, value) << f.filename() << " " << turn << ": Calculate(\"" << expr << "\")";
          }
        }
      }
    }
  }
  std::printf("SFT Calculate results reproduced: %d / %d (numeric values %d / %d); Python eval agrees "
              "with the data on %d\n", reproduced, total, values_reproduced, values, python_agrees);
  EXPECT_EQ(total, 321);
}

}  // namespace
}  // namespace moss

namespace moss {
namespace {

// Random short strings over the expression alphabet: every call must return (a value or nullopt)
// without throwing or crashing.
TEST(Calculator, RandomInputNeverThrows) {
  const std::string alphabet = "0123456789+-*/%^().,e_ xsqrtpilogmaxE!=<";
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    int len = 1 + next() % 24;
    for (int k = 0; k < len; ++k) s += alphabet[next() % alphabet.size()];
    EXPECT_NO_THROW(calculate(s)) << s;
  }
}

}  // namespace
}  // namespace moss
