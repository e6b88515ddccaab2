// allreduce_bench: the gradient sum of one data-parallel training step, alone. Run under mpirun:
//
//   mpirun --oversubscribe -np 2 build/bin/allreduce_bench [FLOATS] [REPEATS]
//
// Sums FLOATS floats (default: the seed network's 1,199,882 parameters plus the 4 counters a step
// carries) through the same ProcessGroup::allreduce_sum cnn_train uses, REPEATS times (default
// 50) after a barrier each, so that the figure is the reduction itself and not a wait for a slower
// rank. Rank 0 prints the median and the fastest time in ms and the bandwidth it implies.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "distributed/mpi_world.h"

int main(int argc, char** argv) {
  const size_t floats = argc > 1 ? std::stoul(argv[1]) : 1199882 + 4;
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 50;
  if (!pipeline::distributed::LaunchedByMpiLauncher()) {
    std::fprintf(stderr, "allreduce_bench: run it under mpirun (-np 2 or more)\n");
    return 2;
  }
  auto world = pipeline::distributed::StartMpiWorld();
  std::vector<float> buffer(floats, 1.0f);
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
        floats, static_cast<double>(floats) * 4 / 1e6, world->size(), median, ms.front(),
        static_cast<double>(floats) * 4 / 1e6 / median);
  }
  return 0;
}
