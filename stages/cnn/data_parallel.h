// Data-parallel training over the run's processes (mpirun): the glue between the engine's
// ProcessGroup and nn/'s GradientReducer, and the checks that keep the ranks in step.
#pragma once

#include <cstdint>
#include <string>

#include "nn/gradient_reducer.h"
#include "nn/model.h"
#include "nn/trainer.h"
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

// The allreduce's cost per epoch, for the line rank 0 prints after each one.
class ReductionMeter {
 public:
  // "cnn_train: 2 ranks: allreduce 1.32 ms per step (4.1% of the epoch's 10.2 s, ...)" for the
  // reductions since the previous call.
  std::string epoch_line(const Trainer& trainer, int ranks, double epoch_seconds);

 private:
  double seconds_before_ = 0;
  int64_t reductions_before_ = 0;
};

// A 64-bit FNV-1a hash of the bits of every trainable parameter, in logical (row-major) order.
uint64_t WeightChecksum(Model& model);

// Compares every rank's weight checksum with rank 0's after `epoch` (0-based). Throws
// std::runtime_error naming the first rank whose weights differ: the ranks no longer train one
// model, and going on would only waste the run.
void CheckWeightsAgree(ProcessGroup& world, Model& model, int64_t epoch);

}  // namespace pipeline::cnn
