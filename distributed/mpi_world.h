// The MPI implementation of ProcessGroup (pipeline/process_group.h), for `mpirun -np N pipeline
// run GRAPH`. Compiled only when CMake finds MPI (option PIPELINE_MPI); the engine, nn/ and the
// stages see only the abstract ProcessGroup.
#pragma once

#include <memory>

#include "pipeline/process_group.h"

namespace pipeline::distributed {

// Whether a launcher (mpirun, prterun, srun with PMIx) started this process: it sets
// OMPI_COMM_WORLD_SIZE or PMIX_RANK. Plain runs never initialise MPI, so they neither pay for it
// nor need a launcher.
bool LaunchedByMpiLauncher();

// Initialises MPI (MPI_THREAD_MULTIPLE: a failing stage may abort the job from any thread) and
// returns MPI_COMM_WORLD as a ProcessGroup; MPI is finalised when it is destroyed. Throws
// std::runtime_error when MPI cannot start.
std::unique_ptr<ProcessGroup> StartMpiWorld();

}  // namespace pipeline::distributed
