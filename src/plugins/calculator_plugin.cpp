// Calculate(expression) as a Plugin: one result value, rendered `Calculate("expr") => 'value'` or
// `=> 'No result.'` (spec 7.3). The evaluator itself is calculator.h.
#include "plugins/registry.h"
#include "plugins/calculator.h"

namespace moss {
namespace {

class CalculatorPlugin : public Plugin {
 public:
  std::string api_name() const override { return "Calculate"; }
  ToolResult run(const std::string& argument, ToolTurnContext&) override {
    ToolResult r;
    std::optional<std::string> v;
    try {
      v = calculate(argument);
    } catch (...) {  // the evaluator should not throw on bad input; never let it end the turn
      v.reset();
    }
    r.ok = v.has_value();
    r.lines = {v ? *v : std::string("No result.")};
    return r;
  }
  std::string format(const std::string& argument, const ToolResult& result) const override {
    return "Calculate(\"" + argument + "\") => '" + (result.lines.empty() ? std::string("No result.") : result.lines[0]) +
           "'";
  }
};

}  // namespace

std::unique_ptr<Plugin> make_calculator_plugin() { return std::make_unique<CalculatorPlugin>(); }

}  // namespace moss
