#include "pipeline/cli/cli.h"

#include <iomanip>
#include <iostream>

#include "pipeline/cli/cli_commands.h"
#include "pipeline/cli/cli_common.h"
#include "pipeline/engine/spelling.h"

namespace pipeline {
namespace {

void PrintOverview(const std::vector<CliCommand>& commands) {
  std::cout << "pipeline — a streaming dataflow engine for training and running CNN digit "
               "classifiers\n\nusage: pipeline COMMAND [ARGS] (pipeline COMMAND --help for "
               "more)\n\ncommands:\n";
  for (const auto& command : commands) {
    std::cout << "  " << std::left << std::setw(10) << command.name << command.summary << "\n";
  }
  std::cout << "\nexit codes: 0 ok, 1 run failed, 2 bad usage or invalid graph, 130 "
               "interrupted\n";
}

}  // namespace

int RunCli(int argc, char** argv, const CliSetup& setup) {
  std::vector<CliCommand> commands = cli::EngineCommands(setup);
  commands.insert(commands.end(), setup.extra_commands.begin(), setup.extra_commands.end());
  if (argc < 2) {
    PrintOverview(commands);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintOverview(commands);
    return kExitOk;
  }
  if (name == "--version") {
    std::cout << "pipeline " << PIPELINE_VERSION << "\n";
    return kExitOk;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& command : commands) {
    if (command.name != name) continue;
    try {
      return command.run(args);
    } catch (const cli::UsageError& e) {
      std::cerr << "pipeline " << name << ": " << e.what() << "\n";
      return kExitUsage;
    } catch (const std::exception& e) {
      std::cerr << "pipeline " << name << ": " << e.what() << "\n";
      return kExitRunFailed;
    }
  }
  std::vector<std::string> names;
  for (const auto& command : commands) names.push_back(command.name);
  std::cerr << "pipeline: unknown command \"" << name << "\"" << DidYouMean(name, names)
            << "; see pipeline --help\n";
  return kExitUsage;
}

}  // namespace pipeline
