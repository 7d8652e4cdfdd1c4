// See results.h.
#include "chat/results.h"

namespace moss {

const char* call_status_name(CallStatus s) {
  switch (s) {
    case CallStatus::Ok: return "ok";
    case CallStatus::NoResult: return "no_result";
    case CallStatus::Unknown: return "unknown";
    case CallStatus::Disabled: return "disabled";
    case CallStatus::Unavailable: return "unavailable";
    case CallStatus::Malformed: return "malformed";
  }
  return "?";
}

namespace {
bool known_tool(const std::string& name) {
  return name == "Search" || name == "Calculate" || name == "Solve" || name == "Text2Image";
}
}  // namespace

ResultsOutcome run_commands(const ParsedCommands& commands, const PluginSet& enabled, const PluginRegistry& registry) {
  ResultsOutcome out;
  if (commands.calls.empty()) {
    out.field = {"None", false};
    return out;
  }
  ToolTurnContext ctx;
  bool all_images = true;
  for (const ParsedCall& call : commands.calls) {
    CallOutcome o;
    o.call = call;
    auto refuse = [&](CallStatus s, const std::string& why) {
      o.status = s;
      o.block = call.echo() + " => '" + why + "'";
    };
    if (call.malformed) {
      refuse(CallStatus::Malformed, "Malformed command.");
    } else if (!known_tool(call.name)) {
      refuse(CallStatus::Unknown, "Unknown tool " + call.name + ".");
    } else if (!enabled.enables(call.name)) {
      refuse(CallStatus::Disabled, call.name + " is not enabled.");
    } else if (Plugin* p = registry.find(call.name); p == nullptr) {
      refuse(CallStatus::Unavailable, call.name + " is not available.");
    } else {
      ToolResult r = p->run(call.argument, ctx);
      o.status = r.ok ? CallStatus::Ok : CallStatus::NoResult;
      o.lines = r.lines;
      o.images = r.images;
      o.block = p->format(call.argument, r);
      // A second quoted argument is echoed after the first call's parenthesis, as in the data:
      // `Solve("2x+3x+4x=30"), "x" =>`.
      if (!call.extra_args.empty()) {
        const std::string plain = call.name + "(\"" + call.argument + "\")";
        if (o.block.starts_with(plain)) o.block = call.echo() + o.block.substr(plain.size());
      }
    }
    if (!(call.name == "Text2Image" && o.status == CallStatus::Ok)) all_images = false;
    out.calls.push_back(std::move(o));
  }
  if (all_images) {
    out.field = {"Image generated successfully.", true};
    return out;
  }
  std::string body;
  for (const CallOutcome& o : out.calls) {
    if (!body.empty()) body += '\n';
    body += o.block;
  }
  out.field = {body, false};
  return out;
}

}  // namespace moss
