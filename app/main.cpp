// The `pipeline` command: the engine's CLI with the standard stages built in.
#include <cstring>

#include "app/evaluate_command.h"
#include "app/export_command.h"
#include "app/inspect_command.h"
#include "nn/openmp_policy.h"
#include "pipeline/cli/cli.h"
#include "stages/standard_stages.h"

int main(int argc, char** argv) {
  // `run` trains and predicts with oneDNN's OpenMP teams beside the engine's oneTBB workers. With
  // passive OpenMP waiting train.graph trained within 3% of spinning on a quiet 2-core machine and
  // 1.1x to 3.5x faster on a busy one (see openmp_policy.h; a policy the user set is kept).
  // `evaluate` runs a graph the same way.
  if (argc >= 2 && (std::strcmp(argv[1], "run") == 0 || std::strcmp(argv[1], "evaluate") == 0))
    pipeline::cnn::reexec_with_passive_openmp(argv);
  pipeline::CliSetup setup;
  setup.builtins = {&pipeline::StandardStagesDescriptor()};
  setup.extra_commands = {
      pipeline::cnn::InspectCommand(),
      pipeline::cnn::ExportCommand(),
      pipeline::cnn::EvaluateCommand(pipeline::StandardStagesDescriptor()),
  };
  return pipeline::RunCli(argc, argv, setup);
}
