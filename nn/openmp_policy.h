// oneDNN runs its primitives on OpenMP threads. By default libgomp's idle threads spin for a while
// before sleeping, which is fastest on an otherwise idle machine but collapses when other threads
// (the engine's TBB workers, other processes) want the same cores: a step then waits for a
// descheduled spinning thread. Measured on 2 busy cores, training ran 4-6x faster with
// OMP_WAIT_POLICY=passive than with the default.
//
// libgomp reads its environment once, when it is loaded, so the policy must be set before the
// process starts; this helper re-executes the program with it.
#pragma once

namespace pipeline::cnn {

// When neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, sets OMP_WAIT_POLICY=passive and
// re-executes /proc/self/exe with `argv` (it does not return then). Returns false when nothing was
// needed, or when re-executing failed (the program continues with the default policy).
bool reexec_with_passive_openmp(char** argv);

}  // namespace pipeline::cnn
