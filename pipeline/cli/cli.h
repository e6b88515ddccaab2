// The command-line front end: `pipeline run|validate|plugins|dot|... ARGS`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "pipeline/plugin.h"
#include "pipeline/process_group.h"

namespace pipeline {

// Exit codes a script can rely on.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRunFailed = 1;
inline constexpr int kExitUsage = 2;  // bad command line or invalid graph
inline constexpr int kExitInterrupted = 130;

// A subcommand. `args` excludes the program and command names.
struct CliCommand {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

struct CliSetup {
  // Registered before any plugin library is loaded (the standard stages).
  std::vector<const PipelinePluginDescriptor*> builtins;
  // Commands beyond the engine's own (e.g. `inspect` from the CNN stages).
  std::vector<CliCommand> extra_commands;
  // The processes `run` runs the graph with (null: this process alone); app/ passes the MPI
  // group when launched by mpirun.
  ProcessGroup* world = nullptr;
};

int RunCli(int argc, char** argv, const CliSetup& setup);

}  // namespace pipeline
