// `moss tool 'COMMANDS'`: runs a Commands line (anything the model could write after
// "<|Commands|>: ", e.g. 'Calculate("2^10")' or 'Search("a"), Calculate("1+1")') through the same
// parser and plugins as the chat loop and prints the Results body it would insert, followed by one
// newline. No model is needed. This output is a stable interface for external checks:
//   * normal form: the text between "<|Results|>:\n" and "\n<eor>", i.e. the blocks joined by "\n",
//     e.g. `Calculate("2^10") => '1024'`, or `Solve("x+1=2") =>` + "\n" + `x = 1`;
//   * "None" for a None command (field "<|Results|>:\nNone\n<eor>\n");
//   * "Image generated successfully." when every call is a successful Text2Image call (field
//     "<|Results|>: Image generated successfully.<eor>\n");
//   * calls that cannot run print a line like `Search("q") => 'Search is not available.'`.
// --field prints the whole field instead ("<|Results|>:" ... "<eor>\n", no extra newline).
// All four plugins count as enabled unless --plugins says otherwise; Search and Text2Image need
// backends from --config (docs/plugins.md) or, for images, --image-stub.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "chat/command_parser.h"
#include "chat/results.h"
#include "cli/command.h"

namespace moss::cli {
namespace {

struct ToolArgs {
  std::string commands;
  std::string plugins = "search,calculator,solver,text2image";
  std::string config;
  bool image_stub = false;
  bool field = false;
};

int run_tool(const ToolArgs& a) {
  const PluginSet enabled = PluginSet::parse(a.plugins);
  const PluginRegistry registry = plugin_registry_from_config(a.config, a.image_stub);
  const ResultsOutcome r = run_commands(parse_commands(a.commands), enabled, registry);
  const std::string out = a.field ? r.field.text() : r.field.body + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

const CommandRegistration reg(
    "tool", "run a Commands line through the plugins and print the <|Results|> body (no model needed)",
    [](CLI::App& sub) {
      auto a = std::make_shared<ToolArgs>();
      sub.add_option("commands", a->commands, "the Commands text, e.g. 'Calculate(\"2^10\")'")->required();
      sub.add_option("--plugins", a->plugins, "enabled plugins (search,calculator,solver,text2image; default all)");
      sub.add_option("--config", a->config, "JSON config with the search / text2image backends");
      sub.add_flag("--image-stub", a->image_stub, "answer Text2Image with success without generating an image");
      sub.add_flag("--field", a->field, "print the whole <|Results|> field, markers included");
      return [a] { return run_tool(*a); };
    });

}  // namespace
}  // namespace moss::cli
