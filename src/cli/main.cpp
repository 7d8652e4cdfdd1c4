// The `moss` command: builds the CLI11 app from the registered subcommands and runs the chosen
// one. Library errors (moss::Error) become a message on stderr and exit code 1.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "util/error.h"

namespace moss::cli {
std::vector<Command>& command_registry() {
  static std::vector<Command> registry;
  return registry;
}
}  // namespace moss::cli

int main(int argc, char** argv) {
  CLI::App app{"moss: MOSS-003 inference, chat, plugins and serving in C++"};
  app.require_subcommand(1);
  std::function<int()> action;
  auto& registry = moss::cli::command_registry();
  std::vector<std::function<int()>> actions(registry.size());
  for (size_t i = 0; i < registry.size(); ++i) {
    CLI::App* sub = app.add_subcommand(registry[i].name, registry[i].help);
    actions[i] = registry[i].setup(*sub);
    sub->callback([&, i] { action = actions[i]; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return action ? action() : 0;
  } catch (const moss::Error& e) {
    std::fprintf(stderr, "moss: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moss: internal error: %s\n", e.what());
    return 2;
  }
}
