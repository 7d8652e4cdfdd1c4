// Runs the calls of one Commands line through the plugin registry and renders the <|Results|>
// field exactly as in the SFT data (spec 7.2-7.7):
//   * no calls ("None" forms)            -> "<|Results|>:\nNone\n<eor>\n"
//   * only successful Text2Image calls   -> "<|Results|>: Image generated successfully.<eor>\n"
//   * otherwise one block per call, in command order, joined by "\n", inside
//     "<|Results|>:\n" … "\n<eor>\n"; a plugin's own block comes from Plugin::format, Search hit
//     numbers continue across the calls of the turn (ToolTurnContext).
// Calls that cannot run get a one-line block in the Calculate style saying why:
//   `Count("x") => 'Unknown tool Count.'`, `Search("q") => 'Search is not enabled.'`,
//   `Search("q") => 'Search is not available.'` (enabled, but no executor configured),
//   `{raw call} => 'Malformed command.'`.
#pragma once
#include <string>
#include <vector>

#include "chat/command_parser.h"
#include "chat/prompt.h"
#include "plugins/registry.h"

namespace moss {

enum class CallStatus { Ok, NoResult, Unknown, Disabled, Unavailable, Malformed };
const char* call_status_name(CallStatus s);

struct CallOutcome {
  ParsedCall call;
  CallStatus status = CallStatus::Ok;
  std::vector<std::string> lines;  // the plugin's result lines (empty if it did not run)
  std::vector<ToolImage> images = {};  // pictures the plugin saved (Text2Image), for frontends
  std::string block;               // this call's part of the Results body
};

struct ResultsOutcome {
  ResultsField field;
  std::vector<CallOutcome> calls;
};

ResultsOutcome run_commands(const ParsedCommands& commands, const PluginSet& enabled, const PluginRegistry& registry);

}  // namespace moss
