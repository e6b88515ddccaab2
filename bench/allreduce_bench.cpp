// allreduce_bench: the gradient sum of one data-parallel training step, alone. Run under mpirun:
//
//   mpirun --oversubscribe -np 2 build/bin/allreduce_bench [--floats N] [--repeats N]
//
// Sums N floats (default: the seed network's 1,199,882 parameters plus the 4 counters a step
// carries) through the same ProcessGroup::allreduce_sum cnn_train uses, N times (default 50)
// after a barrier each, so that the figure is the reduction itself and not a wait for a slower
// rank. Rank 0 prints the median and the fastest time in ms and the bandwidth it implies.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_cli.h"
#include "distributed/mpi_world.h"

int main(int argc, char** argv) {
  int floats = 1199882 + 4;
  int repeats = 50;
  const auto stop = pipeline::bench::ParseCommandLine(
      argc, argv, "allreduce_bench",
      "mpirun -np N allreduce_bench [options]\n\nThe gradient sum of one data-parallel training "
      "step, alone: the median and fastest of REPEATS allreduces, each after a barrier.",
      [&](pipeline::bench::OptionAdder& add) {
        add("floats", pipeline::bench::IntAtLeast(&floats, 1, "floats"), "floats summed");
        add("repeats", pipeline::bench::IntAtLeast(&repeats, 1, "repeats"), "timed allreduces");
      });
  if (stop) return *stop;
  if (!pipeline::distributed::LaunchedByMpiLauncher()) {
    std::fprintf(stderr, "allreduce_bench: run it under mpirun (-np 2 or more)\n");
    return 2;
  }
  auto world = pipeline::distributed::StartMpiWorld();
  std::vector<float> buffer(static_cast<size_t>(floats), 1.0f);
  std::vector<double> ms;
  for (int i = 0; i < repeats + 3; ++i) {  // 3 warm-up rounds
    world->barrier();
    const auto start = std::chrono::steady_clock::now();
    world->allreduce_sum(buffer);
    const double elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (i >= 3) ms.push_back(elapsed);
    std::fill(buffer.begin(), buffer.end(), 1.0f);
  }
  std::sort(ms.begin(), ms.end());
  if (world->is_root()) {
    const double median = ms[ms.size() / 2];
    std::printf(
        "allreduce of %zu floats (%.2f MB) over %d ranks: median %.3f ms, fastest %.3f ms "
        "(%.2f GB/s of buffer)\n",
        static_cast<size_t>(floats), static_cast<double>(floats) * 4 / 1e6, world->size(), median,
        ms.front(), static_cast<double>(floats) * 4 / 1e6 / median);
  }
  return 0;
}
