// oneDNN runs its primitives on OpenMP threads, whose idle waiting libgomp lets the environment
// choose: spin for a while before sleeping, or sleep at once (OMP_WAIT_POLICY=passive). Which is
// faster depends on the machine's other work, measured on the 2-core EPYC Zen 5
// (train_fast.graph, 2 epochs):
//   - quiet machine: spinning up to 200,000 iterations (GOMP_SPINCOUNT) 8.2 s, passive 10.2 s —
//     a small network's step is dozens of short primitives, and a sleeping thread takes tens of
//     microseconds to wake for each;
//   - busy machine: neither wins everywhere (one CPU hog beside it: spinning 21 s, passive 74 s
//     for train_fast, but 77 s against 30 s for train.graph's seed network), and on the Xeon SPR
//     passive was 1.1x-3.5x faster beside the engine's busy workers.
// So: bounded spinning when the machine is quiet as the run starts, passive otherwise.
//
// libgomp reads its environment once, when it is loaded, so the policy must be set before the
// process starts; this helper re-executes the program with it.
#pragma once

namespace pipeline::cnn {

// When neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, sets GOMP_SPINCOUNT=200000 if no other
// thread of the machine is runnable (/proc/stat's procs_running, sampled three times over 20 ms),
// else OMP_WAIT_POLICY=passive, and re-executes /proc/self/exe with `argv` (it does not return
// then). Returns false when nothing was needed, or when re-executing failed (the program continues
// with libgomp's default).
bool reexec_with_openmp_wait_policy(char** argv);

// Only passive waiting (benchmarks that compare with a reference under the same policy).
bool reexec_with_passive_openmp(char** argv);

}  // namespace pipeline::cnn
