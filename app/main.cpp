// The `pipeline` command: the engine's CLI with the standard stages built in.
#include "pipeline/cli/cli.h"
#include "stages/standard_stages.h"

int main(int argc, char** argv) {
  pipeline::CliSetup setup;
  setup.builtins = {&pipeline::StandardStagesDescriptor()};
  return pipeline::RunCli(argc, argv, setup);
}
