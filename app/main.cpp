// The `pipeline` command: the engine's CLI with the standard stages built in.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <iostream>
#include <memory>

#include "app/evaluate_command.h"
#include "app/export_command.h"
#include "app/inspect_command.h"
#include "app/quantize_command.h"
#include "nn/openmp_policy.h"
#include "pipeline/cli/cli.h"
#include "stages/cnn/console.h"
#include "stages/standard_stages.h"
#ifdef PIPELINE_HAVE_MPI
#include "distributed/mpi_world.h"
#endif

namespace {

// Under mpirun: joins the MPI job. Ranks other than 0 print nothing but errors (stdout goes to
// /dev/null, the CNN stages' progress lines are off; errors still reach stderr).
std::unique_ptr<pipeline::ProcessGroup> JoinMpiJob() {
#ifdef PIPELINE_HAVE_MPI
  if (!pipeline::distributed::LaunchedByMpiLauncher()) return nullptr;
  auto world = pipeline::distributed::StartMpiWorld();
  if (!world->is_root()) {
    const int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDOUT_FILENO);
      ::close(null_fd);
    }
    pipeline::cnn::SetConsoleQuiet(true);
  }
  return world;
#else
  return nullptr;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  const bool runs_graph =
      argc >= 2 && (std::strcmp(argv[1], "run") == 0 || std::strcmp(argv[1], "evaluate") == 0);
  // `run` trains and predicts with oneDNN's OpenMP teams beside the engine's oneTBB workers: how
  // their idle threads wait is chosen from how busy the machine is (openmp_policy.h; a policy the
  // user set is kept). `evaluate` runs a graph the same way.
  if (runs_graph) pipeline::cnn::reexec_with_openmp_wait_policy(argv);
  std::unique_ptr<pipeline::ProcessGroup> world;
  if (argc >= 2 && std::strcmp(argv[1], "run") == 0) {
    try {
      world = JoinMpiJob();
    } catch (const std::exception& e) {
      std::cerr << "pipeline: cannot join the MPI job: " << e.what() << "\n";
      return 1;
    }
  }
  pipeline::CliSetup setup;
  setup.builtins = {&pipeline::StandardStagesDescriptor()};
  setup.extra_commands = {
      pipeline::cnn::InspectCommand(),
      pipeline::cnn::ExportCommand(),
      pipeline::cnn::QuantizeCommand(),
      pipeline::cnn::EvaluateCommand(pipeline::StandardStagesDescriptor()),
  };
  setup.world = world.get();
  const int code = pipeline::RunCli(argc, argv, setup);
  // A rank that fails outside the graph (a bad graph, a missing file) must not leave the others
  // waiting in a collective.
  if (world && world->distributed() && code != 0) {
    world->abort_job(world->label() + "pipeline run ended with exit code " + std::to_string(code),
                     code);
  }
  return code;
}
