// Data-parallel training over the run's processes (mpirun): the glue between the engine's
// ProcessGroup and nn/'s GradientReducer, and the checks that keep the ranks in step.
#pragma once

#include <cstdint>

#include "nn/gradient_reducer.h"
#include "nn/model.h"
#include "pipeline/process_group.h"

namespace pipeline::cnn {

// Sums gradients with the process group's allreduce.
class ProcessGroupReducer final : public GradientReducer {
 public:
  explicit ProcessGroupReducer(ProcessGroup& world) : world_(world) {}
  void sum(std::span<float> values) override { world_.allreduce_sum(values); }

 private:
  ProcessGroup& world_;
};

// The global batch: every rank's share of it summed (each rank's first batch).
int64_t GlobalBatchSize(ProcessGroup& world, int64_t local_batch);

// A 64-bit FNV-1a hash of the bits of every trainable parameter, in the model's stored layout.
uint64_t WeightChecksum(Model& model);

// Compares every rank's weight checksum with rank 0's after `epoch` (0-based). Throws
// std::runtime_error naming the first rank whose weights differ: the ranks no longer train one
// model, and going on would only waste the run.
void CheckWeightsAgree(ProcessGroup& world, Model& model, int64_t epoch);

}  // namespace pipeline::cnn
