// Registry of `moss` subcommands. Each subcommand lives in its own file (cli/cmd_<name>.cpp) and
// registers itself with a static CommandRegistration; main.cpp builds the CLI11 app from the list.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace moss::cli {

// setup(sub) declares the subcommand's options on `sub` and returns the action run when the
// subcommand is chosen; the action returns the process exit code.
using CommandSetup = std::function<std::function<int()>(CLI::App& sub)>;

struct Command {
  std::string name;
  std::string help;
  CommandSetup setup;
};

std::vector<Command>& command_registry();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string help, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

}  // namespace moss::cli
