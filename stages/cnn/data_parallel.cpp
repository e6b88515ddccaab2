#include "stages/cnn/data_parallel.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipeline::cnn {

int64_t GlobalBatchSize(ProcessGroup& world, int64_t local_batch) {
  float size = static_cast<float>(local_batch);
  world.allreduce_sum(std::span<float>(&size, 1));
  return static_cast<int64_t>(size);
}

std::string ReductionMeter::epoch_line(const Trainer& trainer, int ranks, double epoch_seconds) {
  const double seconds = trainer.reduce_seconds() - seconds_before_;
  const int64_t calls = trainer.reductions() - reductions_before_;
  seconds_before_ = trainer.reduce_seconds();
  reductions_before_ = trainer.reductions();
  char line[200];
  std::snprintf(line, sizeof(line),
                "cnn_train: %d ranks: allreduce %.2f ms per step (%.1f%% of the epoch's %.1f s, "
                "waiting for the slowest rank included)",
                ranks, calls > 0 ? 1e3 * seconds / static_cast<double>(calls) : 0.0,
                100 * seconds / std::max(epoch_seconds, 1e-9), epoch_seconds);
  return line;
}

uint64_t WeightChecksum(Model& model) {
  uint64_t hash = 14695981039346656037ull;
  for (const Parameter* parameter : model.parameters()) {
    // Logical order: stored layouts may differ between ranks (see Trainer::reduced_step).
    for (float value : parameter->logical_values()) {
      uint32_t bits = 0;
      std::memcpy(&bits, &value, sizeof(bits));
      for (int byte = 0; byte < 4; ++byte) {
        hash ^= (bits >> (8 * byte)) & 0xffu;
        hash *= 1099511628211ull;
      }
    }
  }
  return hash;
}

void CheckWeightsAgree(ProcessGroup& world, Model& model, int64_t epoch) {
  const std::vector<uint64_t> checksums = world.allgather(WeightChecksum(model));
  for (size_t rank = 1; rank < checksums.size(); ++rank) {
    if (checksums[rank] == checksums[0]) continue;
    char text[64];
    std::snprintf(text, sizeof(text), "%016llx vs %016llx",
                  static_cast<unsigned long long>(checksums[rank]),
                  static_cast<unsigned long long>(checksums[0]));
    throw std::runtime_error("after epoch " + std::to_string(epoch + 1) + " the weights of rank " +
                             std::to_string(rank) + " differ from rank 0's (checksum " + text +
                             "): the ranks no longer train one model; stopping the run");
  }
}

}  // namespace pipeline::cnn
