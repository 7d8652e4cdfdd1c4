// Solve(equation) as a Plugin: `Solve("eqs") =>` followed by one line per result, or "No result."
// (spec 7.4). The solver itself is solver.h.
#include "plugins/registry.h"
#include "plugins/solver.h"

namespace moss {
namespace {

class SolverPlugin : public Plugin {
 public:
  std::string api_name() const override { return "Solve"; }
  ToolResult run(const std::string& argument, ToolTurnContext&) override {
    ToolResult r;
    try {
      r.lines = solve(argument);
    } catch (...) {  // never let a solver failure end the turn
      r.lines.clear();
    }
    // Empty lines would break the block layout; drop them.
    std::erase_if(r.lines, [](const std::string& l) { return l.empty(); });
    r.ok = !r.lines.empty() && !(r.lines.size() == 1 && r.lines[0] == "No result.");
    if (r.lines.empty()) r.lines = {"No result."};
    return r;
  }
  std::string format(const std::string& argument, const ToolResult& result) const override {
    std::string s = "Solve(\"" + argument + "\") =>";
    for (const std::string& l : result.lines) s += "\n" + l;
    return s;
  }
};

}  // namespace

std::unique_ptr<Plugin> make_solver_plugin() { return std::make_unique<SolverPlugin>(); }

}  // namespace moss
