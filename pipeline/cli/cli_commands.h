// The engine's own commands.
#pragma once

#include <vector>

#include "pipeline/cli/cli.h"

namespace pipeline::cli {

std::vector<CliCommand> EngineCommands(const CliSetup& setup);

int RunCommand(const CliSetup& setup, const std::vector<std::string>& args);
int ValidateCommand(const CliSetup& setup, const std::vector<std::string>& args);
int DotCommand(const CliSetup& setup, const std::vector<std::string>& args);
int PluginsCommand(const CliSetup& setup, const std::vector<std::string>& args);

}  // namespace pipeline::cli
