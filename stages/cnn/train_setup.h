// What `cnn_train` builds when its first training batch arrives: the model (its input shape may
// come from the data), the trainer with its schedule, and the global batch and epoch sizes the
// schedule counts in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "nn/trainer.h"
#include "pipeline/payloads.h"
#include "stages/cnn/train_config.h"

namespace pipeline::cnn {

struct TrainingSetup {
  std::unique_ptr<Model> model;
  std::unique_ptr<Trainer> trainer;  // on *model: destroy it first
  proto::ScheduleSpec schedule;
  int64_t batch_size = 0;  // the global batch (every rank's share together)
  int64_t epoch_size = 0;  // samples per epoch at the source, all ranks together; 0 unknown
  int64_t steps_per_epoch = 0;
  std::string epochs_note;  // what ResolveEpochs changed and why, to print; empty when nothing
};

// Sums values over every process of a data-parallel run (identity in a single process).
using SumOverRanks = std::function<void(std::span<float>)>;

// Settles config.epochs from the batch (ResolveEpochs) and, for precision auto, the precision
// (timed on `first`; in a data-parallel run the ranks' timings are summed through `sum_over_ranks`
// so that every rank makes the same choice), then builds the model from `model_seed`.
// Throws std::runtime_error for a model that cannot be built or a schedule that needs an epoch
// size the batches do not carry.
TrainingSetup SetUpTraining(TrainConfig& config, uint64_t model_seed, const Batch& first,
                            int64_t global_batch, const SumOverRanks& sum_over_ranks);

}  // namespace pipeline::cnn
