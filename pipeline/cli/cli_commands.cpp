#include "pipeline/cli/cli_commands.h"

namespace pipeline::cli {

std::vector<CliCommand> EngineCommands(const CliSetup& setup) {
  auto bind = [&setup](int (*command)(const CliSetup&, const std::vector<std::string>&)) {
    return [&setup, command](const std::vector<std::string>& args) { return command(setup, args); };
  };
  return {
      {"run", "run a graph to the end", bind(RunCommand)},
      {"validate", "check a graph without running it", bind(ValidateCommand)},
      {"plugins", "list stage types (or describe one): ports, parameters, origin",
       bind(PluginsCommand)},
      {"dot", "print a graph in Graphviz form", bind(DotCommand)},
  };
}

}  // namespace pipeline::cli
