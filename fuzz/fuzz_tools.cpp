// Fuzz target: what the model writes in a Commands stage reaches the command parser, and the
// arguments reach the calculator and the equation solver. None of them may crash, hang or throw
// on any input (each returns "No result." / a malformed-call result instead).
#include <cstdint>
#include <string>
#include <string_view>

#include "chat/command_parser.h"
#include "plugins/calculator.h"
#include "plugins/solver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)moss::parse_commands(text);
  (void)moss::calculate(text);
  (void)moss::solve(text);
  return 0;
}
